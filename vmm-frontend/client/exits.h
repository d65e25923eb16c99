/*
 * exits.h: serving a vCPU's exit channel.  The server forwards each exit
 * of a vCPU over that vCPU's channel and waits for exactly one answer;
 * vmm-frontend's loop (run.c) and the tests' (tests/lib/harness.c) both
 * serve it through exit_serve, each with its own handler.
 * Trust: unprivileged; exits carry guest-controlled values.
 */
#ifndef KVMMU_EXITS_H
#define KVMMU_EXITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmmu.pb-c.h"

/*
 * Handles one exit: puts what a port or MMIO read returns in data[0..*len)
 * (*len 0: nothing to return; at most cap bytes).  True when the vCPU is
 * done and must not run again.
 */
typedef bool exit_handler(void *arg, const Kvmmu__VcpuExit *ex, uint8_t *data,
			  size_t cap, size_t *len);

/*
 * Reads one exit from chan (vcpu >= 0: it must be that vCPU's), has fn
 * handle it and sends the answer.  1: answered, the vCPU is done; 0:
 * answered, or nothing was waiting; -EPIPE: the channel is gone; -EPROTO:
 * an undecodable exit.
 */
int exit_serve(int chan, int vcpu, exit_handler *fn, void *arg);

#endif
