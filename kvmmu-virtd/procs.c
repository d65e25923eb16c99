/*
 * procs.c: the remote program's procedures kvmmu-virtd implements, one
 * table row each: its number, handler and whether it needs CONNECT_OPEN
 * and a read-write connection.  A handler decodes its arguments fully
 * (anything left over or malformed is VIR_ERR_RPC, and counts against
 * the connection) before it acts.  Every other procedure is
 * VIR_ERR_NO_SUPPORT and the connection stays open.
 * Trust: arguments are an untrusted client's; names and XML are checked
 * by store.c, domain lookups are by UUID then name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpcdefs.h"
#include "virtd.h"

#define KVMMU_XMLNS "urn:kvmmu:domain:1"
#define P_PREOPEN   1 /* allowed before CONNECT_OPEN */
#define P_WRITE	    2 /* changes something: not on the read-only socket */

typedef int proc_fn(struct vconn *c, uint32_t proc, uint32_t serial,
		    struct xdr_in *in, struct xdr_out *out, struct lverr *e);

static int bad_args(struct lverr *e)
{
	return lverr_set(e, LV_ERR_RPC, "malformed arguments");
}

/* The arguments were read to their end, exactly. */
#define ARGS_DONE(in, e)                                                       \
	do {                                                                   \
		if (!xdr_in_done(in))                                          \
			return bad_args(e);                                    \
	} while (0)

/* A remote_nonnull_domain argument: by UUID, else by name. */
static struct vdom *get_dom(struct vconn *c, struct xdr_in *in, struct lverr *e)
{
	char *name = xdr_get_string(in, KVMMU_NAME_MAX * 4);
	uint8_t uuid[16];
	struct vdom *v;

	xdr_get_fixed(in, uuid, sizeof(uuid));
	xdr_get_i32(in);
	if (name == NULL || in->x_err) {
		free(name);
		bad_args(e);
		return NULL;
	}
	v = store_by_uuid(&c->c_d->d_store, uuid);
	if (v == NULL)
		v = store_by_name(&c->c_d->d_store, name);
	if (v == NULL)
		lverr_set(e, LV_ERR_NO_DOMAIN,
			  "Domain not found: no domain with matching name "
			  "'%s'",
			  name);
	free(name);
	return v;
}

/*
 * libvirt's virCheckFlags: a flag the procedure does not know is
 * refused before anything else, never ignored, so that a client asking
 * for a behaviour kvmmu lacks is told so instead of getting another.
 */
static int check_flags(uint32_t flags, uint32_t known, const char *fn,
		       struct lverr *e)
{
	if ((flags & ~known) == 0)
		return 0;
	return lverr_set(e, LV_ERR_INVALID_ARG,
			 "unsupported flags (0x%x) in function %s",
			 flags & ~known, fn);
}

/*
 * A handler taking one domain and, when fn is set, a flags word with the
 * bits known: malformed arguments, then unknown flags, then an unknown
 * domain, as libvirt checks them.
 */
static struct vdom *dom_args(struct vconn *c, struct xdr_in *in, const char *fn,
			     uint32_t known, uint32_t *fl, struct lverr *e)
{
	struct vdom *v = get_dom(c, in, e);
	uint32_t f = fn != NULL ? xdr_get_u32(in) : 0;

	if (v == NULL && e->code == LV_ERR_RPC)
		return NULL;
	if (!xdr_in_done(in)) {
		bad_args(e);
		return NULL;
	}
	if (fn != NULL && check_flags(f, known, fn, e) < 0)
		return NULL;
	if (fl != NULL)
		*fl = f;
	return v;
}

static int p_void(struct vconn *c, uint32_t proc, uint32_t serial,
		  struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	(void)out;
	ARGS_DONE(in, e);
	return 0;
}

static int p_open(struct vconn *c, uint32_t proc, uint32_t serial,
		  struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	char *name = xdr_get_opt_string(in, REMOTE_STRING_MAX);
	uint32_t flags = xdr_get_u32(in);

	(void)proc;
	(void)serial;
	(void)out;
	free(name);
	ARGS_DONE(in, e);
	c->c_open = true;
	if (flags & VIR_CONNECT_RO)
		c->c_ro = true;
	return 0;
}

static int p_string(struct xdr_in *in, struct xdr_out *out, const char *s,
		    struct lverr *e)
{
	ARGS_DONE(in, e);
	xdr_put_string(out, s);
	return 0;
}

static int p_get_type(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	return p_string(in, out, "KVMMU", e);
}

static int p_get_uri(struct vconn *c, uint32_t proc, uint32_t serial,
		     struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	return p_string(in, out, "kvmmu:///system", e);
}

static int p_hostname(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	char host[256] = "localhost";

	(void)c;
	(void)proc;
	(void)serial;
	gethostname(host, sizeof(host) - 1);
	return p_string(in, out, host, e);
}

/* kvmmu's version, as libvirt numbers them: major * 1e6 + minor * 1e3. */
static int p_version(struct vconn *c, uint32_t proc, uint32_t serial,
		     struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	unsigned maj = 0, min = 0, rel = 0;

	(void)c;
	(void)proc;
	(void)serial;
	ARGS_DONE(in, e);
	sscanf(KVMMU_VERSION, "%u.%u.%u", &maj, &min, &rel);
	xdr_put_u64(out, (uint64_t)maj * 1000000 + min * 1000 + rel);
	return 0;
}

static int p_int(struct xdr_in *in, struct xdr_out *out, int v, struct lverr *e)
{
	ARGS_DONE(in, e);
	xdr_put_i32(out, v);
	return 0;
}

static int p_is_secure(struct vconn *c, uint32_t proc, uint32_t serial,
		       struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	return p_int(in, out, 1, e); /* a local unix socket */
}

static int p_feature(struct vconn *c, uint32_t proc, uint32_t serial,
		     struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	int f = xdr_get_i32(in);

	(void)c;
	(void)proc;
	(void)serial;
	return p_int(in, out,
		     f == VIR_DRV_FEATURE_PROGRAM_KEEPALIVE ||
			     f == VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK ||
			     f == VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK ||
			     f == VIR_DRV_FEATURE_TYPED_PARAM_STRING,
		     e);
}

/* No authentication: access is the socket's mode. */
static int p_auth_list(struct vconn *c, uint32_t proc, uint32_t serial,
		       struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	ARGS_DONE(in, e);
	xdr_put_u32(out, 1);
	xdr_put_i32(out, REMOTE_AUTH_NONE);
	return 0;
}

/* No security driver: an empty model and DOI. */
static int p_secmodel(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)c;
	(void)proc;
	(void)serial;
	ARGS_DONE(in, e);
	xdr_put_u32(out, 0);
	xdr_put_u32(out, 0);
	return 0;
}

static bool list_match(const struct vdom *v, uint32_t f)
{
	bool active = v->vd_id >= 0, persistent = v->vd_config != NULL;
	uint32_t st = v->vd_state == VS_RUNNING	 ? VIR_CONNECT_LIST_RUNNING
		      : v->vd_state == VS_PAUSED ? VIR_CONNECT_LIST_PAUSED
						 : VIR_CONNECT_LIST_SHUTOFF;
	uint32_t states = VIR_CONNECT_LIST_RUNNING | VIR_CONNECT_LIST_PAUSED |
			  VIR_CONNECT_LIST_SHUTOFF | VIR_CONNECT_LIST_OTHER;

	if ((f & 3) && !(f & (active ? VIR_CONNECT_LIST_ACTIVE
				     : VIR_CONNECT_LIST_INACTIVE)))
		return false;
	if ((f & 12) && !(f & (persistent ? VIR_CONNECT_LIST_PERSISTENT
					  : VIR_CONNECT_LIST_TRANSIENT)))
		return false;
	if ((f & states) && !(f & st))
		return false;
	/*
	 * Managed save, autostart, snapshots, checkpoints: no domain has
	 * any, so "has" alone matches none and "has not" matches all.
	 */
	for (unsigned bit = 8; bit < 16; bit += 2) {
		if ((f >> bit & 3) == 1)
			return false;
	}
	return true;
}

static int p_list_all(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	int need = xdr_get_i32(in);
	uint32_t flags = xdr_get_u32(in), n = 0;
	size_t at;
	struct vdom *v;

	(void)proc;
	(void)serial;
	ARGS_DONE(in, e);
	if (check_flags(flags, VIR_CONNECT_LIST_DOMAINS_KNOWN,
			"virConnectListAllDomains", e) < 0)
		return -1;
	at = out->x_len;
	xdr_put_u32(out, 0); /* the count, patched below */
	TAILQ_FOREACH(v, &c->c_d->d_store.st_doms, vd_entry)
	{
		if (!list_match(v, flags))
			continue;
		if (need)
			xdr_put_domain(out, v);
		n++;
	}
	xdr_patch_u32(out, at, need ? n : 0);
	xdr_put_u32(out, n);
	return 0;
}

static int p_lookup_id(struct vconn *c, uint32_t proc, uint32_t serial,
		       struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	int id = xdr_get_i32(in);
	struct vdom *v;

	(void)proc;
	(void)serial;
	ARGS_DONE(in, e);
	v = store_by_id(&c->c_d->d_store, id);
	if (v == NULL)
		return lverr_set(e, LV_ERR_NO_DOMAIN,
				 "Domain not found: no domain with matching "
				 "id %d",
				 id);
	xdr_put_domain(out, v);
	return 0;
}

static int p_lookup_name(struct vconn *c, uint32_t proc, uint32_t serial,
			 struct xdr_in *in, struct xdr_out *out,
			 struct lverr *e)
{
	char *name = xdr_get_string(in, REMOTE_STRING_MAX);
	struct vdom *v;

	(void)proc;
	(void)serial;
	if (!xdr_in_done(in)) {
		free(name);
		return bad_args(e);
	}
	v = store_by_name(&c->c_d->d_store, name);
	if (v == NULL)
		lverr_set(e, LV_ERR_NO_DOMAIN,
			  "Domain not found: no domain with matching name "
			  "'%.200s'",
			  name);
	free(name);
	if (v == NULL)
		return -1;
	xdr_put_domain(out, v);
	return 0;
}

static int p_lookup_uuid(struct vconn *c, uint32_t proc, uint32_t serial,
			 struct xdr_in *in, struct xdr_out *out,
			 struct lverr *e)
{
	uint8_t uuid[16];
	struct vdom *v;

	(void)proc;
	(void)serial;
	xdr_get_fixed(in, uuid, sizeof(uuid));
	ARGS_DONE(in, e);
	v = store_by_uuid(&c->c_d->d_store, uuid);
	if (v == NULL)
		return lverr_set(e, LV_ERR_NO_DOMAIN,
				 "Domain not found: no domain with matching "
				 "uuid");
	xdr_put_domain(out, v);
	return 0;
}

static int state_of(const struct vdom *v)
{
	if (v->vd_state == VS_RUNNING)
		return VIR_DOMAIN_RUNNING;
	return v->vd_state == VS_PAUSED ? VIR_DOMAIN_PAUSED
					: VIR_DOMAIN_SHUTOFF;
}

static int p_get_info(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	struct vdom *v = dom_args(c, in, NULL, 0, NULL, e);

	(void)proc;
	(void)serial;
	if (v == NULL)
		return -1;
	xdr_put_u32(out, (uint32_t)state_of(v)); /* unsigned char */
	xdr_put_u64(out, v->vd_memory_kib);	 /* maxMem */
	xdr_put_u64(out, v->vd_memory_kib);	 /* memory */
	xdr_put_u32(out, v->vd_vcpus);		 /* unsigned short */
	xdr_put_u64(out, 0);			 /* cpuTime: not kept */
	return 0;
}

static int p_get_state(struct vconn *c, uint32_t proc, uint32_t serial,
		       struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	struct vdom *v = dom_args(c, in, "virDomainGetState", 0, NULL, e);

	(void)proc;
	(void)serial;
	if (v == NULL)
		return -1;
	xdr_put_i32(out, state_of(v));
	xdr_put_i32(out, v->vd_state == VS_SHUTOFF ? v->vd_off_reason
						   : v->vd_reason);
	return 0;
}

static int p_xml_desc(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	uint32_t flags;
	struct vdom *v = dom_args(c, in, "virDomainGetXMLDesc",
				  VIR_DOMAIN_XML_KNOWN, &flags, e);
	const char *xml;

	(void)proc;
	(void)serial;
	if (v == NULL)
		return -1;
	/* Secrets are not for the read-only socket, as libvirt has it. */
	if (c->c_ro && (flags & VIR_DOMAIN_XML_SECURE))
		return lverr_set(e, LV_ERR_OPERATION_DENIED,
				 "virDomainGetXMLDesc with secure flag");
	xml = v->vd_live;
	if (xml == NULL || ((flags & VIR_DOMAIN_XML_INACTIVE) && v->vd_config))
		xml = v->vd_config;
	if (xml == NULL)
		return lverr_set(e, LV_ERR_INTERNAL_ERROR,
				 "domain '%s' has no XML", v->vd_name);
	xdr_put_string(out, xml);
	return 0;
}

/* One int answer about a domain. */
static int p_dom_int(struct vconn *c, uint32_t proc, uint32_t serial,
		     struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	const char *fn = proc == REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE
				 ? "virDomainHasManagedSaveImage"
			 : proc == REMOTE_PROC_DOMAIN_SNAPSHOT_NUM
				 ? "virDomainSnapshotNum"
				 : NULL;
	struct vdom *v = dom_args(c, in, fn,
				  proc == REMOTE_PROC_DOMAIN_SNAPSHOT_NUM
					  ? VIR_DOMAIN_SNAPSHOT_LIST_KNOWN
					  : 0,
				  NULL, e);

	(void)serial;
	if (v == NULL)
		return -1;
	if (proc == REMOTE_PROC_DOMAIN_IS_ACTIVE)
		xdr_put_i32(out, v->vd_id >= 0);
	else if (proc == REMOTE_PROC_DOMAIN_IS_PERSISTENT)
		xdr_put_i32(out, v->vd_config != NULL);
	else /* autostart, managed save, snapshots: kvmmu has none */
		xdr_put_i32(out, 0);
	return 0;
}

static int p_os_type(struct vconn *c, uint32_t proc, uint32_t serial,
		     struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)proc;
	(void)serial;
	if (dom_args(c, in, NULL, 0, NULL, e) == NULL)
		return -1;
	xdr_put_string(out, "hvm");
	return 0;
}

static int p_messages(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	(void)proc;
	(void)serial;
	if (dom_args(c, in, "virDomainGetMessages", VIR_DOMAIN_MESSAGE_KNOWN,
		     NULL, e) == NULL)
		return -1;
	xdr_put_u32(out, 0);
	return 0;
}

static int p_define(struct vconn *c, uint32_t proc, uint32_t serial,
		    struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	char *xml = xdr_get_string(in, REMOTE_STRING_MAX);
	uint32_t flags = 0;
	struct vdom *v;
	bool updated;
	int r;

	(void)serial;
	if (proc == REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS)
		flags = xdr_get_u32(in); /* VALIDATE: every definition is */
	if (!xdr_in_done(in)) {
		free(xml);
		return bad_args(e);
	}
	if (check_flags(flags, VIR_DOMAIN_DEFINE_KNOWN,
			"virDomainDefineXMLFlags", e) < 0) {
		free(xml);
		return -1;
	}
	r = store_define(&c->c_d->d_store, xml, &v, &updated, e);
	free(xml);
	if (r < 0)
		return -1;
	events_lifecycle(c->c_d, v, VIR_DOMAIN_EVENT_DEFINED,
			 updated ? VIR_DOMAIN_EVENT_DEFINED_UPDATED
				 : VIR_DOMAIN_EVENT_DEFINED_ADDED);
	xdr_put_domain(out, v);
	return 0;
}

static int p_undefine(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	uint32_t flags = 0;
	struct vdom *v = dom_args(c, in,
				  proc == REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS
					  ? "virDomainUndefineFlags"
					  : NULL,
				  VIR_DOMAIN_UNDEFINE_KNOWN, &flags, e);
	struct vdom copy;

	(void)serial;
	(void)out;
	if (v == NULL)
		return -1;
	/* kvmmu keeps no NVRAM or TPM state, but the request is still odd. */
	if ((flags & VIR_DOMAIN_UNDEFINE_NVRAM) &&
	    (flags & VIR_DOMAIN_UNDEFINE_KEEP_NVRAM))
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "cannot both keep and delete nvram");
	if ((flags & VIR_DOMAIN_UNDEFINE_TPM) &&
	    (flags & VIR_DOMAIN_UNDEFINE_KEEP_TPM))
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "cannot both keep and delete TPM");
	if (v->vd_config == NULL)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is transient: it has no "
				 "definition to undefine",
				 v->vd_name);
	copy = *v; /* the event names it after it is gone */
	if (store_undefine(&c->c_d->d_store, v, e) < 0)
		return -1;
	events_lifecycle(c->c_d, &copy, VIR_DOMAIN_EVENT_UNDEFINED,
			 VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
	return 0;
}

static int p_create(struct vconn *c, uint32_t proc, uint32_t serial,
		    struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	uint32_t flags = 0;
	struct vdom *v = dom_args(c, in,
				  proc == REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS
					  ? "virDomainCreateWithFlags"
					  : NULL,
				  VIR_DOMAIN_START_KNOWN, &flags, e);

	(void)out;
	if (v == NULL)
		return -1;
	/*
	 * A paused start would let the guest run a little before the pause;
	 * autodestroy is not kept.  Refused rather than half done.  The
	 * other bits ask for nothing kvmmu has (managed save, NVRAM).
	 */
	if (flags & VIR_DOMAIN_START_PAUSED)
		return lverr_set(e, LV_ERR_ARGUMENT_UNSUPPORTED,
				 "start --paused: kvmmu-virtd starts a domain "
				 "running only");
	if (flags & VIR_DOMAIN_START_AUTODESTROY)
		return lverr_set(e, LV_ERR_ARGUMENT_UNSUPPORTED,
				 "start --autodestroy: not supported by "
				 "kvmmu-virtd");
	return vms_start(c->c_d, c, proc, serial, v, e);
}

static int p_stop(struct vconn *c, uint32_t proc, uint32_t serial,
		  struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	bool shutdown = proc == REMOTE_PROC_DOMAIN_SHUTDOWN ||
			proc == REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS;
	uint32_t flags = 0;
	struct vdom *v = dom_args(c, in,
				  proc == REMOTE_PROC_DOMAIN_DESTROY_FLAGS
					  ? "virDomainDestroyFlags"
				  : proc == REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS
					  ? "virDomainShutdownFlags"
					  : NULL,
				  shutdown ? VIR_DOMAIN_SHUTDOWN_KNOWN
					   : VIR_DOMAIN_DESTROY_KNOWN,
				  &flags, e);

	(void)out;
	if (v == NULL)
		return -1;
	/*
	 * kvmmu's machines have no ACPI power button and no guest agent: a
	 * plain shutdown sends CTRL+ALT+DEL (vms_shutdown); one that names
	 * either mode is refused, not turned into another (docs/libvirt.md).
	 */
	if (shutdown && (flags & VIR_DOMAIN_SHUTDOWN_GUEST_AGENT))
		return lverr_set(e, LV_ERR_ARGUMENT_UNSUPPORTED,
				 "shutdown --mode agent: kvmmu's machines have "
				 "no guest agent");
	if (shutdown && (flags & VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN))
		return lverr_set(e, LV_ERR_ARGUMENT_UNSUPPORTED,
				 "shutdown --mode acpi: kvmmu's machines have "
				 "no ACPI power button");
	if (!shutdown && v->vd_pid > 0 && v->vd_id >= 0) {
		/* A destroy already under way keeps its SIGKILL. */
		bool graceful = flags & VIR_DOMAIN_DESTROY_GRACEFUL;

		v->vd_graceful =
			v->vd_stopping ? v->vd_graceful && graceful : graceful;
		v->vd_remove_logs |=
			(flags & VIR_DOMAIN_DESTROY_REMOVE_LOGS) != 0;
	}
	return vms_stop(c->c_d, c, proc, serial, v, shutdown, e);
}

static int p_pause(struct vconn *c, uint32_t proc, uint32_t serial,
		   struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	struct vdom *v = dom_args(c, in, NULL, 0, NULL, e);

	(void)serial;
	(void)out;
	if (v == NULL)
		return -1;
	return vms_pause(c->c_d, v, proc == REMOTE_PROC_DOMAIN_SUSPEND, e);
}

/*
 * Which XML a metadata call means (VIR_DOMAIN_AFFECT_* bits), or -1 with
 * e, as libvirt's virDomainObjUpdateModificationImpact decides: neither
 * flag means the live XML of an active domain, else the definition;
 * --live needs an active domain and --config a persistent one, checked
 * before anything is read or changed.  one: a get, which takes one.
 */
static int meta_target(struct vdom *v, uint32_t flags, bool one,
		       struct lverr *e)
{
	bool active = v->vd_id >= 0;

	flags &= VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG;
	if (one && flags == (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG))
		return lverr_set(e, LV_ERR_INVALID_ARG,
				 "Flags 'VIR_DOMAIN_AFFECT_LIVE' and "
				 "'VIR_DOMAIN_AFFECT_CONFIG' are mutually "
				 "exclusive");
	if (flags == 0)
		flags = active ? VIR_DOMAIN_AFFECT_LIVE
			       : VIR_DOMAIN_AFFECT_CONFIG;
	if ((flags & VIR_DOMAIN_AFFECT_LIVE) && !active)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is not running", v->vd_name);
	if ((flags & VIR_DOMAIN_AFFECT_CONFIG) && v->vd_config == NULL)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is transient: transient domains "
				 "do not have any persistent config",
				 v->vd_name);
	if ((flags & VIR_DOMAIN_AFFECT_LIVE) && v->vd_live == NULL)
		return lverr_set(e, LV_ERR_INTERNAL_ERROR,
				 "domain '%s' is running without live XML",
				 v->vd_name);
	return (int)flags;
}

/* libvirt's virDomainMetadataType: description, title, element. */
static int meta_type(int type, const char *uri, struct lverr *e)
{
	if (type < 0 || type > VIR_DOMAIN_METADATA_ELEMENT)
		return lverr_set(e, LV_ERR_INVALID_ARG,
				 "unknown metadata type '%d'", type);
	if (type == VIR_DOMAIN_METADATA_ELEMENT && uri == NULL)
		return lverr_set(e, LV_ERR_INVALID_ARG,
				 "metadata: an element needs a namespace uri");
	return 0;
}

/*
 * A live change: the new live XML, and for kvmmu's own namespace its
 * zap control applied through mmu-server first, so the VM and its XML
 * never disagree (memslot -> all is refused there, and here).
 */
static int meta_live(struct virtd *d, struct vdom *v, int type,
		     const char *value, const char *key, const char *uri,
		     struct lverr *e)
{
	char *live = strdup(v->vd_live), *zap = NULL, path[4200];
	struct lverr none = {0};

	if (live == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	if (store_set_metadata(&live, type, value, key, uri, e) < 0) {
		free(live);
		return -1;
	}
	if (type == VIR_DOMAIN_METADATA_ELEMENT && uri &&
	    strcmp(uri, KVMMU_XMLNS) == 0) {
		zap = store_get_metadata(live, type, uri, &none);
		if (vms_apply_zap(d, v, zap ? zap : "", e) < 0) {
			free(zap);
			free(live);
			return -1;
		}
		free(zap);
	}
	free(v->vd_live);
	v->vd_live = live;
	return store_write_live(&d->d_store, v, path, sizeof(path), e);
}

static int p_set_meta(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	struct vdom *v = get_dom(c, in, e);
	int type = xdr_get_i32(in), where = 0, r = 0;
	char *value = xdr_get_opt_string(in, REMOTE_STRING_MAX);
	char *key = xdr_get_opt_string(in, REMOTE_STRING_MAX);
	char *uri = xdr_get_opt_string(in, REMOTE_STRING_MAX);
	uint32_t flags = xdr_get_u32(in);

	(void)proc;
	(void)serial;
	(void)out;
	if (!xdr_in_done(in))
		r = bad_args(e);
	else if (check_flags(flags,
			     VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG,
			     "virDomainSetMetadata", e) < 0 ||
		 v == NULL || meta_type(type, uri, e) < 0 ||
		 (where = meta_target(v, flags, false, e)) < 0)
		r = -1;
	if (r == 0 && value != NULL && value[0] == '\0') {
		free(value); /* empty removes, as libvirt has it */
		value = NULL;
	}
	if (r == 0 && (where & VIR_DOMAIN_AFFECT_LIVE))
		r = meta_live(c->c_d, v, type, value, key, uri, e);
	if (r == 0 && (where & VIR_DOMAIN_AFFECT_CONFIG)) {
		r = store_set_metadata(&v->vd_config, type, value, key, uri, e);
		if (r == 0)
			r = store_save(&c->c_d->d_store, v, e);
	}
	if (r == 0)
		events_metadata(c->c_d, v, type,
				type == VIR_DOMAIN_METADATA_ELEMENT ? uri
								    : NULL);
	free(value);
	free(key);
	free(uri);
	return r;
}

static int p_get_meta(struct vconn *c, uint32_t proc, uint32_t serial,
		      struct xdr_in *in, struct xdr_out *out, struct lverr *e)
{
	struct vdom *v = get_dom(c, in, e);
	int type = xdr_get_i32(in), where = 0;
	char *uri = xdr_get_opt_string(in, REMOTE_STRING_MAX), *m = NULL;
	uint32_t flags = xdr_get_u32(in);

	(void)proc;
	(void)serial;
	if (!xdr_in_done(in)) {
		free(uri);
		return bad_args(e);
	}
	if (check_flags(flags,
			VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG,
			"virDomainGetMetadata", e) == 0 &&
	    v != NULL && meta_type(type, uri, e) == 0 &&
	    (where = meta_target(v, flags, true, e)) >= 0)
		m = store_get_metadata(where & VIR_DOMAIN_AFFECT_LIVE
					       ? v->vd_live
					       : v->vd_config,
				       type, uri, e);
	free(uri);
	if (m == NULL)
		return -1;
	xdr_put_string(out, m);
	free(m);
	return 0;
}

static int p_event_register(struct vconn *c, uint32_t proc, uint32_t serial,
			    struct xdr_in *in, struct xdr_out *out,
			    struct lverr *e)
{
	int id = xdr_get_i32(in);
	bool one = xdr_get_bool(in);
	struct vdom *v = one ? get_dom(c, in, e) : NULL;
	struct vcallback *cb;

	(void)proc;
	(void)serial;
	if (!xdr_in_done(in))
		return bad_args(e);
	if (one && v == NULL)
		return -1;
	if (id < 0 || id >= VIR_DOMAIN_EVENT_ID_LAST)
		return lverr_set(e, LV_ERR_INVALID_ARG, "event id %d unknown",
				 id);
	if (c->c_ncbs == VIRTD_MAX_CALLBACKS)
		return lverr_set(e, LV_ERR_OPERATION_FAILED,
				 "%d event callbacks on this connection "
				 "already",
				 VIRTD_MAX_CALLBACKS);
	cb = &c->c_cbs[c->c_ncbs++];
	cb->cb_id = c->c_d->d_next_cb++;
	cb->cb_event = id;
	cb->cb_any = !one;
	if (one)
		memcpy(cb->cb_uuid, v->vd_uuid, 16);
	xdr_put_i32(out, cb->cb_id);
	return 0;
}

static int p_event_deregister(struct vconn *c, uint32_t proc, uint32_t serial,
			      struct xdr_in *in, struct xdr_out *out,
			      struct lverr *e)
{
	int id = xdr_get_i32(in);

	(void)proc;
	(void)serial;
	(void)out;
	ARGS_DONE(in, e);
	for (unsigned i = 0; i < c->c_ncbs; i++) {
		if (c->c_cbs[i].cb_id != id)
			continue;
		c->c_cbs[i] = c->c_cbs[--c->c_ncbs];
		return 0;
	}
	return lverr_set(e, LV_ERR_INVALID_ARG, "no event callback %d", id);
}

static const struct proc_row {
	uint32_t pr_num;
	proc_fn *pr_fn;
	unsigned pr_flags;
} procs[] = {
	{REMOTE_PROC_CONNECT_OPEN, p_open, P_PREOPEN},
	{REMOTE_PROC_CONNECT_CLOSE, p_void, P_PREOPEN},
	{REMOTE_PROC_AUTH_LIST, p_auth_list, P_PREOPEN},
	{REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, p_feature, P_PREOPEN},
	{REMOTE_PROC_CONNECT_GET_TYPE, p_get_type, 0},
	{REMOTE_PROC_CONNECT_GET_VERSION, p_version, 0},
	{REMOTE_PROC_CONNECT_GET_LIB_VERSION, p_version, 0},
	{REMOTE_PROC_CONNECT_GET_HOSTNAME, p_hostname, 0},
	{REMOTE_PROC_CONNECT_GET_URI, p_get_uri, 0},
	{REMOTE_PROC_CONNECT_IS_SECURE, p_is_secure, 0},
	{REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, p_void, 0},
	{REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, p_void, 0},
	{REMOTE_PROC_NODE_GET_SECURITY_MODEL, p_secmodel, 0},
	{REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, p_list_all, 0},
	{REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, p_lookup_id, 0},
	{REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, p_lookup_name, 0},
	{REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, p_lookup_uuid, 0},
	{REMOTE_PROC_DOMAIN_GET_INFO, p_get_info, 0},
	{REMOTE_PROC_DOMAIN_GET_STATE, p_get_state, 0},
	{REMOTE_PROC_DOMAIN_GET_XML_DESC, p_xml_desc, 0},
	{REMOTE_PROC_DOMAIN_GET_OS_TYPE, p_os_type, 0},
	{REMOTE_PROC_DOMAIN_IS_ACTIVE, p_dom_int, 0},
	{REMOTE_PROC_DOMAIN_IS_PERSISTENT, p_dom_int, 0},
	{REMOTE_PROC_DOMAIN_GET_AUTOSTART, p_dom_int, 0},
	{REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, p_dom_int, 0},
	{REMOTE_PROC_DOMAIN_SNAPSHOT_NUM, p_dom_int, 0},
	{REMOTE_PROC_DOMAIN_GET_MESSAGES, p_messages, 0},
	{REMOTE_PROC_DOMAIN_GET_METADATA, p_get_meta, 0},
	{REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
	 p_event_register, 0},
	{REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
	 p_event_deregister, 0},
	{REMOTE_PROC_DOMAIN_DEFINE_XML, p_define, P_WRITE},
	{REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS, p_define, P_WRITE},
	{REMOTE_PROC_DOMAIN_UNDEFINE, p_undefine, P_WRITE},
	{REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, p_undefine, P_WRITE},
	{REMOTE_PROC_DOMAIN_CREATE, p_create, P_WRITE},
	{REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, p_create, P_WRITE},
	{REMOTE_PROC_DOMAIN_DESTROY, p_stop, P_WRITE},
	{REMOTE_PROC_DOMAIN_DESTROY_FLAGS, p_stop, P_WRITE},
	{REMOTE_PROC_DOMAIN_SHUTDOWN, p_stop, P_WRITE},
	{REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, p_stop, P_WRITE},
	{REMOTE_PROC_DOMAIN_SUSPEND, p_pause, P_WRITE},
	{REMOTE_PROC_DOMAIN_RESUME, p_pause, P_WRITE},
	{REMOTE_PROC_DOMAIN_SET_METADATA, p_set_meta, P_WRITE},
};

int procs_call(struct vconn *c, uint32_t proc, uint32_t serial,
	       struct xdr_in *args, struct xdr_out *ret, struct lverr *e)
{
	const struct proc_row *row = NULL;

	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		if (procs[i].pr_num == proc)
			row = &procs[i];
	}
	if (row == NULL)
		return lverr_set(
			e, LV_ERR_NO_SUPPORT,
			"this function is not supported by the "
			"connection driver: procedure %u (kvmmu-virtd)",
			proc);
	if (!c->c_open && !(row->pr_flags & P_PREOPEN))
		return lverr_set(e, LV_ERR_RPC,
				 "procedure %u before CONNECT_OPEN", proc);
	if (c->c_ro && (row->pr_flags & P_WRITE))
		return lverr_set(e, LV_ERR_OPERATION_DENIED,
				 "operation forbidden: read only access "
				 "prevents procedure %u",
				 proc);
	return row->pr_fn(c, proc, serial, args, ret, e);
}
