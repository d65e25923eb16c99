/*
 * admin_methods.c: admin_methods.h's table as data, checked against the
 * service descriptors protoc-c made from admin.proto and health.proto,
 * and the decoding of a method's request.  Pure: no I/O, no state, so
 * the unit tests and the fuzzer link it without a server.
 * Trust: decodes operators' input; nothing is acted on here.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "admin_methods.h"

const struct admin_method admin_methods[ADMIN_NMETHODS] = {
#define ADMIN_ROW(path, stem, Req, Reply, effect) {path, #Req, #Reply, effect},
	KVMMU_ADMIN_METHODS(ADMIN_ROW)
#undef ADMIN_ROW
};

/*
 * The services on the admin socket.  Every method of the admin API has
 * a row; of the standard health service only Check does (Watch streams
 * its replies, which this server does not do: it is UNIMPLEMENTED, as
 * the health protocol allows).
 */
static const struct {
	const ProtobufCServiceDescriptor *as_desc;
	bool as_every_method;
} admin_services[] = {
	{&kvmmu__admin__v1__admin__descriptor, true},
	{&grpc__health__v1__health__descriptor, false},
};
#define ADMIN_NSERVICES (sizeof(admin_services) / sizeof(admin_services[0]))

const struct admin_method *admin_method_find(const char *path)
{
	for (size_t i = 0; i < ADMIN_NMETHODS; i++) {
		if (strcmp(admin_methods[i].am_path, path) == 0)
			return &admin_methods[i];
	}
	return NULL;
}

int admin_method_index(const struct admin_method *m)
{
	for (size_t i = 0; i < ADMIN_NMETHODS; i++) {
		if (m == &admin_methods[i])
			return (int)i;
	}
	return -1;
}

/* "/pkg.Service/Method": the service's descriptor, and the method. */
static const ProtobufCMethodDescriptor *path_method(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (path[0] != '/' || slash == NULL || slash == path)
		return NULL;
	for (size_t i = 0; i < ADMIN_NSERVICES; i++) {
		const ProtobufCServiceDescriptor *sd =
			admin_services[i].as_desc;
		size_t len = strlen(sd->name);

		if ((size_t)(slash - path - 1) == len &&
		    strncmp(path + 1, sd->name, len) == 0)
			return protobuf_c_service_descriptor_get_method_by_name(
				sd, slash + 1);
	}
	return NULL;
}

const ProtobufCMethodDescriptor *admin_method_desc(const struct admin_method *m)
{
	return path_method(m->am_path);
}

static int check_row(const struct admin_method *rows, size_t i, struct verr *e)
{
	const struct admin_method *m = &rows[i];
	const ProtobufCMethodDescriptor *md = path_method(m->am_path);

	if (md == NULL)
		return verr_set(e, EPROTO,
				"admin method table: row %s: no such method in "
				"admin.proto or health.proto",
				m->am_path);
	if (strcmp(md->input->c_name, m->am_req) != 0)
		return verr_set(e, EPROTO,
				"admin method table: row %s: request %s, but "
				"the service's method takes %s",
				m->am_path, m->am_req, md->input->c_name);
	if (strcmp(md->output->c_name, m->am_reply) != 0)
		return verr_set(e, EPROTO,
				"admin method table: row %s: reply %s, but "
				"the service's method returns %s",
				m->am_path, m->am_reply, md->output->c_name);
	for (size_t j = 0; j < i; j++) {
		if (strcmp(rows[j].am_path, m->am_path) == 0)
			return verr_set(e, EPROTO,
					"admin method table: row %s: given "
					"twice",
					m->am_path);
	}
	return 0;
}

static bool has_row(const struct admin_method *rows, size_t n,
		    const ProtobufCServiceDescriptor *sd, const char *method)
{
	size_t len = strlen(sd->name);

	for (size_t i = 0; i < n; i++) {
		const char *p = rows[i].am_path;

		if (strncmp(p + 1, sd->name, len) == 0 && p[len + 1] == '/' &&
		    strcmp(p + len + 2, method) == 0)
			return true;
	}
	return false;
}

int admin_methods_check(const struct admin_method *rows, size_t n,
			struct verr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (check_row(rows, i, e) < 0)
			return -e->code;
	}
	for (size_t s = 0; s < ADMIN_NSERVICES; s++) {
		const ProtobufCServiceDescriptor *sd =
			admin_services[s].as_desc;

		for (unsigned i = 0;
		     admin_services[s].as_every_method && i < sd->n_methods;
		     i++) {
			if (!has_row(rows, n, sd, sd->methods[i].name))
				return verr_set(e, EPROTO,
						"admin method table: /%s/%s "
						"has no row (admin_methods.h)",
						sd->name, sd->methods[i].name);
		}
	}
	return 0;
}

int admin_decode(const struct admin_method *m, const uint8_t *req, size_t len,
		 ProtobufCMessage **out, struct verr *e)
{
	const ProtobufCMethodDescriptor *md = admin_method_desc(m);
	ProtobufCMessage *r;
	size_t canon;

	*out = NULL;
	if (md == NULL) /* admin_methods_check refuses such a row at start */
		return verr_set(e, EPROTO, "%s: not in the service",
				m->am_path);
	r = protobuf_c_message_unpack(md->input, NULL, len, req);
	if (r == NULL)
		return verr_set(e, EINVAL, "undecodable %s", md->input->name);
	canon = protobuf_c_message_get_packed_size(r);
	if (canon != len) {
		protobuf_c_message_free_unpacked(r, NULL);
		return verr_set(e, EINVAL,
				"%s: not in canonical encoding (%zu bytes, "
				"%zu when packed again): a string with a NUL "
				"byte, a varint wider than its field, or a "
				"field given twice",
				md->input->name, len, canon);
	}
	*out = r;
	return 0;
}
