/*
 * verr.c: errors that name the field or the bound at fault (verr.h).
 * Trust: formats messages; pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verr.h"

int verr_set(struct verr *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -code;
}

int verr_prefix(struct verr *e, const char *fmt, ...)
{
	char msg[sizeof(e->msg) * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) / 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg) / 2)
		n = (int)(sizeof(msg) / 2 - 1);
	memcpy(msg + n, ": ", 3);
	strncat(msg, e->msg, sizeof(msg) - strlen(msg) - 1);
	memcpy(e->msg, msg, sizeof(e->msg) - 1);
	e->msg[sizeof(e->msg) - 1] = '\0';
	return -e->code;
}
