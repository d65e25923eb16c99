/*
 * domain_fixture.h: what the domain XML tests share: a minimal domain
 * with slots for extra elements, and checks that a document is accepted,
 * refused (the error naming what) or accepted with a warning.
 * Trust: test code.
 */
#ifndef KVMMU_DOMAIN_FIXTURE_H
#define KVMMU_DOMAIN_FIXTURE_H

#include <string.h>

#include "domain.h"
#include "harness.h"

/* A domain with top-level, os and devices extras (string literals). */
#define DOM(top, os, devs)                                                     \
	"<domain type='kvm'><name>t</name>" top                                \
	"<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type>"     \
	"<kernel>/k.bin</kernel>" os "</os><devices>" devs "</devices>"        \
	"</domain>"

/* The pc machine's minimum: the VGA. */
#define VGA "<video><model type='vga' vram='2048'/></video>"
#define SHMEM(name)                                                            \
	"<shmem name='" name "'><model type='ivshmem-plain'/>"                 \
	"<size unit='M'>2</size></shmem>"

static inline int parse_base(const char *xml, const char *base,
			     struct domain *d, char *err, size_t errlen)
{
	err[0] = '\0';
	return domain_parse(xml, strlen(xml), base, d, err, errlen);
}

#define ACCEPTED(xml, d)                                                       \
	do {                                                                   \
		char err_[512];                                                \
		CHECK(parse_base(xml, "/base", d, err_, sizeof(err_)) == 0,    \
		      "accepted: %s", err_);                                   \
	} while (0)

/* Refused, and the message contains want (the element it names). */
#define REFUSED(xml, want)                                                     \
	do {                                                                   \
		struct domain d_;                                              \
		char err_[512];                                                \
		int r_ = parse_base(xml, "/base", &d_, err_, sizeof(err_));    \
		CHECK(r_ < 0 && strstr(err_, want) != NULL,                    \
		      "refused naming '%s': got %d '%s'", want, r_, err_);     \
		domain_free(&d_);                                              \
	} while (0)

/* Accepted, with a warning that contains want. */
#define WARNED(xml, want)                                                      \
	do {                                                                   \
		struct domain d_;                                              \
		ACCEPTED(xml, &d_);                                            \
		CHECK(strstr(d_.d_warn, want) != NULL, "warning '%s' in '%s'", \
		      want, d_.d_warn);                                        \
		domain_free(&d_);                                              \
	} while (0)

#endif
