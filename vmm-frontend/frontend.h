/*
 * frontend.h: the state of one vmm-frontend process.
 * Trust: unprivileged.
 */
#ifndef KVMMU_FRONTEND_H
#define KVMMU_FRONTEND_H

#include <stdint.h>

#include "abi.h"
#include "client.h"
#include "devices.h"
#include "machine.h"
#include "boot.h"

struct options {
	const char *socket;
	const char *payload;
	const char *cmdline;
	const char *name;
	uint64_t memory_mib;
	unsigned vcpus;
	unsigned timeout_s;
	int stats;
	int quiet;
	unsigned spin_us;
	int json;  /* one JSON summary line for scripts */
	int pc;	   /* --machine pc */
	int eager; /* --pci-commit eager */
	unsigned pci_devices;
	Kvmmu__ZapControl zap; /* fields set by --zap-mode and friends */
};

struct frontend {
	struct options *f_opt;
	struct client f_cl;
	struct boot f_boot; /* the VM: id, RAM, exit channels */
	struct devices f_dev;
	struct machine f_machine;
	unsigned f_crashed;
	unsigned f_finished; /* vCPUs done, crashed or lost */
};

/* Prints what failed and the client's last error; returns -1. */
int fail(struct frontend *f, const char *what);

/*
 * run.c: serves every vCPU's exits until all are finished.  0, or
 * -ETIMEDOUT past the timeout, or -EPIPE when the server went away.
 */
int frontend_run(struct frontend *f, double t0);

#endif
