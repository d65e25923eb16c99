/*
 * vms.c: running domains.  Each runs in a vmm-frontend this daemon
 * starts from the domain's live XML as a uid of the domain's own (so
 * that mmu-server, which owns VMs by the uid that connected, bounds each
 * domain alone; with --domain-uids 0:0, as root, and it drops to nobody),
 * in a session of its own so that a restart of the daemon leaves it
 * running; a pidfd tells when it ends.  Pause, resume and live zap
 * control go through mmu-server's admin API, where the VM lives.  A
 * start is answered once mmu-server runs the VM, a destroy once the
 * frontend is gone, without holding up the event loop meanwhile.
 * mmu-server is the truth about VMs: its list, read by a thread every
 * half second, brings in what its admin API changed (pause, resume,
 * destroy) and VMs run for our definitions by anyone (adopted by UUID).
 * Trust: privileged; names and XML were checked by store.c; mmu-server's
 * list names frontends by pid, which are only watched and signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <grp.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin_client.h"
#include "domain.h"
#include "grant.h"
#include "rpcdefs.h"
#include "virtd.h"
#include "zap.h"

#define ADMIN_TIMEOUT_MS 5000
#define PENDING_TICK_MS	 50
#define START_TICKS	 600 /* 30 s for the VM to show up */
#define STOP_TICKS	 200 /* 10 s after SIGINT, then SIGKILL */
/*
 * mmu-server's list of VMs is read every POLL_MS by a thread of its own,
 * so that a change made through the admin API (mmuctl pause, resume,
 * destroy) or a VM run for one of our definitions outside this daemon
 * reaches virsh as state and events within that time, and a server that
 * does not answer never holds up the event loop.  After a failure, the
 * next try waits POLL_BACKOFF_MS.
 */
#define POLL_MS		500
#define POLL_TIMEOUT_MS 2000
#define POLL_BACKOFF_MS 5000

typedef Kvmmu__Admin__V1__ListVmsReply listrep;
typedef Kvmmu__Admin__V1__VmSummary vmsum;

/*
 * Generations order what this daemon did against what it learned: each
 * change the loop makes to a domain takes the next generation, and a
 * list of VMs read before that change (an older generation) says
 * nothing about that domain any more.
 */
static _Atomic uint64_t vms_gen = 1;

static void vdom_changed(struct vdom *v)
{
	v->vd_gen = atomic_fetch_add(&vms_gen, 1) + 1;
}

/* One admin call by method name; 0, or -1 with e. */
static int admin_to(struct virtd *d, const char *method,
		    const ProtobufCMessage *req, ProtobufCMessage **rep,
		    int timeout_ms, struct lverr *e)
{
	struct admin_client ac;
	char target[4200];
	grpc_status_code code;

	*rep = NULL;
	snprintf(target, sizeof(target), "unix:%s", d->d_admin_socket);
	if (admin_client_open(&ac, target, timeout_ms) < 0) {
		admin_client_close(&ac);
		return lverr_set(e, LV_ERR_OPERATION_FAILED,
				 "mmu-server's admin API at %s: no channel",
				 d->d_admin_socket);
	}
	code = admin_call(&ac, &kvmmu__admin__v1__admin__descriptor, method,
			  req, rep);
	if (code != GRPC_STATUS_OK)
		lverr_set(e,
			  code == GRPC_STATUS_FAILED_PRECONDITION
				  ? LV_ERR_OPERATION_INVALID
				  : LV_ERR_OPERATION_FAILED,
			  "mmu-server %s: %s: %s", method,
			  admin_status_name(code), ac.ac_msg);
	admin_client_close(&ac);
	return code == GRPC_STATUS_OK ? 0 : -1;
}

static int admin(struct virtd *d, const char *method,
		 const ProtobufCMessage *req, ProtobufCMessage **rep,
		 struct lverr *e)
{
	return admin_to(d, method, req, rep, ADMIN_TIMEOUT_MS, e);
}

static int admin_list(struct virtd *d, listrep **rep, int timeout_ms,
		      struct lverr *e)
{
	Kvmmu__Admin__V1__ListVmsRequest req =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;

	return admin_to(d, "ListVms", &req.base, (ProtobufCMessage **)rep,
			timeout_ms, e);
}

/* Whether s is v's VM: its UUID (in either case) and name. */
static bool summary_is(const vmsum *s, const struct vdom *v)
{
	uint8_t u[16];

	return s->uuid != NULL && s->name != NULL &&
	       store_uuid_parse(s->uuid, u) == 0 &&
	       memcmp(u, v->vd_uuid, 16) == 0 &&
	       strcmp(s->name, v->vd_name) == 0 &&
	       (v->vd_vm_id == 0 || !s->has_id || s->id == v->vd_vm_id);
}

/* The VM mmu-server runs for v, or NULL (rep to free with it). */
static vmsum *admin_find(struct virtd *d, struct vdom *v, listrep **rep,
			 struct lverr *e)
{
	if (admin_list(d, rep, ADMIN_TIMEOUT_MS, e) < 0)
		return NULL;
	for (size_t i = 0; i < (*rep)->n_vms; i++) {
		if (summary_is((*rep)->vms[i], v))
			return (*rep)->vms[i];
	}
	return NULL;
}

/* Whether the admin API's DestroyVm ended v's VM (ListVmsReply.destroyed). */
static bool destroyed_by_admin(const listrep *rep, const struct vdom *v)
{
	for (size_t i = 0; v->vd_vm_id != 0 && i < rep->n_destroyed; i++) {
		if (rep->destroyed[i]->id == v->vd_vm_id &&
		    summary_is(rep->destroyed[i], v))
			return true;
	}
	return false;
}

/* The admin API's reference to v's VM: its id once known (names repeat). */
static void vm_ref(const struct vdom *v, Kvmmu__Admin__V1__VmRef *ref)
{
	if (v->vd_vm_id != 0) {
		ref->has_id = 1;
		ref->id = v->vd_vm_id;
	} else {
		ref->name = (char *)v->vd_name;
	}
}

static void pending_free(struct virtd *d, struct vpending *p)
{
	TAILQ_REMOVE(&d->d_pending, p, p_entry);
	event_free(p->p_timer);
	free(p);
}

/* Answers p (e NULL: success) and forgets it. */
static void pending_done(struct virtd *d, struct vpending *p,
			 const struct lverr *e)
{
	struct xdr_out x;

	if (p->p_c != NULL && e != NULL) {
		vconn_error(p->p_c, REMOTE_PROGRAM, p->p_proc, p->p_serial, e);
	} else if (p->p_c != NULL) {
		xdr_out_init(&x);
		/* DOMAIN_CREATE_WITH_FLAGS returns the domain, CREATE nothing.
		 */
		if (p->p_proc == REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS)
			xdr_put_domain(&x, p->p_dom);
		vconn_reply(p->p_c, p->p_proc, p->p_serial, &x);
		xdr_out_free(&x);
	}
	pending_free(d, p);
}

static void vdom_unwatch(struct virtd *d, struct vdom *v)
{
	(void)d;
	if (v->vd_watch != NULL)
		event_free(v->vd_watch);
	v->vd_watch = NULL;
	if (v->vd_pidfd >= 0)
		close(v->vd_pidfd);
	v->vd_pidfd = -1;
}

/*
 * Why a frontend that nobody here stopped ended: the admin API's
 * DestroyVm (mmuctl destroy) ended its VM, which mmu-server remembers;
 * else its exit status: 0 the guest's own end (after a shutdown request,
 * its shutdown).  After a shutdown request, 143 is the frontend ending a
 * guest that could not be asked (a payload) or did not shut down within
 * its --shutdown-timeout: the end the request asked for, reported as a
 * shutdown too (the domain's log says which).  An adopted frontend is
 * not our child and its status is not ours to read (status -1): a
 * shutdown, as before.
 */
static int exit_detail(struct virtd *d, struct vdom *v, int status)
{
	listrep *rep = NULL;
	struct lverr e = {0};
	bool destroyed = false;

	if (v->vd_vm_id != 0 && admin_list(d, &rep, POLL_TIMEOUT_MS, &e) == 0) {
		destroyed = destroyed_by_admin(rep, v);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	if (destroyed) {
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': mmu-server's admin API "
			"destroyed its VM %u\n",
			v->vd_name, v->vd_vm_id);
		return VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
	}
	if (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		return VIR_DOMAIN_EVENT_STOPPED_CRASHED;
	if (v->vd_shutdown && WIFEXITED(status) && WEXITSTATUS(status) == 143)
		return VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
	return VIR_DOMAIN_EVENT_STOPPED_FAILED;
}

/* The frontend ended: the domain is off; say why, answer waiters. */
static void vdom_exited(struct virtd *d, struct vdom *v, int status)
{
	struct vpending *p, *next;
	struct lverr e = {0};
	int detail;
	char *log;

	static const int off_reason[] = {
		[VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = 1,
		[VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = 2,
		[VIR_DOMAIN_EVENT_STOPPED_CRASHED] = 3,
		[VIR_DOMAIN_EVENT_STOPPED_FAILED] = 6,
	};

	detail = v->vd_stopping ? v->vd_stop_event : exit_detail(d, v, status);
	fprintf(stderr,
		"kvmmu-virtd: domain '%s': vmm-frontend pid %d ended "
		"(status 0x%x)\n",
		v->vd_name, (int)v->vd_pid, status);
	vdom_unwatch(d, v);
	v->vd_pid = 0;
	v->vd_stopping = v->vd_gone = v->vd_graceful = v->vd_shutdown = false;
	v->vd_vm_id = 0;
	lverr_set(&e, LV_ERR_OPERATION_FAILED,
		  "domain '%s': vmm-frontend exited before mmu-server ran the "
		  "VM; see %s/log/%s.log",
		  v->vd_name, d->d_store.st_dir, v->vd_name);
	for (p = TAILQ_FIRST(&d->d_pending); p; p = next) {
		next = TAILQ_NEXT(p, p_entry);
		if (p->p_dom == v)
			pending_done(d, p, p->p_start ? &e : NULL);
	}
	if (v->vd_remove_logs && asprintf(&log, "%s/log/%s.log",
					  d->d_store.st_dir, v->vd_name) > 0) {
		unlink(log);
		free(log);
	}
	v->vd_remove_logs = false;
	v->vd_off_reason = off_reason[detail];
	if (v->vd_id >= 0)
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_STOPPED, detail);
	v->vd_id = -1;
	v->vd_state = VS_SHUTOFF;
	vdom_changed(v);
	grant_revoke(d, v); /* from the live XML it ran: before it goes */
	store_drop_live(&d->d_store, v);
	if (v->vd_config == NULL) /* undefined while it ran */
		store_forget(&d->d_store, v);
}

static void on_exit_fd(evutil_socket_t fd, short what, void *arg)
{
	struct vdom *v = arg;
	int status = 0;

	(void)fd;
	(void)what;
	/* Our child: reap it.  An adopted one: its own parent reaps it. */
	if (waitpid(v->vd_pid, &status, WNOHANG) <= 0)
		status = -1;
	vdom_exited(v->vd_daemon, v, status);
}

static int vdom_watch(struct virtd *d, struct vdom *v, struct lverr *e)
{
	v->vd_pidfd = pidfd_open(v->vd_pid, 0);
	if (v->vd_pidfd < 0)
		return lverr_set(e, LV_ERR_OPERATION_FAILED,
				 "pidfd_open(%d): %s", (int)v->vd_pid,
				 strerror(errno));
	v->vd_daemon = d;
	v->vd_watch = event_new(d->d_base, v->vd_pidfd, EV_READ, on_exit_fd, v);
	if (v->vd_watch == NULL || event_add(v->vd_watch, NULL) < 0) {
		vdom_unwatch(d, v);
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	}
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg);

static int pending_new(struct virtd *d, struct vconn *c, uint32_t proc,
		       uint32_t serial, struct vdom *v, bool start,
		       struct lverr *e)
{
	struct vpending *p = calloc(1, sizeof(*p));
	struct timeval tv = {0, PENDING_TICK_MS * 1000};

	if (p == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	p->p_c = c;
	p->p_proc = proc;
	p->p_serial = serial;
	p->p_dom = v;
	p->p_start = start;
	p->p_ticks = start ? START_TICKS : STOP_TICKS;
	p->p_timer = event_new(d->d_base, -1, EV_PERSIST, on_tick, p);
	if (p->p_timer == NULL || event_add(p->p_timer, &tv) < 0) {
		if (p->p_timer)
			event_free(p->p_timer);
		free(p);
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	}
	TAILQ_INSERT_TAIL(&d->d_pending, p, p_entry);
	return PROC_DEFERRED;
}

/*
 * A stop's 10 s are up.  A plain one kills; a graceful one (destroy
 * --graceful: "only SIGINT, no SIGKILL") fails as libvirt's does, and
 * the domain goes on running unless another stop still waits.
 */
static void stop_overdue(struct virtd *d, struct vpending *p)
{
	struct vdom *v = p->p_dom;
	struct vpending *q;
	struct lverr e = {0};

	if (!v->vd_graceful) {
		kill(v->vd_pid, SIGKILL); /* the exit answers p */
		return;
	}
	lverr_set(&e, LV_ERR_SYSTEM_ERROR,
		  "Failed to terminate process %d with SIGINT (destroy "
		  "--graceful sends no SIGKILL)",
		  (int)v->vd_pid);
	pending_done(d, p, &e);
	TAILQ_FOREACH(q, &d->d_pending, p_entry)
	{
		if (q->p_dom == v)
			return;
	}
	v->vd_stopping = v->vd_graceful = v->vd_remove_logs = false;
}

/*
 * A start: does mmu-server run the VM yet?  Answered only once it runs
 * (the frontend's Run came), not when it merely exists: a suspend right
 * after the start must find a VM it can pause.  A stop: time to SIGKILL?
 */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vpending *p = arg;
	struct vdom *v = p->p_dom;
	struct virtd *d = v->vd_daemon;
	listrep *rep;
	struct lverr e = {0};
	vmsum *s;
	bool paused = false, up = false;

	(void)fd;
	(void)what;
	if (!p->p_start) {
		if (--p->p_ticks == 0 && v->vd_pid > 0)
			stop_overdue(d, p);
		return;
	}
	s = admin_find(d, v, &rep, &e);
	if (s != NULL && s->state != NULL) {
		paused = strcmp(s->state, "paused") == 0;
		up = paused || strcmp(s->state, "running") == 0;
		if (up)
			v->vd_vm_id = s->id;
	}
	if (rep != NULL)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	if (up) {
		/* Paused already: through the admin API, not by us. */
		v->vd_state = paused ? VS_PAUSED : VS_RUNNING;
		v->vd_reason = paused ? VIR_DOMAIN_PAUSED_UNKNOWN
				      : VIR_DOMAIN_RUNNING_BOOTED;
		v->vd_id = d->d_store.st_next_id++;
		vdom_changed(v);
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_STARTED,
				 VIR_DOMAIN_EVENT_STARTED_BOOTED);
		if (paused)
			events_lifecycle(d, v, VIR_DOMAIN_EVENT_SUSPENDED,
					 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
		pending_done(d, p, NULL);
	} else if (--p->p_ticks == 0) {
		lverr_set(&e, LV_ERR_OPERATION_FAILED,
			  "domain '%s': mmu-server had no running VM for it "
			  "after %d s; see %s/log/%s.log",
			  v->vd_name, START_TICKS * PENDING_TICK_MS / 1000,
			  d->d_store.st_dir, v->vd_name);
		pending_done(d, p, &e);
		v->vd_stopping = true;
		v->vd_stop_event = VIR_DOMAIN_EVENT_STOPPED_FAILED;
		kill(v->vd_pid, SIGKILL);
	}
}

/* root's, or one of --domain-uids: a VM one of our frontends runs. */
static bool uid_ours(const struct virtd *d, uint32_t uid)
{
	return uid == 0 ||
	       (uid >= d->d_uid_base && uid - d->d_uid_base < d->d_uid_count);
}

/*
 * The lowest uid of the range that no running domain has; 0: the range
 * is off (or full, which start refuses).
 */
static uid_t uid_pick(const struct virtd *d)
{
	for (uint32_t i = 0; i < d->d_uid_count; i++) {
		uid_t u = (uid_t)(d->d_uid_base + i);
		const struct vdom *w;
		bool used = false;

		TAILQ_FOREACH(w, &d->d_store.st_doms, vd_entry)
		used |= w->vd_pid > 0 && w->vd_uid == u;
		if (!used)
			return u;
	}
	return 0;
}

/*
 * The child becomes the domain's uid before the frontend runs, so that
 * mmu-server sees that uid connect.  Its groups: only the one mmu-server's
 * socket is for (its file's group), so that it may connect.  The live XML
 * (in a directory only root reads) comes as stdin.
 */
static void child_become(struct virtd *d, struct vdom *v, const char *xml)
{
	struct stat st;
	gid_t g;
	int fd = open(xml, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
		fprintf(stderr, "kvmmu-virtd: %s: %s\n", xml, strerror(errno));
		_exit(127);
	}
	if (stat(d->d_mmu_socket, &st) < 0) {
		fprintf(stderr, "kvmmu-virtd: %s: %s\n", d->d_mmu_socket,
			strerror(errno));
		_exit(127);
	}
	g = st.st_gid;
	if (setgroups(1, &g) < 0 || setgid((gid_t)v->vd_uid) < 0 ||
	    setuid(v->vd_uid) < 0 || setuid(0) == 0) {
		fprintf(stderr, "kvmmu-virtd: becoming uid %u: %s\n",
			(unsigned)v->vd_uid, strerror(errno));
		_exit(127);
	}
}

/* The child: a session of its own, output to the domain's log. */
static void spawn_child(struct virtd *d, struct vdom *v, const char *xml)
{
	char log[4200];
	int fd;

	setsid();
	snprintf(log, sizeof(log), "%s/log/%s.log", d->d_store.st_dir,
		 v->vd_name);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (v->vd_uid != 0) {
		child_become(d, v, xml); /* the XML is stdin now */
	} else {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
	}
	execl(d->d_frontend, "vmm-frontend", "--socket", d->d_mmu_socket,
	      "--domain-xml", v->vd_uid != 0 ? "-" : xml, (char *)NULL);
	fprintf(stderr, "kvmmu-virtd: exec %s: %s\n", d->d_frontend,
		strerror(errno));
	_exit(127);
}

static void reconcile(struct virtd *d, const listrep *rep, uint64_t gen,
		      bool startup);

/*
 * One truth about v before it starts: a VM mmu-server runs with its UUID
 * (started by hand, or left by a daemon that crashed) is adopted when it
 * is v's, and refused otherwise; mmu-server would refuse the second VM
 * anyway (CreateVm.uuid), but only after a frontend was started.
 */
static int start_check(struct virtd *d, struct vdom *v, struct lverr *e)
{
	uint64_t gen = atomic_load(&vms_gen);
	listrep *rep = NULL;
	struct lverr why = {0};
	const vmsum *other = NULL;
	uint8_t u[16];

	if (admin_list(d, &rep, ADMIN_TIMEOUT_MS, &why) < 0)
		return 0; /* the frontend will say what is wrong */
	reconcile(d, rep, gen, false);
	for (size_t i = 0; v->vd_pid <= 0 && i < rep->n_vms; i++) {
		const vmsum *s = rep->vms[i];

		if (s->uuid && store_uuid_parse(s->uuid, u) == 0 &&
		    memcmp(u, v->vd_uuid, 16) == 0)
			other = s;
	}
	if (v->vd_pid > 0)
		lverr_set(e, LV_ERR_OPERATION_INVALID,
			  "domain '%s' is already running", v->vd_name);
	else if (other != NULL)
		lverr_set(e, LV_ERR_OPERATION_INVALID,
			  "domain '%s': mmu-server already runs VM %u '%s' "
			  "(uid %u, pid %d) with its UUID %s",
			  v->vd_name, other->id,
			  other->name ? other->name : "?", other->owner_uid,
			  (int)other->owner_pid, v->vd_uuid_str);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return v->vd_pid > 0 || other != NULL ? -1 : 0;
}

int vms_start(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	      struct vdom *v, struct lverr *e)
{
	char xml[4200];
	pid_t pid;

	if (v->vd_state != VS_SHUTOFF || v->vd_pid > 0)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is already running", v->vd_name);
	if (v->vd_config == NULL) /* transient ones are forgotten when off */
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' has no definition to start",
				 v->vd_name);
	if (start_check(d, v, e) < 0)
		return -1;
	free(v->vd_live);
	v->vd_live = strdup(v->vd_config);
	if (v->vd_live == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	v->vd_uid = 0;
	if (d->d_uid_count > 0 && geteuid() == 0) {
		v->vd_uid = uid_pick(d);
		if (v->vd_uid == 0)
			return lverr_set(e, LV_ERR_OPERATION_FAILED,
					 "domain '%s': all %u frontend uids "
					 "from %u (--domain-uids) are in use",
					 v->vd_name, d->d_uid_count,
					 d->d_uid_base);
	}
	if (store_write_live(&d->d_store, v, xml, sizeof(xml), e) < 0)
		return -1;
	if (grant_domain(d, v, e) < 0) {
		store_drop_live(&d->d_store, v);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		lverr_set(e, LV_ERR_OPERATION_FAILED, "fork: %s",
			  strerror(errno));
		grant_revoke(d, v);
		store_drop_live(&d->d_store, v);
		return -1;
	}
	if (pid == 0)
		spawn_child(d, v, xml);
	v->vd_pid = pid;
	v->vd_stopping = v->vd_gone = v->vd_shutdown = false;
	v->vd_vm_id = 0;
	vdom_changed(v);
	if (vdom_watch(d, v, e) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		v->vd_pid = 0;
		grant_revoke(d, v);
		store_drop_live(&d->d_store, v);
		return -1;
	}
	if (v->vd_uid != 0)
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': vmm-frontend pid %d, "
			"uid %u\n",
			v->vd_name, (int)pid, (unsigned)v->vd_uid);
	else
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': vmm-frontend pid %d\n",
			v->vd_name, (int)pid);
	if (pending_new(d, c, proc, serial, v, true, e) < 0) {
		/* A start the client is told failed must not run: its exit
		 * (on_exit_fd) takes back the live XML and the watch. */
		v->vd_stopping = true;
		v->vd_stop_event = VIR_DOMAIN_EVENT_STOPPED_FAILED;
		kill(pid, SIGKILL);
		return -1;
	}
	return PROC_DEFERRED;
}

/*
 * virsh shutdown: SIGTERM asks the frontend to ask its guest
 * (vmm-frontend(1): CTRL+ALT+DEL, then its --shutdown-timeout), and the
 * call is answered at once, as libvirt's drivers answer once the request
 * is sent; the domain goes to shut off when the frontend ends, with the
 * reason its status gives (exit_detail).  A second request sends
 * nothing: a second SIGTERM would make the frontend stop the VM at once.
 */
static int vms_shutdown(struct vdom *v, struct lverr *e)
{
	if (v->vd_stopping || v->vd_shutdown)
		return 0;
	if (kill(v->vd_pid, SIGTERM) < 0 && errno != ESRCH)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "kill %d: %s",
				 (int)v->vd_pid, strerror(errno));
	v->vd_shutdown = true;
	fprintf(stderr,
		"kvmmu-virtd: domain '%s': asked the guest to shut down\n",
		v->vd_name);
	return 0;
}

int vms_stop(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	     struct vdom *v, bool shutdown, struct lverr *e)
{
	if (v->vd_pid <= 0 || v->vd_id < 0)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is not running", v->vd_name);
	if (shutdown)
		return vms_shutdown(v, e);
	/*
	 * A destroy is immediate: SIGINT makes the frontend stop the VM at
	 * once (no request to the guest), even while a shutdown request
	 * waits; SIGKILL follows after 10 s.  A destroy already under way
	 * keeps the reason it gave.
	 */
	if (!v->vd_stopping)
		v->vd_stop_event = VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
	v->vd_stopping = true;
	if (kill(v->vd_pid, SIGINT) < 0 && errno != ESRCH)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "kill %d: %s",
				 (int)v->vd_pid, strerror(errno));
	return pending_new(d, c, proc, serial, v, false, e);
}

/* Reads mmu-server's VMs now and takes in what changed. */
static int vms_sync(struct virtd *d, struct lverr *e)
{
	uint64_t gen = atomic_load(&vms_gen);
	listrep *rep = NULL;

	if (admin_list(d, &rep, ADMIN_TIMEOUT_MS, e) < 0)
		return -1;
	reconcile(d, rep, gen, false);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/*
 * Suspend and resume as libvirt's QEMU driver has them: suspending a
 * paused domain does nothing, resuming a running one is
 * VIR_ERR_OPERATION_INVALID.  mmu-server is asked first, so a pause or
 * resume made through its admin API a moment ago counts.
 */
int vms_pause(struct virtd *d, struct vdom *v, bool pause, struct lverr *e)
{
	Kvmmu__Admin__V1__VmRequest req = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef ref = KVMMU__ADMIN__V1__VM_REF__INIT;
	ProtobufCMessage *rep = NULL;

	if (v->vd_id >= 0 && vms_sync(d, e) < 0)
		return -1;
	if (v->vd_id < 0 || v->vd_pid <= 0 || v->vd_stopping || v->vd_gone)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is not running", v->vd_name);
	if (pause && v->vd_state == VS_PAUSED)
		return 0;
	if (!pause && v->vd_state == VS_RUNNING)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is already running", v->vd_name);
	vm_ref(v, &ref);
	req.vm = &ref;
	if (admin(d, pause ? "PauseVm" : "ResumeVm", &req.base, &rep, e) < 0)
		return -1;
	protobuf_c_message_free_unpacked(rep, NULL);
	v->vd_state = pause ? VS_PAUSED : VS_RUNNING;
	v->vd_reason =
		pause ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_UNPAUSED;
	vdom_changed(v);
	events_lifecycle(d, v,
			 pause ? VIR_DOMAIN_EVENT_SUSPENDED
			       : VIR_DOMAIN_EVENT_RESUMED,
			 pause ? VIR_DOMAIN_EVENT_SUSPENDED_PAUSED
			       : VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
	return 0;
}

int vms_apply_zap(struct virtd *d, struct vdom *v, const char *zap_xml,
		  struct lverr *e)
{
	Kvmmu__Admin__V1__SetZapControlRequest req =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef ref = KVMMU__ADMIN__V1__VM_REF__INIT;
	Kvmmu__Admin__V1__ZapControl az = KVMMU__ADMIN__V1__ZAP_CONTROL__INIT;
	ProtobufCMessage *rep = NULL;
	Kvmmu__ZapControl z;
	char err[300];

	if (zap_parse(zap_xml, &z, err, sizeof(err)) < 0)
		return lverr_set(e, LV_ERR_XML_ERROR, "%s", err);
	az.mode = (char *)zap_mode_name(z.mode);
	az.has_batch_window_us = 1;
	az.batch_window_us = z.batch_window_us;
	az.allones = (char *)zap_allones_name(z.allones);
	vm_ref(v, &ref);
	req.vm = &ref;
	req.zap = &az;
	if (admin(d, "SetZapControl", &req.base, &rep, e) < 0)
		return -1;
	protobuf_c_message_free_unpacked(rep, NULL);
	return 0;
}

/*
 * Takes v's VM s, which mmu-server runs and nobody here started: after
 * a restart of the daemon (startup), or run for one of our definitions
 * by hand.  Its frontend is watched by pidfd and goes on.
 */
static void adopt_one(struct virtd *d, struct vdom *v, const vmsum *s,
		      bool startup)
{
	struct lverr e = {0};
	bool paused = s->state && strcmp(s->state, "paused") == 0;

	if (!s->has_owner_pid || s->owner_pid <= 0) {
		snprintf(e.msg, sizeof(e.msg), "mmu-server names no frontend");
		goto fail;
	}
	v->vd_pid = s->owner_pid;
	v->vd_uid = s->has_owner_uid ? s->owner_uid : 0;
	if (vdom_watch(d, v, &e) < 0)
		goto fail;
	/* The live XML it was started from, else the definition. */
	if (v->vd_live == NULL)
		v->vd_live = store_read_live(&d->d_store, v);
	if (v->vd_live == NULL && v->vd_config != NULL)
		v->vd_live = strdup(v->vd_config);
	if (v->vd_live == NULL) {
		vdom_unwatch(d, v);
		snprintf(e.msg, sizeof(e.msg), "no live XML");
		goto fail;
	}
	v->vd_state = paused ? VS_PAUSED : VS_RUNNING;
	/* What a restart lost is unknown; a VM new to us has just booted. */
	v->vd_reason = paused	 ? VIR_DOMAIN_PAUSED_UNKNOWN
		       : startup ? VIR_DOMAIN_RUNNING_UNKNOWN
				 : VIR_DOMAIN_RUNNING_BOOTED;
	v->vd_vm_id = s->id;
	v->vd_stopping = v->vd_gone = false;
	v->vd_id = d->d_store.st_next_id++;
	vdom_changed(v);
	fprintf(stderr,
		"kvmmu-virtd: domain '%s'%s is %s (vmm-frontend pid %d, "
		"mmu-server VM %u): adopted as id %d\n",
		v->vd_name, v->vd_config ? "" : " (transient)",
		startup ? "still running" : "running", (int)v->vd_pid,
		v->vd_vm_id, v->vd_id);
	if (!startup) {
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_STARTED,
				 VIR_DOMAIN_EVENT_STARTED_BOOTED);
		if (paused)
			events_lifecycle(d, v, VIR_DOMAIN_EVENT_SUSPENDED,
					 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
	}
	return;
fail:
	fprintf(stderr,
		"kvmmu-virtd: domain '%s': mmu-server runs its VM %u (frontend "
		"pid %d) but it cannot be adopted: %s\n",
		v->vd_name, s->id, (int)s->owner_pid, e.msg);
	v->vd_pid = 0;
	free(v->vd_live); /* an inactive domain has none */
	v->vd_live = NULL;
	vdom_changed(v);
	if (v->vd_config == NULL)
		store_forget(&d->d_store, v);
}

/* An active domain against what mmu-server says of its VM. */
static void reconcile_active(struct virtd *d, struct vdom *v,
			     const listrep *rep)
{
	const vmsum *s = NULL;

	for (size_t i = 0; s == NULL && i < rep->n_vms; i++) {
		if (summary_is(rep->vms[i], v))
			s = rep->vms[i];
	}
	if (s == NULL && destroyed_by_admin(rep, v)) {
		/* The frontend ends on its own; be sure, and say why. */
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': mmu-server's admin API "
			"destroyed its VM %u\n",
			v->vd_name, v->vd_vm_id);
		v->vd_stopping = true;
		v->vd_stop_event = VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
		kill(v->vd_pid, SIGINT);
		return;
	}
	if (s == NULL) {
		v->vd_gone =
			true; /* its frontend ended it; the exit says how */
		return;
	}
	if (v->vd_vm_id == 0 && s->has_id)
		v->vd_vm_id = s->id;
	if (s->state && strcmp(s->state, "paused") == 0 &&
	    v->vd_state == VS_RUNNING) {
		/* libvirt's reason for a pause it did not make: unknown. */
		v->vd_state = VS_PAUSED;
		v->vd_reason = VIR_DOMAIN_PAUSED_UNKNOWN;
		vdom_changed(v);
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': paused through mmu-server's "
			"admin API\n",
			v->vd_name);
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_SUSPENDED,
				 VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
	} else if (s->state && strcmp(s->state, "running") == 0 &&
		   v->vd_state == VS_PAUSED) {
		v->vd_state = VS_RUNNING;
		v->vd_reason = VIR_DOMAIN_RUNNING_UNKNOWN;
		vdom_changed(v);
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': resumed through "
			"mmu-server's admin API\n",
			v->vd_name);
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_RESUMED,
				 VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
	}
}

/*
 * What mmu-server said (read at generation gen) against the domains:
 * pauses, resumes and destroys made through its admin API, and VMs run
 * for our definitions (by UUID) that nobody here started, which are
 * adopted; a transient domain's VM is ours again through the live XML
 * kept for it.  A domain changed here since gen is left as it is.
 */
static void reconcile(struct virtd *d, const listrep *rep, uint64_t gen,
		      bool startup)
{
	struct vdom *v;
	uint8_t u[16];

	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	{
		if (v->vd_id >= 0 && v->vd_pid > 0 && !v->vd_stopping &&
		    !v->vd_gone && v->vd_gen <= gen)
			reconcile_active(d, v, rep);
	}
	for (size_t i = 0; i < rep->n_vms; i++) {
		const vmsum *s = rep->vms[i];

		if (s->uuid == NULL || s->name == NULL ||
		    store_uuid_parse(s->uuid, u) < 0)
			continue;
		/*
		 * Only VMs of root or of our frontends' uids (no user has
		 * those): a user of mmu-server's socket group who runs a VM
		 * with a domain's UUID does not make it one of our domains.
		 */
		if (!s->has_owner_uid || !uid_ours(d, s->owner_uid)) {
			if (startup)
				fprintf(stderr,
					"kvmmu-virtd: mmu-server runs VM %u "
					"'%s' for uid %u: not ours, left "
					"alone\n",
					s->id, s->name, s->owner_uid);
			continue;
		}
		v = store_by_uuid(&d->d_store, u);
		if (v != NULL && (v->vd_pid > 0 || v->vd_gen > gen))
			continue; /* ours, or changed since */
		if (v == NULL)
			v = store_adopt_live(&d->d_store, s->name, u);
		if (v != NULL && strcmp(v->vd_name, s->name) == 0) {
			adopt_one(d, v, s, startup);
		} else if (startup) {
			fprintf(stderr,
				"kvmmu-virtd: mmu-server runs VM %u '%s' (uuid "
				"%s), which no definition here names: left "
				"alone\n",
				s->id, s->name, s->uuid);
		}
	}
}

/*
 * The poller: a thread that reads mmu-server's VMs every POLL_MS and
 * hands each list (or NULL: the call failed) to the loop through a pipe.
 * All signals are blocked in it: they are the loop's.
 */
struct poll_result {
	uint64_t pr_gen;
	listrep *pr_rep;
	char pr_msg[sizeof(((struct lverr *)0)->msg)];
};

static struct {
	struct virtd *pl_d;
	pthread_t pl_thread;
	bool pl_running;
	int pl_pipe[2]; /* results, thread -> loop (both ends nonblocking) */
	int pl_stop;	/* eventfd: the loop asks the thread to end */
	struct event *pl_ev;
	bool pl_failing; /* the last poll failed (said once) */
} poller = {.pl_pipe = {-1, -1}, .pl_stop = -1};

static void result_free(struct poll_result *r)
{
	if (r->pr_rep != NULL)
		protobuf_c_message_free_unpacked(&r->pr_rep->base, NULL);
	free(r);
}

/*
 * One ListVms on the poller's own channel, kept open while calls succeed
 * (no connection set up twice a second) and made anew after a failure,
 * so that a restarted mmu-server is found at the next try rather than
 * after gRPC's reconnect backoff.
 */
static int poller_list(struct virtd *d, struct admin_client *ac, bool *open,
		       struct poll_result *r)
{
	Kvmmu__Admin__V1__ListVmsRequest req =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	grpc_status_code code;
	char target[4200];

	if (!*open) {
		snprintf(target, sizeof(target), "unix:%s", d->d_admin_socket);
		*open = admin_client_open(ac, target, POLL_TIMEOUT_MS) == 0;
		if (!*open) {
			admin_client_close(ac);
			snprintf(r->pr_msg, sizeof(r->pr_msg), "no channel");
			return -1;
		}
	}
	code = admin_call(ac, &kvmmu__admin__v1__admin__descriptor, "ListVms",
			  &req.base, (ProtobufCMessage **)&r->pr_rep);
	if (code == GRPC_STATUS_OK)
		return 0;
	snprintf(r->pr_msg, sizeof(r->pr_msg), "ListVms: %s: %s",
		 admin_status_name(code), ac->ac_msg);
	admin_client_close(ac);
	*open = false;
	return -1;
}

static void *poller_main(void *arg)
{
	struct virtd *d = arg;
	struct admin_client ac;
	bool open = false;
	int wait_ms = POLL_MS; /* vms_adopt has just listed them */

	for (;;) {
		struct pollfd pf = {.fd = poller.pl_stop, .events = POLLIN};
		struct poll_result *r;

		if (poll(&pf, 1, wait_ms) != 0)
			break; /* asked to stop */
		wait_ms = POLL_BACKOFF_MS;
		if ((r = calloc(1, sizeof(*r))) == NULL)
			continue;
		r->pr_gen = atomic_load(&vms_gen);
		if (poller_list(d, &ac, &open, r) == 0)
			wait_ms = POLL_MS;
		if (write(poller.pl_pipe[1], &r, sizeof(r)) !=
		    (ssize_t)sizeof(r))
			result_free(r); /* the loop is behind: the next one */
	}
	if (open)
		admin_client_close(&ac);
	return NULL;
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct virtd *d = arg;
	struct poll_result *r;

	(void)what;
	while (read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r)) {
		if (r->pr_rep == NULL && !poller.pl_failing)
			fprintf(stderr,
				"kvmmu-virtd: cannot list mmu-server's VMs "
				"(%s): changes made through its admin API are "
				"not seen until it answers\n",
				r->pr_msg);
		else if (r->pr_rep != NULL && poller.pl_failing)
			fprintf(stderr,
				"kvmmu-virtd: mmu-server's VMs listed again\n");
		poller.pl_failing = r->pr_rep == NULL;
		if (r->pr_rep != NULL)
			reconcile(d, r->pr_rep, r->pr_gen, false);
		result_free(r);
	}
}

static void poller_start(struct virtd *d)
{
	sigset_t all, old;
	int r;

	if (pipe2(poller.pl_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (poller.pl_stop = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (poller.pl_ev = event_new(d->d_base, poller.pl_pipe[0],
				      EV_READ | EV_PERSIST, on_poll, d)) ==
		    NULL ||
	    event_add(poller.pl_ev, NULL) < 0) {
		fprintf(stderr,
			"kvmmu-virtd: no poller of mmu-server's VMs (%s): "
			"changes made through its admin API are not seen\n",
			strerror(errno));
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&poller.pl_thread, NULL, poller_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		fprintf(stderr, "kvmmu-virtd: no poller thread: %s\n",
			strerror(r));
		return;
	}
	poller.pl_d = d;
	poller.pl_running = true;
}

static void poller_stop(void)
{
	uint64_t one = 1;
	struct poll_result *r;

	if (poller.pl_running) {
		if (write(poller.pl_stop, &one, sizeof(one)) < 0)
			fprintf(stderr, "kvmmu-virtd: poller: %s\n",
				strerror(errno));
		pthread_join(poller.pl_thread, NULL);
		poller.pl_running = false;
	}
	while (poller.pl_pipe[0] >= 0 &&
	       read(poller.pl_pipe[0], &r, sizeof(r)) == (ssize_t)sizeof(r))
		result_free(r);
	if (poller.pl_ev != NULL)
		event_free(poller.pl_ev);
	poller.pl_ev = NULL;
	for (int i = 0; i < 2; i++) {
		if (poller.pl_pipe[i] >= 0)
			close(poller.pl_pipe[i]);
		poller.pl_pipe[i] = -1;
	}
	if (poller.pl_stop >= 0)
		close(poller.pl_stop);
	poller.pl_stop = -1;
}

void vms_adopt(struct virtd *d)
{
	uint64_t gen = atomic_load(&vms_gen);
	listrep *rep = NULL;
	struct lverr e = {0};

	if (admin_list(d, &rep, ADMIN_TIMEOUT_MS, &e) < 0) {
		fprintf(stderr,
			"kvmmu-virtd: cannot list mmu-server's VMs (%s): "
			"domains still running from before, if any, show as "
			"shut off until it answers\n",
			e.msg);
		poller.pl_failing = true;
	} else {
		reconcile(d, rep, gen, true);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		/* Only with the running domains known: theirs stay. */
		grant_sweep(d);
	}
	poller_start(d);
}

void vms_conn_gone(struct virtd *d, struct vconn *c)
{
	struct vpending *p;

	TAILQ_FOREACH(p, &d->d_pending, p_entry)
	{
		if (p->p_c == c)
			p->p_c = NULL; /* its VM goes on; no one to answer */
	}
}

void vms_release(struct virtd *d)
{
	struct vdom *v;

	poller_stop();
	while (!TAILQ_EMPTY(&d->d_pending))
		pending_free(d, TAILQ_FIRST(&d->d_pending));
	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	vdom_unwatch(d, v);
}
