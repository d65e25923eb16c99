/*
 * num.c: see num.h.  Trust: parses untrusted text; pure.
 */
#include <errno.h>
#include <stdlib.h>

#include "num.h"

int num_parse(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}
