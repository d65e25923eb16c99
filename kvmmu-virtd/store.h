/*
 * store.h: the domains kvmmu-virtd manages.  Definitions are libvirt
 * domain XML with kvmmu's metadata namespace, one file each under
 * STATE/domains/, checked by the frontend's own parser (domain.c) so a
 * bad definition is refused with the element it names; they survive a
 * restart.  A running domain also has its live XML (STATE/run/), which
 * live metadata changes edit, and the vmm-frontend process running it.
 * Trust: privileged; XML comes from clients on the daemon's socket.
 */
#ifndef KVMMU_STORE_H
#define KVMMU_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "lverr.h"
#include "protocol.h"

struct virtd;

enum vstate {
	VS_SHUTOFF, /* defined, not running */
	VS_RUNNING,
	VS_PAUSED, /* PauseVm through the admin API */
};

struct vdom {
	char vd_name[KVMMU_NAME_MAX + 1];
	uint8_t vd_uuid[16];
	char vd_uuid_str[37];
	char *vd_config; /* the definition; NULL: transient (undefined) */
	char *vd_live;	 /* the running VM's XML; NULL when off */
	uint64_t vd_memory_kib;
	unsigned vd_vcpus;
	int vd_id; /* libvirt's domain id while active, else -1 */
	enum vstate vd_state;
	int vd_reason;	   /* VIR_DOMAIN_RUNNING_* or _PAUSED_* of vd_state */
	uint32_t vd_vm_id; /* mmu-server's id of its VM; 0: not known yet */
	uint64_t vd_gen;   /* vms.c's generation of its last change */
	pid_t vd_pid;	   /* its vmm-frontend, 0 when off */
	uid_t vd_uid;	   /* its frontend's uid while it runs, else 0 */
	int vd_pidfd;	   /* pidfd_open(vd_pid), -1 when off */
	void *vd_watch;	   /* the daemon's event on vd_pidfd */
	struct virtd *vd_daemon;
	bool vd_stopping;    /* destroy/shutdown asked: an expected exit */
	int vd_stop_event;   /* the lifecycle detail the exit reports */
	int vd_off_reason;   /* VIR_DOMAIN_SHUTOFF_* of the last stop */
	bool vd_gone;	     /* mmu-server no longer has the VM: its frontend
				is ending, its exit says why */
	bool vd_graceful;    /* destroy --graceful: SIGINT, never SIGKILL */
	bool vd_shutdown;    /* shutdown asked (SIGTERM sent): the guest's
				own end (exit 0) is its shutdown */
	bool vd_remove_logs; /* destroy --remove-logs: once it is gone */
	TAILQ_ENTRY(vdom) vd_entry;
};

TAILQ_HEAD(vdomlist, vdom);

struct store {
	char *st_dir;
	struct vdomlist st_doms;
	int st_next_id;
};

/* Creates DIR/domains, DIR/run and DIR/log and loads the definitions. */
int store_open(struct store *s, const char *dir, struct lverr *e);
void store_close(struct store *s);

struct vdom *store_by_name(struct store *s, const char *name);
struct vdom *store_by_uuid(struct store *s, const uint8_t uuid[16]);
struct vdom *store_by_id(struct store *s, int id);

/*
 * Defines (or redefines: same name and UUID) a domain from xml; a UUID
 * is made up when the XML has none.  *updated says which.  0 or -1.
 */
int store_define(struct store *s, const char *xml, struct vdom **out,
		 bool *updated, struct lverr *e);
/*
 * A running VM's transient domain again, from the live XML it was
 * started from (STATE/run/NAME.xml, kept while it runs) when that names
 * name and uuid: after a crash or restart of the daemon, a domain that
 * was never defined (or undefined while it ran) is still ours, as
 * libvirt's status XML keeps a transient domain.  NULL when not.
 */
struct vdom *store_adopt_live(struct store *s, const char *name,
			      const uint8_t uuid[16]);
/* A UUID in its 8-4-4-4-12 form (either case) as 16 bytes; 0 or -1. */
int store_uuid_parse(const char *str, uint8_t out[16]);

/* Removes the definition; a running domain goes on as transient. */
int store_undefine(struct store *s, struct vdom *d, struct lverr *e);
/* Forgets a transient domain that stopped. */
void store_forget(struct store *s, struct vdom *d);

/* The live XML written for the frontend to read: STATE/run/NAME.xml. */
int store_write_live(struct store *s, struct vdom *d, char *path, size_t len,
		     struct lverr *e);
void store_drop_live(struct store *s, struct vdom *d);
/* The live XML a running domain was started from, or NULL. */
char *store_read_live(struct store *s, const struct vdom *d);

/*
 * Metadata of the XML *xmlp: type 0 description, 1 title, 2 an element
 * in namespace uri (libvirt's VIR_DOMAIN_METADATA_*).  get: a malloc'd
 * string, or NULL with e (LV_ERR_NO_DOMAIN_METADATA when absent).  set:
 * value NULL removes it; the new XML must still parse as a domain.
 */
char *store_get_metadata(const char *xml, int type, const char *uri,
			 struct lverr *e);
int store_set_metadata(char **xmlp, int type, const char *value,
		       const char *key, const char *uri, struct lverr *e);
/* Writes a definition back to its file (after set_metadata --config). */
int store_save(struct store *s, struct vdom *d, struct lverr *e);

#endif
