/*
 * vcpustate.h: sends a vCPU's CPL3 long-mode start state (guest.c) to
 * mmu-server.  Trust: unprivileged.
 */
#ifndef KVMMU_VCPUSTATE_H
#define KVMMU_VCPUSTATE_H

#include <stdint.h>

#include "client.h"

int vcpustate_send(struct client *cl, uint32_t vm_id, unsigned idx);

#endif
