/*
 * verr.h: an error to send back: a positive errno and a message that
 * names the field, region or bound at fault.  Every layer of mmu-server
 * fills one; only the request layer turns it into a reply.
 * Trust: pure.
 */
#ifndef KVMMU_VERR_H
#define KVMMU_VERR_H

struct verr {
	int code;
	char msg[200];
};

/* Sets e and returns -code. */
int verr_set(struct verr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Puts "prefix: " before e's message (truncating); returns -e->code. */
int verr_prefix(struct verr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
