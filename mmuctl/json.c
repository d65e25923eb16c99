/*
 * json.c: protobuf-c messages as JSON, walking their descriptors: fields
 * that are present, repeated fields as arrays, enums by name, strings
 * escaped.  One printer serves every mmuctl command's --json.
 * Trust: an operator's tool.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "json.h"

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_scalar(FILE *f, const ProtobufCFieldDescriptor *fd,
			const void *p)
{
	const ProtobufCEnumValue *ev;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		json_string(f, *(char *const *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor,
							  *(const int *)p);
		if (ev)
			json_string(f, ev->name);
		else
			fprintf(f, "%d", *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		json_print(f, *(ProtobufCMessage *const *)p);
		break;
	default: /* floats and bytes: not used by kvmmu's messages */
		fputs("null", f);
	}
}

static size_t json_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Present: has_ set, a non-NULL pointer, or a proto3 scalar. */
static bool json_present(const ProtobufCMessage *m,
			 const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;

	if (fd->type == PROTOBUF_C_TYPE_STRING ||
	    fd->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + fd->offset) != NULL;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base +
						     fd->quantifier_offset);
	return true;
}

void json_print(FILE *f, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;

	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
				*(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)(base + fd->offset);

			fprintf(f, "%s\"%s\": [", first ? "" : ", ", fd->name);
			for (size_t k = 0; k < n; k++) {
				fputs(k ? ", " : "", f);
				json_scalar(f, fd, arr + k * json_size(fd));
			}
			fputc(']', f);
			first = false;
			continue;
		}
		if (!json_present(m, fd))
			continue;
		fprintf(f, "%s\"%s\": ", first ? "" : ", ", fd->name);
		json_scalar(f, fd, base + fd->offset);
		first = false;
	}
	fputc('}', f);
}
