/*
 * acpipm.h: the ACPI PM1a register blocks of the pc machine (ACPI 6.5,
 * 4.8.3 and 4.8.4.2), on the ports the FADT names: PM1 status (write 1
 * to clear) and enable at PM1A_EVT, PM1 control at PM1A_CNT.  The
 * machine is always in ACPI mode (SCI_EN reads 1) and raises no SCI:
 * it has no fixed events to report (no PM timer, no buttons).  A write
 * of SLP_EN with the SLP_TYP that \_S5 names is the guest powering off.
 * A pure state machine fed by port I/O exits.
 * Trust: unprivileged; every port value comes from the guest.
 */
#ifndef KVMMU_ACPIPM_H
#define KVMMU_ACPIPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPIPM_EVT	  0x600 /* PM1a_EVT_BLK: status 0-1, enable 2-3 */
#define ACPIPM_EVT_LEN	  4
#define ACPIPM_CNT	  0x604 /* PM1a_CNT_BLK */
#define ACPIPM_CNT_LEN	  2
#define ACPIPM_NPORTS	  (ACPIPM_EVT_LEN + ACPIPM_CNT_LEN)
#define ACPIPM_SLP_TYP_S5 5 /* what the DSDT's \_S5 says */
#define ACPIPM_SCI_IRQ	  9 /* the FADT's SCI_INT */
#define ACPIPM_POWER_OFF  1 /* acpipm_io: the guest entered S5 */

struct acpipm {
	uint16_t pm_sts; /* PM1_STS: nothing ever sets a bit */
	uint16_t pm_en;	 /* PM1_EN, as written */
	uint16_t pm_cnt; /* PM1_CNT, as written, SLP_EN left out */
	bool pm_off;	 /* S5 entered */
};

void acpipm_init(struct acpipm *pm);

/*
 * An access at port (ACPIPM_EVT .. ACPIPM_EVT + ACPIPM_NPORTS - 1) of
 * size bytes, len = size * count of them: each byte goes to the register
 * that holds it.  Returns ACPIPM_POWER_OFF once the guest wrote SLP_EN
 * with SLP_TYP = ACPIPM_SLP_TYP_S5 (SLP_EN with another SLP_TYP is a
 * sleep state the machine does not offer: ignored), else 0.
 */
int acpipm_io(struct acpipm *pm, uint16_t port, unsigned size, bool out,
	      uint8_t *data, size_t len);

#endif
