/*
 * sandbox.h: the frontend confines itself once it holds everything it
 * needs (payload, server connection, guest RAM): drops to a configured
 * user if started as root, sets no_new_privs, and installs a seccomp
 * allow-list.  Trust: this is what makes an exploited device model harm
 * no one but its own guest.
 */
#ifndef KVMMU_SANDBOX_H
#define KVMMU_SANDBOX_H

#include <stdbool.h>

/*
 * user: whom to become when running as root (NULL: stay); seccomp: false
 * only for debugging.  0, or -1 with the reason printed.
 */
int sandbox_enter(const char *user, bool seccomp);

/*
 * For tests: what opening /dev/kvm now gives, as "ok" or strerror's text.
 * Inside the sandbox it must fail with EPERM (seccomp), whoever we are.
 */
const char *sandbox_probe(void);

/* True when this build installs the filter (not the sanitizer build). */
bool sandbox_has_seccomp(void);

#endif
