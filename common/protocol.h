/*
 * protocol.h: constants of the kvmmu data-plane protocol (proto/kvmmu.proto).
 * Trust: shared by the privileged server and untrusted frontends.
 */
#ifndef KVMMU_PROTOCOL_H
#define KVMMU_PROTOCOL_H

#define KVMMU_PROTOCOL_VERSION 1

/* Largest packet either side sends or accepts on any kvmmu socket. */
#define WIRE_MAX_MSG (64 * 1024)
/* Most fds one packet may carry: a RAM memfd plus one channel per vCPU. */
#define WIRE_MAX_FDS 65

#define KVMMU_NAME_MAX	 64  /* VM and region names */
#define KVMMU_REASON_MAX 256 /* DestroyVm.reason, bytes */

#endif
