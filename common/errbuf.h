/*
 * errbuf.h: a message into a caller's (err, errlen) buffer, the error
 * convention of the frontend's pure parsers and builders.
 * Trust: none needed.
 */
#ifndef KVMMU_ERRBUF_H
#define KVMMU_ERRBUF_H

#include <stddef.h>

/* Formats into err; returns -1, for `return errbuf_set(...)`. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
