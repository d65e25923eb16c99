/*
 * frontend.h: the state of one vmm-frontend process.
 * Trust: unprivileged.
 */
#ifndef KVMMU_FRONTEND_H
#define KVMMU_FRONTEND_H

#include <signal.h>
#include <stdint.h>

#include "abi.h"
#include "client.h"
#include "devices.h"
#include "disks.h"
#include "machine.h"
#include "pcdev.h"
#include "protocol.h"
#include "shares.h"
#include "boot.h"

struct options {
	const char *socket;
	const char *payload;
	const char *cmdline;
	const char *name;
	uint64_t memory_mib;
	uint32_t hugetlb_kib;	 /* hugetlbfs page size (a domain's); 0: none */
	const char *ram_backing; /* "huge" | "4k"; NULL: the server's */
	bool ram_immediate;	 /* <allocation mode='immediate'/> */
	unsigned vcpus;
	unsigned timeout_s;
	unsigned shutdown_timeout_s; /* SIGTERM's wait for the guest */
	int stats;
	int quiet;
	unsigned spin_us;
	int json;	      /* one JSON summary line for scripts */
	const char *user;     /* whom to become when root (--user) */
	int no_sandbox;	      /* --no-sandbox: debugging only */
	int selftest_sandbox; /* tests: report a probe from inside */
	int pc;		      /* --machine pc */
	int eager;	      /* --pci-commit eager */
	unsigned pci_devices;
	Kvmmu__ZapControl zap; /* fields set by --zap-mode and friends */
	/* A libvirt domain instead of the flags above (domload.c). */
	const char *connect; /* --connect URI, with --domain NAME */
	const char *domain;
	const char *domain_xml; /* --domain-xml FILE */
	const char *vm_flag;	/* the first flag that describes the VM */
	const char *uuid;	/* the domain's, for CreateVm; NULL: random */
	const char *serial;	/* serial output file; NULL: stdout */
	int serial_append;
	int serial_none; /* serial output dropped */
	const void *rom; /* the option ROM; NULL: built-in */
	size_t rom_len;
	/* A Linux guest (--kernel, or a domain whose kernel is a bzImage). */
	const char *kernel;
	const char *initrd;
	const char *mark;	 /* --mark-line: time this console line */
	struct disk_specs disks; /* --disk, --vhost-user-blk */
	/* --fs, --vhost-user-fs */
	struct share_specs shares;
};

struct lv;

struct frontend {
	struct options *f_opt;
	struct client f_cl;
	struct boot f_boot; /* the VM: id, RAM, exit channels */
	struct devices f_dev;
	struct machine f_machine;
	struct iobus f_bus;	   /* who decodes which port */
	struct mmiobus f_mmio;	   /* ... and which MMIO range */
	struct vmmap_client f_map; /* the machine's way to the VM */
	struct pcdev f_pc;	   /* a Linux guest's legacy devices */
	bool f_linux;
	bool f_reset;	 /* the guest reset the machine */
	bool f_poweroff; /* the guest powered it off (ACPI S5) */
	int f_in_fd;	 /* stdin for COM1; -1: not read */
	double f_t0;	 /* when Run was sent (mono seconds) */
	unsigned f_crashed;
	unsigned f_finished; /* vCPUs done, crashed or lost */
	/* With --connect (live.c): libvirt and the zap control in force. */
	struct lv *f_lv;
	int f_lv_fd;		  /* libvirt's events, -1: none */
	Kvmmu__ZapControl f_zap;  /* in force, as the server says */
	Kvmmu__ZapControl f_live; /* last seen in libvirt: live */
	Kvmmu__ZapControl f_conf; /*  ... and persistent */
	char *f_raw[2];		  /* the metadata last read: live, config */
	bool f_stop;		  /* libvirt stopped the domain */
	/* SIGTERM asked the guest to shut down (run.c): until when. */
	double f_shutdown_at; /* mono seconds; 0: not asked */
	bool f_shutdown_sent; /* the request reached the guest's 8042 */
	struct disks f_disks; /* virtio-blk and their back ends */
	/* virtio-fs and their back ends */
	struct shares f_shares;
	/* Why the VM ends (frontend_why): DestroyVm.reason. */
	char f_why[KVMMU_REASON_MAX + 1];
};

/*
 * Set by main.c on SIGINT/SIGTERM: the last signal, and how many came.
 * The first SIGTERM asks the guest to shut down; SIGINT or a second
 * signal ends the VM at once.
 */
extern volatile sig_atomic_t frontend_signal;
extern volatile sig_atomic_t frontend_signals;

/* Prints what failed and the client's last error; returns -1. */
int fail(struct frontend *f, const char *what);

/*
 * run.c: notes why the VM ends, in the words said on stderr, for
 * DestroyVm.reason (the server logs it, mmuctl list shows it).  The
 * first one noted is kept, as printable UTF-8 cut to KVMMU_REASON_MAX
 * bytes (text.h): a path or a guest's panic message may be in it.
 */
void frontend_why(struct frontend *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * run.c: serves every vCPU's exits until all are finished, the guest
 * reset or panicked, or one vCPU crashed (the others are not waited for).  0,
 * or -ETIMEDOUT past the timeout, -EPIPE when the server went away (it closed
 * the connection), -ECONNRESET when it closed a vCPU's channel (the server
 * went away, or the VM was destroyed through the admin API), -ECANCELED
 * when libvirt stopped the domain, a signal ended it at once, or a guest
 * asked to shut down (SIGTERM) had not done so within the shutdown timeout.
 */
int frontend_run(struct frontend *f, double t0);

/*
 * live.c: libvirt's events in the main loop.  live_start() records the
 * policy the VM was created with; live_event() reads the metadata again
 * and applies a live change through the server (or logs why not).
 */
void live_start(struct frontend *f, const Kvmmu__ZapControl *created);
void live_event(struct frontend *f);
void live_free(struct frontend *f);

#endif
