/*
 * inval_merge.c: merging of invalidation ranges, kept apart from inval.c
 * (which needs the event loop) so unit tests can reach it.
 * Trust: pure function over validated ranges.
 */
#include <stdlib.h>

#include "inval.h"

static int inval_cmp(const void *a, const void *b)
{
	const struct inval_range *x = a, *y = b;

	if (x->ir_discard != y->ir_discard)
		return x->ir_discard ? -1 : 1;
	return x->ir_off < y->ir_off ? -1 : x->ir_off > y->ir_off;
}

size_t inval_merge(struct inval_range *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), inval_cmp);
	for (size_t i = 1; i < n; i++) {
		struct inval_range *last = &r[out];
		uint64_t end = last->ir_off + last->ir_len;

		if (r[i].ir_discard == last->ir_discard && r[i].ir_off <= end) {
			uint64_t e2 = r[i].ir_off + r[i].ir_len;

			last->ir_len = (e2 > end ? e2 : end) - last->ir_off;
			continue;
		}
		r[++out] = r[i];
	}
	return out + 1;
}
