/*
 * text.h: text for people that one process hands another to show (why a
 * VM ended: the frontend says it, mmu-server logs it, mmuctl prints it).
 * One rule on both sides: printable UTF-8.  Valid UTF-8 (no overlong
 * form, no surrogate, nothing past U+10FFFF) with no control character
 * (C0, DEL, C1), no line or paragraph separator and no bidirectional
 * embedding, override or isolate: such a text stays one line in a log
 * and in a terminal, and reads there as it was written.
 * Trust: pure; the input is untrusted.
 */
#ifndef KVMMU_TEXT_H
#define KVMMU_TEXT_H

#include <stddef.h>

/* How many of s's first len bytes are printable UTF-8 (len: all). */
size_t text_printable(const char *s, size_t len);

/*
 * src as printable UTF-8 in dst (cap >= 1 bytes, NUL-terminated): each
 * byte that does not start a printable character, and each whole
 * character the rule refuses, becomes '?'; cut at a whole character
 * to fit.  Returns strlen(dst).
 */
size_t text_clean(char *dst, size_t cap, const char *src);

#endif
