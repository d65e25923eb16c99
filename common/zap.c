/*
 * zap.c: names and parsing of the zap-control policy (zap.h).
 * Trust: parses untrusted text; pure.
 */
#include <stdio.h>
#include <string.h>

#include "zap.h"

const char *zap_mode_name(int mode)
{
	return mode == KVMMU__ZAP_MODE__ZAP_MEMSLOT ? "memslot" : "all";
}

const char *zap_allones_name(int allones)
{
	return allones == KVMMU__ALL_ONES__ALLONES_ROM ? "rom" : "mmio";
}

int zap_mode_parse(const char *s)
{
	if (strcmp(s, "all") == 0)
		return KVMMU__ZAP_MODE__ZAP_ALL;
	if (strcmp(s, "memslot") == 0)
		return KVMMU__ZAP_MODE__ZAP_MEMSLOT;
	return -1;
}

int zap_allones_parse(const char *s)
{
	if (strcmp(s, "mmio") == 0)
		return KVMMU__ALL_ONES__ALLONES_MMIO;
	if (strcmp(s, "rom") == 0)
		return KVMMU__ALL_ONES__ALLONES_ROM;
	return -1;
}

const char *zap_str(const Kvmmu__ZapControl *z, char *buf, size_t len)
{
	snprintf(buf, len, "mode=%s batch-window-us=%u allones=%s",
		 zap_mode_name(z->mode), z->batch_window_us,
		 zap_allones_name(z->allones));
	return buf;
}
