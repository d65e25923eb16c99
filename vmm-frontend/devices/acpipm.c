/*
 * acpipm.c: see acpipm.h.  Bits from ACPI 6.5, tables 4.16 (PM1 status),
 * 4.17 (PM1 enable) and 4.18 (PM1 control).
 * Trust: see acpipm.h.
 */
#include <string.h>

#include "acpipm.h"

/* PM1_EN bits the guest may set: TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP. */
#define PM1_EN_MASK   0x4721u
#define PM1_SCI_EN    (1u << 0) /* always in ACPI mode: reads 1 */
#define PM1_BM_RLD    (1u << 1)
#define PM1_SLP_TYP   (7u << 10)
#define PM1_SLP_SHIFT 10
#define PM1_SLP_EN    (1u << 13) /* write-only: reads 0 */
/* GBL_RLS (bit 2) is write-only and tells firmware, which there is none. */
#define PM1_CNT_MASK (PM1_BM_RLD | PM1_SLP_TYP)

void acpipm_init(struct acpipm *pm)
{
	memset(pm, 0, sizeof(*pm));
}

static uint8_t reg_byte(uint16_t reg, unsigned i)
{
	return (uint8_t)(reg >> (8 * i));
}

static uint16_t reg_set(uint16_t reg, unsigned i, uint8_t v)
{
	return (uint16_t)((reg & ~(0xffu << (8 * i))) | (unsigned)v << (8 * i));
}

/* One byte at offset off of the block. */
static uint8_t acpipm_read(const struct acpipm *pm, unsigned off)
{
	if (off < 2)
		return reg_byte(pm->pm_sts, off);
	if (off < 4)
		return reg_byte(pm->pm_en, off - 2);
	if (off < ACPIPM_NPORTS)
		return reg_byte(pm->pm_cnt | PM1_SCI_EN, off - 4);
	return 0xff;
}

/* One byte at offset off; whether it set SLP_EN. */
static bool acpipm_write(struct acpipm *pm, unsigned off, uint8_t v)
{
	uint16_t cnt;

	if (off < 2) { /* write 1 to clear */
		pm->pm_sts &= (uint16_t) ~((unsigned)v << (8 * off));
	} else if (off < 4) {
		pm->pm_en = reg_set(pm->pm_en, off - 2, v) & PM1_EN_MASK;
	} else if (off < ACPIPM_NPORTS) {
		cnt = reg_set(pm->pm_cnt, off - 4, v);
		pm->pm_cnt = cnt & PM1_CNT_MASK;
		return off == 5 && (cnt & PM1_SLP_EN);
	}
	return false;
}

int acpipm_io(struct acpipm *pm, uint16_t port, unsigned size, bool out,
	      uint8_t *data, size_t len)
{
	unsigned base = (unsigned)(port - ACPIPM_EVT);

	if (size == 0 || size > 4)
		return 0;
	/* String I/O repeats the access at the same port: len / size times. */
	for (size_t at = 0; at + size <= len; at += size) {
		for (unsigned i = 0; i < size; i++) {
			unsigned off = base + i;

			if (!out) {
				data[at + i] = acpipm_read(pm, off);
				continue;
			}
			if (acpipm_write(pm, off, data[at + i]) &&
			    (pm->pm_cnt & PM1_SLP_TYP) >> PM1_SLP_SHIFT ==
				    ACPIPM_SLP_TYP_S5)
				pm->pm_off = true;
		}
		if (pm->pm_off)
			return ACPIPM_POWER_OFF;
	}
	return 0;
}
