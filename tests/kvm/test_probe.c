/*
 * test_probe.c: the verdict the README's commands decide from
 * (`mmu-server --check-kvm`, probe.h).  The decision itself for every
 * combination of what can be found; then, on this host's real KVM: the
 * probe guest's run agrees with the module that is bound (a full KVM runs
 * every step, kvm_pvm stops it), a probe guest made to triple-fault turns
 * a KVM that opens into "payloads only", and the command prints one line
 * whose status says the same.
 * Trust: test code, run as root.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "probe.h"

static void test_verdict(void)
{
	CHECK(probe_verdict(false, NULL, false) == KVM_KIND_NONE, "no KVM");
	CHECK(probe_verdict(false, "kvm_amd", true) == KVM_KIND_NONE,
	      "a module but no /dev/kvm");
	CHECK(probe_verdict(true, "kvm_amd", true) == KVM_KIND_FULL,
	      "kvm_amd, probe ran");
	CHECK(probe_verdict(true, "kvm_intel", true) == KVM_KIND_FULL,
	      "kvm_intel, probe ran");
	CHECK(probe_verdict(true, NULL, true) == KVM_KIND_FULL,
	      "an unknown module whose probe ran");
	CHECK(probe_verdict(true, "kvm_amd", false) == KVM_KIND_PAYLOADS,
	      "a KVM that opens but whose probe guest fails");
	CHECK(probe_verdict(true, "kvm_pvm", true) == KVM_KIND_PAYLOADS,
	      "kvm_pvm even where the probe got through");
	CHECK(probe_verdict(true, "kvm_pvm", false) == KVM_KIND_PAYLOADS,
	      "kvm_pvm, probe stopped");
}

/* `mmu-server --check-kvm ARG`: its one line into out, its status. */
static int check_kvm(const char *arg, char *out, size_t len)
{
	char cmd[600];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --check-kvm %s", bin_path("mmu-server"),
		 arg);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fgets(out, (int)len, p) == NULL)
		out[0] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	const char *mod = probe_kvm_module();
	bool pvm = mod && strcmp(mod, "kvm_pvm") == 0;
	struct kvm_host kh;
	char why[200], line[512];
	int r;

	test_verdict();
	require_kvm("test_probe");
	CHECK(kvm_host_open(&kh, "/dev/kvm") == 0, "open /dev/kvm");
	printf("test_probe: module %s, %s MMU\n", mod ? mod : "unknown",
	       kh.kh_mmu);

	r = probe_guest_run(&kh, 0, why, sizeof(why));
	if (pvm) {
		CHECK(r < 0, "kvm_pvm stops the probe guest");
		printf("test_probe: kvm_pvm stopped the probe guest: %s\n",
		       why);
	} else {
		CHECK(r == 0, "a full KVM runs every step: %s", why);
	}
	/* A KVM that opens but whose probe guest fails: a real fault. */
	r = probe_guest_run(&kh, PROBE_FAULT_STEP, why, sizeof(why));
	CHECK(r < 0 && strstr(why, "at step"), "the faulting probe fails: %s",
	      why);
	if (!pvm)
		CHECK(strstr(why, "triple fault") &&
			      strstr(why, "step 8 (software interrupt"),
		      "it names the triple fault and the step: %s", why);
	kvm_host_close(&kh);

	r = check_kvm("", line, sizeof(line));
	CHECK(r == (pvm ? 3 : 0), "--check-kvm exits %d: %s", r, line);
	CHECK(strncmp(line, pvm ? "KVM payloads only" : "KVM full: ",
		      pvm ? 17 : 10) == 0,
	      "its line says so: %s", line);
	r = check_kvm("--probe-fault", line, sizeof(line));
	CHECK(r == 3 && strncmp(line, "KVM payloads only", 17) == 0 &&
		      strstr(line, "probe guest: "),
	      "--probe-fault: a KVM that cannot run a kernel (%d): %s", r,
	      line);
	return checks_report("test_probe");
}
