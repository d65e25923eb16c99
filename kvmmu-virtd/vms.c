/*
 * vms.c: running domains.  Each runs in a vmm-frontend this daemon
 * starts (as root; it drops to nobody itself) from the domain's live XML,
 * in a session of its own so that a restart of the daemon leaves it
 * running; a pidfd tells when it ends.  Pause, resume and live zap
 * control go through mmu-server's admin API, where the VM lives.  A
 * start is answered once mmu-server has the VM, a destroy once the
 * frontend is gone, without holding up the event loop meanwhile.
 * Trust: privileged; names and XML were checked by store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin_client.h"
#include "domain.h"
#include "rpcdefs.h"
#include "virtd.h"
#include "zap.h"

#define ADMIN_TIMEOUT_MS 5000
#define PENDING_TICK_MS	 50
#define START_TICKS	 600 /* 30 s for the VM to show up */
#define STOP_TICKS	 200 /* 10 s after SIGTERM, then SIGKILL */

/* One admin call by method name; 0, or -1 with e. */
static int admin(struct virtd *d, const char *method,
		 const ProtobufCMessage *req, ProtobufCMessage **rep,
		 struct lverr *e)
{
	struct admin_client ac;
	char target[4200];
	grpc_status_code code;

	snprintf(target, sizeof(target), "unix:%s", d->d_admin_socket);
	if (admin_client_open(&ac, target, ADMIN_TIMEOUT_MS) < 0)
		return lverr_set(e, LV_ERR_OPERATION_FAILED,
				 "mmu-server's admin API at %s: no channel",
				 d->d_admin_socket);
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

/* The VM mmu-server runs for v, or NULL (rep to free with it). */
static Kvmmu__Admin__V1__VmSummary *
admin_find(struct virtd *d, struct vdom *v,
	   Kvmmu__Admin__V1__ListVmsReply **rep, struct lverr *e)
{
	Kvmmu__Admin__V1__ListVmsRequest req =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;

	*rep = NULL;
	if (admin(d, "ListVms", &req.base, (ProtobufCMessage **)rep, e) < 0)
		return NULL;
	for (size_t i = 0; i < (*rep)->n_vms; i++) {
		Kvmmu__Admin__V1__VmSummary *s = (*rep)->vms[i];

		if (s->name && strcmp(s->name, v->vd_name) == 0 && s->uuid &&
		    strcmp(s->uuid, v->vd_uuid_str) == 0)
			return s;
	}
	return NULL;
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

/* The frontend ended: the domain is off; say why, answer waiters. */
static void vdom_exited(struct virtd *d, struct vdom *v, int status)
{
	struct vpending *p, *next;
	struct lverr e = {0};
	int detail;

	static const int off_reason[] = {
		[VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = 1,
		[VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = 2,
		[VIR_DOMAIN_EVENT_STOPPED_CRASHED] = 3,
		[VIR_DOMAIN_EVENT_STOPPED_FAILED] = 6,
	};

	if (v->vd_stopping)
		detail = v->vd_stop_event;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		detail = VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		detail = VIR_DOMAIN_EVENT_STOPPED_CRASHED;
	else
		detail = VIR_DOMAIN_EVENT_STOPPED_FAILED;
	fprintf(stderr,
		"kvmmu-virtd: domain '%s': vmm-frontend pid %d ended "
		"(status 0x%x)\n",
		v->vd_name, (int)v->vd_pid, status);
	vdom_unwatch(d, v);
	v->vd_pid = 0;
	v->vd_stopping = false;
	lverr_set(&e, LV_ERR_OPERATION_FAILED,
		  "domain '%s': vmm-frontend exited before mmu-server had the "
		  "VM; see %s/log/%s.log",
		  v->vd_name, d->d_store.st_dir, v->vd_name);
	for (p = TAILQ_FIRST(&d->d_pending); p; p = next) {
		next = TAILQ_NEXT(p, p_entry);
		if (p->p_dom == v)
			pending_done(d, p, p->p_start ? &e : NULL);
	}
	v->vd_off_reason = off_reason[detail];
	if (v->vd_id >= 0)
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_STOPPED, detail);
	v->vd_id = -1;
	v->vd_state = VS_SHUTOFF;
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
		status = 0;
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

/* A start: does mmu-server have the VM yet?  A stop: time to SIGKILL? */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vpending *p = arg;
	struct vdom *v = p->p_dom;
	struct virtd *d = v->vd_daemon;
	Kvmmu__Admin__V1__ListVmsReply *rep;
	struct lverr e = {0};
	bool found;

	(void)fd;
	(void)what;
	if (!p->p_start) {
		if (--p->p_ticks == 0 && v->vd_pid > 0)
			kill(v->vd_pid, SIGKILL); /* the exit answers p */
		return;
	}
	found = admin_find(d, v, &rep, &e) != NULL;
	if (rep != NULL)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	if (found) {
		v->vd_state = VS_RUNNING;
		v->vd_id = d->d_store.st_next_id++;
		events_lifecycle(d, v, VIR_DOMAIN_EVENT_STARTED,
				 VIR_DOMAIN_EVENT_STARTED_BOOTED);
		pending_done(d, p, NULL);
	} else if (--p->p_ticks == 0) {
		lverr_set(&e, LV_ERR_OPERATION_FAILED,
			  "domain '%s': mmu-server had no VM for it after "
			  "%d s; see %s/log/%s.log",
			  v->vd_name, START_TICKS * PENDING_TICK_MS / 1000,
			  d->d_store.st_dir, v->vd_name);
		pending_done(d, p, &e);
		v->vd_stopping = true;
		v->vd_stop_event = VIR_DOMAIN_EVENT_STOPPED_FAILED;
		kill(v->vd_pid, SIGKILL);
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
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execl(d->d_frontend, "vmm-frontend", "--socket", d->d_mmu_socket,
	      "--domain-xml", xml, (char *)NULL);
	fprintf(stderr, "kvmmu-virtd: exec %s: %s\n", d->d_frontend,
		strerror(errno));
	_exit(127);
}

int vms_start(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	      struct vdom *v, struct lverr *e)
{
	char xml[4200];
	pid_t pid;

	if (v->vd_state != VS_SHUTOFF || v->vd_pid > 0)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is already running", v->vd_name);
	free(v->vd_live);
	v->vd_live = strdup(v->vd_config);
	if (v->vd_live == NULL)
		return lverr_set(e, LV_ERR_NO_MEMORY, "out of memory");
	if (store_write_live(&d->d_store, v, xml, sizeof(xml), e) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "fork: %s",
				 strerror(errno));
	if (pid == 0)
		spawn_child(d, v, xml);
	v->vd_pid = pid;
	v->vd_stopping = false;
	if (vdom_watch(d, v, e) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		v->vd_pid = 0;
		store_drop_live(&d->d_store, v);
		return -1;
	}
	fprintf(stderr, "kvmmu-virtd: domain '%s': vmm-frontend pid %d\n",
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

int vms_stop(struct virtd *d, struct vconn *c, uint32_t proc, uint32_t serial,
	     struct vdom *v, bool shutdown, struct lverr *e)
{
	if (v->vd_pid <= 0 || v->vd_id < 0)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is not running", v->vd_name);
	/*
	 * kvmmu's machines have no ACPI power button: a shutdown ends the
	 * VM as a destroy does, and is reported as a shutdown.
	 */
	v->vd_stopping = true;
	v->vd_stop_event = shutdown ? VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
				    : VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
	if (kill(v->vd_pid, SIGTERM) < 0 && errno != ESRCH)
		return lverr_set(e, LV_ERR_OPERATION_FAILED, "kill %d: %s",
				 (int)v->vd_pid, strerror(errno));
	return pending_new(d, c, proc, serial, v, false, e);
}

int vms_pause(struct virtd *d, struct vdom *v, bool pause, struct lverr *e)
{
	Kvmmu__Admin__V1__VmRequest req = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef ref = KVMMU__ADMIN__V1__VM_REF__INIT;
	ProtobufCMessage *rep = NULL;

	if (v->vd_id < 0)
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is not running", v->vd_name);
	if (pause == (v->vd_state == VS_PAUSED))
		return lverr_set(e, LV_ERR_OPERATION_INVALID,
				 "domain '%s' is %s", v->vd_name,
				 pause ? "already paused" : "not paused");
	ref.name = v->vd_name;
	req.vm = &ref;
	if (admin(d, pause ? "PauseVm" : "ResumeVm", &req.base, &rep, e) < 0)
		return -1;
	protobuf_c_message_free_unpacked(rep, NULL);
	v->vd_state = pause ? VS_PAUSED : VS_RUNNING;
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
	ref.name = v->vd_name;
	req.vm = &ref;
	req.zap = &az;
	if (admin(d, "SetZapControl", &req.base, &rep, e) < 0)
		return -1;
	protobuf_c_message_free_unpacked(rep, NULL);
	return 0;
}

/* Adopts one VM mmu-server still runs, if it is one of ours. */
static void adopt_one(struct virtd *d, const Kvmmu__Admin__V1__VmSummary *s)
{
	struct vdom *v = s->name ? store_by_name(&d->d_store, s->name) : NULL;
	struct lverr e = {0};

	if (v == NULL || s->uuid == NULL ||
	    strcmp(s->uuid, v->vd_uuid_str) != 0 || !s->has_owner_pid) {
		fprintf(stderr,
			"kvmmu-virtd: mmu-server runs VM '%s' (uuid %s), "
			"which no definition here names: left alone\n",
			s->name ? s->name : "?", s->uuid ? s->uuid : "?");
		return;
	}
	v->vd_pid = s->owner_pid;
	if (vdom_watch(d, v, &e) < 0) {
		fprintf(stderr,
			"kvmmu-virtd: domain '%s': its VM runs (frontend pid "
			"%d) but cannot be watched: %s\n",
			v->vd_name, (int)v->vd_pid, e.msg);
		v->vd_pid = 0;
		return;
	}
	/* The live XML it was started from, else the definition. */
	v->vd_live = store_read_live(&d->d_store, v);
	if (v->vd_live == NULL)
		v->vd_live = strdup(v->vd_config);
	v->vd_state = s->state && strcmp(s->state, "paused") == 0 ? VS_PAUSED
								  : VS_RUNNING;
	v->vd_id = d->d_store.st_next_id++;
	fprintf(stderr,
		"kvmmu-virtd: domain '%s' is still running (vmm-frontend pid "
		"%d): adopted as id %d\n",
		v->vd_name, (int)v->vd_pid, v->vd_id);
}

void vms_adopt(struct virtd *d)
{
	Kvmmu__Admin__V1__ListVmsRequest req =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__ListVmsReply *rep = NULL;
	struct lverr e = {0};

	if (admin(d, "ListVms", &req.base, (ProtobufCMessage **)&rep, &e) < 0) {
		fprintf(stderr,
			"kvmmu-virtd: cannot list mmu-server's VMs (%s): "
			"domains still running from before, if any, show as "
			"shut off\n",
			e.msg);
		return;
	}
	for (size_t i = 0; i < rep->n_vms; i++)
		adopt_one(d, rep->vms[i]);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
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

	while (!TAILQ_EMPTY(&d->d_pending))
		pending_free(d, TAILQ_FIRST(&d->d_pending));
	TAILQ_FOREACH(v, &d->d_store.st_doms, vd_entry)
	vdom_unwatch(d, v);
}
