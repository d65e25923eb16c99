/*
 * test_admin_validate.c: the admin API's method table and its
 * validators.  The table matches admin.proto's services, and a table
 * that does not (a row naming no method, the wrong request or reply
 * type, a row given twice, a method without a row) is refused with a
 * message naming it, whatever the rows' order.  Every method's bad forms
 * are refused by validate.c before any handler, and so is another
 * method's message and a non-canonical encoding; the good forms pass.
 * Trust: test code; no KVM, no server.
 */
#include <errno.h>
#include <string.h>

#include "admin_methods.h"
#include "harness.h"
#include "validate.h"

#define ADMIN(m) "/kvmmu.admin.v1.Admin/" m

/* Decodes len bytes as path's request and validates it, as the server. */
static int check_bytes(const char *path, const uint8_t *buf, size_t len,
		       struct verr *e)
{
	const struct admin_method *m = admin_method_find(path);
	ProtobufCMessage *r;
	int ret;

	if (m == NULL)
		return verr_set(e, ENOSYS, "no row %s", path);
	ret = admin_decode(m, buf, len, &r, e);
	if (ret == 0) {
		ret = validate_admin(m, r, e);
		protobuf_c_message_free_unpacked(r, NULL);
	}
	return ret;
}

/* Sends msg (of any type) as a call of path: 0 or -code with e set. */
static int check_msg(const char *path, const ProtobufCMessage *msg,
		     struct verr *e)
{
	uint8_t buf[1024];
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len > sizeof(buf))
		return verr_set(e, E2BIG, "test message too large");
	protobuf_c_message_pack(msg, buf);
	return check_bytes(path, buf, len, e);
}

/* Expects code (0 = accepted) and, on error, text in the message. */
static void expect(const char *path, const ProtobufCMessage *msg, int code,
		   const char *text, const char *what)
{
	struct verr e = {0};
	int r = check_msg(path, msg, &e);

	if (code == 0) {
		CHECK(r == 0, "%s: refused: %s", what, e.msg);
		return;
	}
	CHECK(r == -code && strstr(e.msg, text) != NULL,
	      "%s: got %d '%s', want %d '%s'", what, r, e.msg, -code, text);
}

static void expect_bytes(const char *path, const uint8_t *buf, size_t len,
			 const char *text, const char *what)
{
	struct verr e = {0};
	int r = check_bytes(path, buf, len, &e);

	CHECK(r == -EINVAL && strstr(e.msg, text) != NULL,
	      "%s: got %d '%s', want EINVAL '%s'", what, r, e.msg, text);
}

/* The table against the descriptors, and broken tables against them. */
static void test_table(void)
{
	struct admin_method t[ADMIN_NMETHODS + 1];
	size_t destroy = 0;
	struct verr e;

	CHECK(admin_methods_check(admin_methods, ADMIN_NMETHODS, &e) == 0,
	      "the table matches admin.proto: %s", e.msg);
	CHECK(admin_method_find(ADMIN("DestroyVm")) != NULL &&
		      admin_method_find("/grpc.health.v1.Health/Check") != NULL,
	      "rows by full name");
	CHECK(admin_method_find(ADMIN("Reboot")) == NULL &&
		      admin_method_find("DestroyVm") == NULL &&
		      admin_method_find("/grpc.health.v1.Health/Watch") == NULL,
	      "no row: not served");
	for (size_t i = 0; i < ADMIN_NMETHODS; i++) {
		t[i] = admin_methods[ADMIN_NMETHODS - 1 - i];
		if (strcmp(t[i].am_path, ADMIN("DestroyVm")) == 0)
			destroy = i;
	}
	CHECK(admin_methods_check(t, ADMIN_NMETHODS, &e) == 0,
	      "rows in any order: no position matters (%s)", e.msg);

	t[destroy].am_path = ADMIN("Reboot");
	CHECK(admin_methods_check(t, ADMIN_NMETHODS, &e) == -EPROTO &&
		      strstr(e.msg, "row /kvmmu.admin.v1.Admin/Reboot: no such "
				    "method"),
	      "a row naming no method: %s", e.msg);
	t[destroy].am_path = ADMIN("DestroyVm");
	t[destroy].am_req = "Kvmmu__Admin__V1__InvalidateRequest";
	CHECK(admin_methods_check(t, ADMIN_NMETHODS, &e) == -EPROTO &&
		      strstr(e.msg, "DestroyVm: request "
				    "Kvmmu__Admin__V1__InvalidateRequest"),
	      "a row with another method's request: %s", e.msg);
	t[destroy].am_req = "Kvmmu__Admin__V1__VmRequest";
	t[destroy].am_reply = "Kvmmu__Admin__V1__GetVmReply";
	CHECK(admin_methods_check(t, ADMIN_NMETHODS, &e) == -EPROTO &&
		      strstr(e.msg, "DestroyVm: reply"),
	      "a row with another method's reply: %s", e.msg);
	t[destroy].am_reply = "Kvmmu__Admin__V1__VmReply";
	t[ADMIN_NMETHODS] = t[destroy];
	CHECK(admin_methods_check(t, ADMIN_NMETHODS + 1, &e) == -EPROTO &&
		      strstr(e.msg, "DestroyVm: given twice"),
	      "a row given twice: %s", e.msg);
	t[destroy] = t[ADMIN_NMETHODS - 1];
	CHECK(admin_methods_check(t, ADMIN_NMETHODS - 1, &e) == -EPROTO &&
		      strstr(e.msg, "/kvmmu.admin.v1.Admin/DestroyVm has no "
				    "row"),
	      "a method without a row: %s", e.msg);
}

static Kvmmu__Admin__V1__VmRef ref_id(uint32_t id)
{
	Kvmmu__Admin__V1__VmRef r = KVMMU__ADMIN__V1__VM_REF__INIT;

	r.has_id = 1;
	r.id = id;
	return r;
}

/* Every method that names a VM: a VmRef with an id or a name. */
static void test_vm_ref(void)
{
	static const char *const paths[] = {
		ADMIN("GetVm"),	     ADMIN("GetStats"),	 ADMIN("PauseVm"),
		ADMIN("ResumeVm"),   ADMIN("DestroyVm"), ADMIN("SetZapControl"),
		ADMIN("Invalidate"),
	};
	Kvmmu__Admin__V1__VmRequest q = KVMMU__ADMIN__V1__VM_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef none = KVMMU__ADMIN__V1__VM_REF__INIT;
	Kvmmu__Admin__V1__VmRef byname = KVMMU__ADMIN__V1__VM_REF__INIT;
	Kvmmu__Admin__V1__VmRef id = ref_id(3);

	/* Their requests all have vm = 1, so a VmRequest stands for each. */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		q.vm = NULL;
		expect(paths[i], &q.base, EINVAL, "vm: give an id or a name",
		       paths[i]);
		q.vm = &none;
		expect(paths[i], &q.base, EINVAL, "vm: give an id or a name",
		       paths[i]);
	}
	q.vm = &id;
	expect(ADMIN("DestroyVm"), &q.base, 0, NULL, "DestroyVm by id");
	byname.name = "one";
	q.vm = &byname;
	expect(ADMIN("GetVm"), &q.base, 0, NULL, "GetVm by name");
}

static void test_zap_control(void)
{
	Kvmmu__Admin__V1__SetZapControlRequest q =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REQUEST__INIT;
	Kvmmu__Admin__V1__ZapControl z = KVMMU__ADMIN__V1__ZAP_CONTROL__INIT;
	Kvmmu__Admin__V1__VmRef id = ref_id(1);

	q.vm = &id;
	expect(ADMIN("SetZapControl"), &q.base, EINVAL, "zap: missing",
	       "no zap");
	q.zap = &z;
	z.mode = "sometimes";
	expect(ADMIN("SetZapControl"), &q.base, EINVAL, "zap.mode",
	       "unknown mode");
	z.mode = NULL;
	z.allones = "zeros";
	expect(ADMIN("SetZapControl"), &q.base, EINVAL, "zap.allones",
	       "unknown all-ones policy");
	z.allones = NULL;
	z.has_batch_window_us = 1;
	z.batch_window_us = 5000000;
	expect(ADMIN("SetZapControl"), &q.base, EINVAL,
	       "zap.batch_window_us: 5000000 exceeds", "window too long");
	z.batch_window_us = 200;
	z.mode = "memslot";
	z.allones = "rom";
	expect(ADMIN("SetZapControl"), &q.base, 0, NULL, "a good policy");
	z.has_batch_window_us = 0;
	z.mode = NULL;
	z.allones = NULL;
	expect(ADMIN("SetZapControl"), &q.base, 0, NULL,
	       "an empty policy changes nothing");
}

static void test_invalidate(void)
{
	Kvmmu__Admin__V1__InvalidateRequest q =
		KVMMU__ADMIN__V1__INVALIDATE_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef id = ref_id(1);
	static const struct {
		uint64_t gpa, size;
		const char *what;
	} bad[] = {
		{0x1001, 0x1000, "unaligned gpa"},
		{0x1000, 0x1001, "unaligned size"},
		{0x1000, 0, "empty"},
		{0xfffffffffffff000ULL, 0x2000, "past 2^64"},
	};

	q.vm = &id;
	expect(ADMIN("Invalidate"), &q.base, EINVAL, "gpa/size", "no range");
	q.has_gpa = q.has_size = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q.gpa = bad[i].gpa;
		q.size = bad[i].size;
		expect(ADMIN("Invalidate"), &q.base, EINVAL,
		       "non-empty page-aligned", bad[i].what);
	}
	q.gpa = 4 << 20;
	q.size = 1 << 20;
	q.has_discard = q.discard = 1;
	expect(ADMIN("Invalidate"), &q.base, 0, NULL, "a good range");
}

static void test_no_fields(void)
{
	Kvmmu__Admin__V1__ListVmsRequest l =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__GetHostRequest h =
		KVMMU__ADMIN__V1__GET_HOST_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckRequest hc =
		GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;

	expect(ADMIN("ListVms"), &l.base, 0, NULL, "ListVms");
	expect(ADMIN("GetHost"), &h.base, 0, NULL, "GetHost");
	expect("/grpc.health.v1.Health/Check", &hc.base, 0, NULL,
	       "Health of the server");
	hc.service = "kvmmu.admin.v1.Admin";
	expect("/grpc.health.v1.Health/Check", &hc.base, 0, NULL,
	       "Health of the admin service");
}

/*
 * A body meant for another method, sent to a destructive one.  gRPC
 * carries no type: such bytes decode as the method's type whenever
 * their fields fit, so what the types do not share must refuse them.
 */
static void test_other_methods_bodies(void)
{
	Kvmmu__Admin__V1__InvalidateRequest iq =
		KVMMU__ADMIN__V1__INVALIDATE_REQUEST__INIT;
	Kvmmu__Admin__V1__SetZapControlRequest zq =
		KVMMU__ADMIN__V1__SET_ZAP_CONTROL_REQUEST__INIT;
	Kvmmu__Admin__V1__ZapControl z = KVMMU__ADMIN__V1__ZAP_CONTROL__INIT;
	Kvmmu__Admin__V1__ListVmsRequest lq =
		KVMMU__ADMIN__V1__LIST_VMS_REQUEST__INIT;
	Kvmmu__Admin__V1__GetHostRequest hq =
		KVMMU__ADMIN__V1__GET_HOST_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckRequest hc =
		GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Kvmmu__Admin__V1__VmRef id = ref_id(1);
	/* SetZapControlRequest{vm{id 1}, zap{mode "all", field 9: 1}} */
	static const uint8_t nested[] = {0x0a, 0x02, 0x08, 0x01, 0x12,
					 0x07, 0x0a, 0x03, 'a',	 'l',
					 'l',  0x48, 0x01};
	struct verr e;

	iq.vm = &id;
	iq.has_gpa = iq.has_size = 1;
	iq.gpa = 4 << 20;
	iq.size = 1 << 20;
	expect(ADMIN("DestroyVm"), &iq.base, EINVAL,
	       "VmRequest: field 2 is not in kvmmu.admin.v1.VmRequest",
	       "an InvalidateRequest as DestroyVm");
	zq.vm = &id;
	zq.zap = &z;
	z.mode = "memslot";
	expect(ADMIN("PauseVm"), &zq.base, EINVAL, "field 2 is not in",
	       "a SetZapControlRequest as PauseVm");
	expect(ADMIN("DestroyVm"), &lq.base, EINVAL, "id or a name",
	       "a ListVmsRequest as DestroyVm");
	expect(ADMIN("DestroyVm"), &hq.base, EINVAL, "id or a name",
	       "a GetHostRequest as DestroyVm");
	hc.service = "kvmmu.admin.v1.Admin";
	CHECK(check_msg(ADMIN("DestroyVm"), &hc.base, &e) == -EINVAL,
	      "a HealthCheckRequest as DestroyVm: %s", e.msg);
	expect_bytes(ADMIN("SetZapControl"), nested, sizeof(nested),
		     "SetZapControlRequest.zap: field 9 is not in",
		     "a field unknown inside a message");
	/* The message itself must be the row's type (validate_admin). */
	CHECK(validate_admin(admin_method_find(ADMIN("DestroyVm")), &hq.base,
			     &e) == -EINVAL &&
		      strstr(e.msg, "takes a Kvmmu__Admin__V1__VmRequest"),
	      "a decoded message of another type: %s", e.msg);
}

/* Bytes protobuf-c would take, but not as they were sent. */
static void test_encoding(void)
{
	/* VmRequest{vm{id = 2^32 + 1}}: protobuf-c reads id 1. */
	static const uint8_t wide[] = {0x0a, 0x06, 0x08, 0x81,
				       0x80, 0x80, 0x80, 0x10};
	/* VmRequest{vm{name = "a\0b"}}: protobuf-c reads "a". */
	static const uint8_t nul[] = {0x0a, 0x05, 0x12, 0x03, 'a', 0, 'b'};
	/* VmRequest{vm{id 1}}, the same field twice: the last one wins. */
	static const uint8_t twice[] = {0x0a, 0x02, 0x08, 0x01,
					0x0a, 0x02, 0x08, 0x02};
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	static const uint8_t good[] = {0x0a, 0x02, 0x08, 0x01};
	struct verr e;

	expect_bytes(ADMIN("DestroyVm"), wide, sizeof(wide),
		     "not in canonical encoding", "a varint wider than id");
	expect_bytes(ADMIN("DestroyVm"), nul, sizeof(nul),
		     "not in canonical encoding", "a NUL in the name");
	expect_bytes(ADMIN("DestroyVm"), twice, sizeof(twice),
		     "not in canonical encoding", "vm given twice");
	expect_bytes(ADMIN("DestroyVm"), junk, sizeof(junk),
		     "undecodable kvmmu.admin.v1.VmRequest", "junk");
	CHECK(check_bytes(ADMIN("DestroyVm"), good, sizeof(good), &e) == 0,
	      "DestroyVm{vm{id 1}} as a client packs it: %s", e.msg);
}

int main(void)
{
	test_table();
	test_vm_ref();
	test_zap_control();
	test_invalidate();
	test_no_fields();
	test_other_methods_bodies();
	test_encoding();
	return checks_report("test_admin_validate");
}
