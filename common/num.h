/*
 * num.h: numbers from command-line words, one rule for every program.
 * Trust: parses untrusted text.
 */
#ifndef KVMMU_NUM_H
#define KVMMU_NUM_H

#include <stdint.h>

/*
 * The whole of s as an unsigned number (decimal, 0x hex or 0 octal):
 * 0, or -EINVAL for an empty word, trailing text, a sign or overflow.
 */
int num_parse(const char *s, uint64_t *out);

#endif
