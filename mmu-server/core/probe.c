/*
 * probe.c: boots probe_guest.S on this host's KVM and says what KVM can
 * run (probe.h).  KVM selftests' way: one VM, one vCPU, a memslot of
 * anonymous memory, registers set by hand, KVM_RUN in a loop that answers
 * the guest's port writes.  Nothing here is kept: the VM is gone when
 * probe_guest_run() returns.
 * Trust: privileged; the guest is ours, but its exits are checked as if
 * it were not (a broken KVM is what this looks for).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "probe.h"

extern const unsigned char probe_guest_start[], probe_guest_end[];

/* The host's boot state: a GDT and page tables, as a boot loader leaves. */
#define BOOT_GDT_GPA  0x2000
#define BOOT_PML4_GPA 0x8000
#define BOOT_PDPT_GPA 0x9000
#define BOOT_PD_GPA   0xa000
#define PROBE_IDT_GPA 0x3000 /* probe_guest.S's IDT */

#define PROBE_IRQ_VECTOR 0x81
#define PROBE_SECONDS	 5
#define PROBE_MAX_EXITS	 64

/* What the guest does in each step (probe_guest.S's "step N" lines). */
static const char *const step_name[PROBE_LAST_STEP + 1] = {
	"before its first step",
	"64-bit CPL0 entry and LGDT",
	"far return into a new CS",
	"data segment loads",
	"IDT build and LIDT",
	"CR3 load of its own page tables",
	"CR4/CR0 writes and INVLPG",
	"EFER write through RDMSR/WRMSR",
	"software interrupt (INT 0x80)",
	"exception handling (#UD)",
	"STI, HLT and an injected interrupt",
	"last HLT",
};

const char *probe_kvm_module(void)
{
	static const char *const mods[] = {"kvm_pvm", "kvm_amd", "kvm_intel"};
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (stat(path, &st) == 0)
			return mods[i];
	}
	return NULL;
}

enum kvm_kind probe_verdict(bool kvm_opens, const char *module, bool probe_ok)
{
	if (!kvm_opens)
		return KVM_KIND_NONE;
	/*
	 * kvm_pvm runs a guest's kernel code by its own emulation, in
	 * batches: a probe this small may get through where a real kernel's
	 * boot does not (DESIGN.md 1.1), so the module decides too.
	 */
	if (!probe_ok || (module != NULL && strcmp(module, "kvm_pvm") == 0))
		return KVM_KIND_PAYLOADS;
	return KVM_KIND_FULL;
}

enum kvm_kind probe_kind(struct kvm_host *kh, int fault_at, char *why,
			 size_t whylen)
{
	bool ok = probe_guest_run(kh, fault_at, why, whylen) == 0;

	if (ok)
		snprintf(why, whylen, "ran every step");
	return probe_verdict(true, probe_kvm_module(), ok);
}

static void on_alarm(int sig)
{
	(void)sig; /* only to interrupt KVM_RUN */
}

/* Long mode, CPL0, paging on: the state the Linux boot protocol gives. */
static int probe_vcpu_state(int vcpufd)
{
	struct kvm_segment code = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = 0x08,
		.type = 0xb, /* execute/read, accessed */
		.present = 1,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_regs regs = {
		.rip = PROBE_CODE_GPA,
		.rsp = PROBE_STACK_TOP,
		.rflags = 0x2,
	};
	struct kvm_sregs sr;
	int r;

	r = kvm_vcpu_get_sregs(vcpufd, &sr);
	if (r < 0)
		return r;
	data.selector = 0x10;
	data.type = 0x3; /* read/write, accessed */
	data.l = 0;
	data.db = 1;
	sr.cs = code;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.gdt.base = BOOT_GDT_GPA;
	sr.gdt.limit = 3 * 8 - 1;
	sr.cr3 = BOOT_PML4_GPA;
	sr.cr4 = 0x20;	     /* PAE */
	sr.cr0 = 0x80000033; /* PG, NE, ET, MP, PE */
	sr.efer = 0x500;     /* LMA, LME */
	r = kvm_vcpu_set_sregs(vcpufd, &sr);
	return r < 0 ? r : kvm_vcpu_set_regs(vcpufd, &regs);
}

/* Guest RAM as a boot loader leaves it: code, GDT, identity map. */
static void probe_ram(uint8_t *ram)
{
	uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_GPA);

	memcpy(ram + PROBE_CODE_GPA, probe_guest_start,
	       (size_t)(probe_guest_end - probe_guest_start));
	gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code */
	gdt[2] = 0x00cf93000000ffffULL; /* data */
	*(uint64_t *)(ram + BOOT_PML4_GPA) = BOOT_PDPT_GPA | 3;
	*(uint64_t *)(ram + BOOT_PDPT_GPA) = BOOT_PD_GPA | 3;
	*(uint64_t *)(ram + BOOT_PD_GPA) = 0x83; /* 2 MiB page, P, RW, PS */
}

struct probe_run {
	struct kvm_run *run;
	int vcpufd;
	uint8_t *ram;
	int fault_at;
	unsigned step;
	bool saw_int, saw_ud, saw_irq, injected;
};

/* One exit: 1 to run on, 0 when the guest is done, -1 on a failure. */
static int probe_exit(struct probe_run *p, char *why, size_t whylen)
{
	struct kvm_run *run = p->run;
	struct kvm_interrupt irq = {.irq = PROBE_IRQ_VECTOR};

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t v = *((uint8_t *)run + run->io.data_offset);

		if (run->io.port != PROBE_PORT || !run->io.direction)
			break;
		if (v <= PROBE_LAST_STEP)
			p->step = v;
		p->saw_int |= v == 0x80;
		p->saw_ud |= v == 0x86;
		p->saw_irq |= v == PROBE_IRQ_VECTOR;
		/* The probe's own test: no IDT, so INT 0x80 triple-faults. */
		if (p->fault_at > 0 && v == p->fault_at)
			memset(p->ram + PROBE_IDT_GPA, 0, 4096);
		return 1;
	}
	case KVM_EXIT_HLT:
		if (p->step == PROBE_LAST_STEP - 1 && !p->injected) {
			if (!run->ready_for_interrupt_injection) {
				run->request_interrupt_window = 1;
				return 1;
			}
			if (kvm_vcpu_interrupt(p->vcpufd, &irq) < 0)
				break;
			p->injected = true;
			return 1;
		}
		if (p->step == PROBE_LAST_STEP && p->saw_int && p->saw_ud &&
		    p->saw_irq)
			return 0;
		snprintf(why, whylen,
			 "HLT at step %u (%s) before every handler ran "
			 "(INT 0x80 %s, #UD %s, interrupt %s)",
			 p->step, step_name[p->step],
			 p->saw_int ? "ran" : "not", p->saw_ud ? "ran" : "not",
			 p->saw_irq ? "ran" : "not");
		return -1;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		run->request_interrupt_window = 0;
		if (kvm_vcpu_interrupt(p->vcpufd, &irq) < 0)
			break;
		p->injected = true;
		return 1;
	case KVM_EXIT_SHUTDOWN:
		snprintf(why, whylen,
			 "triple fault (KVM_EXIT_SHUTDOWN) at "
			 "step %u (%s)",
			 p->step, step_name[p->step]);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(
			why, whylen,
			"KVM_EXIT_INTERNAL_ERROR (suberror %u) at step %u (%s)",
			run->internal.suberror, p->step, step_name[p->step]);
		return -1;
	default:
		break;
	}
	snprintf(why, whylen, "exit reason %u at step %u (%s)",
		 run->exit_reason, p->step, step_name[p->step]);
	return -1;
}

/* KVM_RUN until the guest is done, fails, or the time is up. */
static int probe_loop(struct probe_run *p, char *why, size_t whylen)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct itimerval it = {.it_value = {PROBE_SECONDS, 0}}, off = {0};
	int r = -1, n;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: KVM_RUN returns */
	setitimer(ITIMER_REAL, &it, NULL);
	for (n = 0; n < PROBE_MAX_EXITS; n++) {
		int e = kvm_vcpu_run(p->vcpufd);

		if (e == -EINTR) {
			snprintf(why, whylen,
				 "no exit within %d s at step %u (%s)",
				 PROBE_SECONDS, p->step, step_name[p->step]);
			break;
		}
		if (e < 0) {
			snprintf(why, whylen, "KVM_RUN at step %u (%s): %s",
				 p->step, step_name[p->step], strerror(-e));
			break;
		}
		r = probe_exit(p, why, whylen);
		if (r <= 0)
			break;
	}
	if (n == PROBE_MAX_EXITS)
		snprintf(why, whylen, "more than %d exits at step %u (%s)",
			 PROBE_MAX_EXITS, p->step, step_name[p->step]);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	return r == 0 ? 0 : -1;
}

int probe_guest_run(struct kvm_host *kh, int fault_at, char *why, size_t whylen)
{
	struct probe_run p = {.fault_at = fault_at, .vcpufd = -1};
	int vmfd, r = -1;
	const char *what;

	snprintf(why, whylen, "set-up failed");
	p.ram = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p.ram == MAP_FAILED) {
		snprintf(why, whylen, "guest RAM: %s", strerror(errno));
		return -1;
	}
	probe_ram(p.ram);
	vmfd = kvm_vm_create(kh);
	if (vmfd < 0) {
		what = "KVM_CREATE_VM";
		r = vmfd;
		goto out;
	}
	what = "KVM_SET_USER_MEMORY_REGION";
	r = kvm_vm_set_slot(vmfd, 0, 0, 0, PROBE_RAM, p.ram);
	if (r < 0)
		goto out;
	what = "KVM_CREATE_VCPU";
	p.vcpufd = r = kvm_vcpu_create(kh, vmfd, 0, &p.run);
	if (r < 0)
		goto out;
	what = "KVM_SET_CPUID2";
	r = kvm_vcpu_set_cpuid(p.vcpufd, kh->kh_cpuid);
	if (r < 0)
		goto out;
	what = "KVM_SET_SREGS/KVM_SET_REGS";
	r = probe_vcpu_state(p.vcpufd);
	if (r < 0)
		goto out;
	r = probe_loop(&p, why, whylen);
	what = NULL;
out:
	if (r < 0 && what != NULL)
		snprintf(why, whylen, "%s: %s", what, strerror(-r));
	if (p.vcpufd >= 0) {
		kvm_vcpu_unmap_run(kh, p.run);
		close(p.vcpufd);
	}
	if (vmfd >= 0)
		close(vmfd);
	munmap(p.ram, PROBE_RAM);
	return r < 0 ? -1 : 0;
}
