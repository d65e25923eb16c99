/*
 * text.c: printable UTF-8 (text.h).
 * Trust: pure; the input is untrusted.
 */
#include <stdbool.h>
#include <string.h>

#include "text.h"

/* Whether code point cp, validly encoded, may be shown (text.h). */
static bool text_shown(unsigned cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) /* C0, DEL, C1 */
		return false;
	if (cp == 0x2028 || cp == 0x2029) /* line, paragraph separator */
		return false;
	/* Bidirectional embeddings and overrides, then isolates. */
	return !(cp >= 0x202a && cp <= 0x202e) &&
	       !(cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The character at s (n > 0 bytes left): its length, and in *ok whether
 * it is printable.  A byte that starts no valid sequence is a character
 * of length 1 that is not.
 */
static size_t text_char(const unsigned char *s, size_t n, bool *ok)
{
	unsigned c = s[0], cp, min;
	size_t len;

	*ok = false;
	if (c < 0x80) {
		*ok = text_shown(c);
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 1; /* a continuation byte, or never UTF-8 */
	}
	if (len > n)
		return 1;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Overlong, past Unicode, or a surrogate: not UTF-8. */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	*ok = text_shown(cp);
	return len;
}

size_t text_printable(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		bool ok;
		size_t n = text_char(u + i, len - i, &ok);

		if (!ok)
			return i;
		i += n;
	}
	return len;
}

size_t text_clean(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), i = 0, o = 0;

	while (i < n) {
		bool ok;
		size_t len = text_char(s + i, n - i, &ok);
		size_t out = ok ? len : 1;

		if (o + out >= cap)
			break;
		if (ok)
			memcpy(dst + o, s + i, len);
		else
			dst[o] = '?';
		o += out;
		i += len;
	}
	dst[o] = '\0';
	return o;
}
