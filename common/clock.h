/*
 * clock.h: the one monotonic clock kvmmu's timings, timeouts and
 * benchmarks read.  Trust: none needed.
 */
#ifndef KVMMU_CLOCK_H
#define KVMMU_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mono_ns(void);

#endif
