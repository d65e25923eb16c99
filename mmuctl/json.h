/*
 * json.h: prints any protobuf-c message as JSON, from its descriptor.
 * Trust: an operator's tool; prints decoded data.
 */
#ifndef KVMMU_JSON_H
#define KVMMU_JSON_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

void json_print(FILE *f, const ProtobufCMessage *m);

#endif
