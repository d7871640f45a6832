/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The legacy PC devices a Linux guest pokes while booting and rebooting:
 * the i8042 keyboard controller (for its reset line), the CMOS RTC/NVRAM,
 * the POST/delay ports, and pvpanic (a guest's panic report). None of
 * them raises an interrupt.
 *
 * Each is a device of the device manager: X_init sets it up, claims its
 * ports on dm's port-I/O bus and adds it to dm as its last step, after
 * which dm owns it (its destroy op is the only way to tear it down). On
 * failure nothing is left to undo but a claimed range of the (unsealed)
 * bus, which the failed set-up throws away.
 */
#ifndef SMPVISOR_LEGACY_H
#define SMPVISOR_LEGACY_H

#include <pthread.h>
#include <time.h>

#include "lib/bus.h"
#include "lib/layout.h"
#include "lib/util.h"
#include "vmm/devices/devices.h"

struct device_manager;

/* --- i8042 (vmm/devices/legacy/i8042.c) --- */

struct i8042 {
	struct device dev;	/* "i8042" */
	pthread_mutex_t lock;
	struct vm_control ctl;
	u8 ctr;			/* controller command byte ("CTR") */
	u8 outp;		/* output port: bit 0 is the CPU reset line */
	u8 out;			/* output buffer */
	bool out_full;
	bool out_aux;		/* the output byte came from the aux port */
	u8 pending;		/* command waiting for its data byte, or 0 */
	bool last_cmd;		/* last write went to the command port */
	struct dev_ratelimit rl;
};

/* Claims I8042_DATA_PORT and I8042_CMD_PORT (one byte each). */
int i8042_init(struct i8042 *k, struct device_manager *dm,
	       const struct vm_control *ctl);

/* --- CMOS RTC and NVRAM (vmm/devices/legacy/cmos.c) --- */

#define CMOS_NR_REGS		128
#define CMOS_REG_CENTURY	CMOS_CENTURY_REG

struct cmos {
	struct device dev;	/* "cmos" */
	pthread_mutex_t lock;
	u8 index;
	u8 ram[CMOS_NR_REGS];	/* NVRAM and the control registers */
	time_t offset;		/* guest time minus host UTC, in seconds */
	struct tm frozen;	/* time registers while register B.SET is on */
	struct dev_ratelimit rl;
};

/* Claims CMOS_PORT (index) and CMOS_PORT + 1 (data). */
int cmos_init(struct cmos *c, struct device_manager *dm);

/* --- POST code and I/O-delay ports (vmm/devices/legacy/post.c) --- */

#define POST_ALT_DELAY_PORT	0xed	/* Linux's io_delay=0xed */

/* Stateless, but a device still ("post"). */
struct post {
	struct device dev;
};

/* Claims POST_PORT and POST_ALT_DELAY_PORT. */
int post_init(struct post *p, struct device_manager *dm);

/* --- pvpanic (vmm/devices/legacy/pvpanic.c) --- */

#define PVPANIC_PANICKED	0x01	/* the guest kernel panicked */
#define PVPANIC_CRASH_LOADED	0x02	/* a kdump kernel takes over */
#define PVPANIC_EVENTS		(PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

/*
 * How the device tells the machine: report gets the events newly set
 * (each once until a reset), on the writing vCPU thread with no device
 * lock held. It must not block: hand slow work to another thread.
 */
struct pvpanic_notify {
	void (*report)(void *opaque, u8 events);
	void *opaque;
};

struct pvpanic {
	struct device dev;	/* "pvpanic" */
	pthread_mutex_t lock;
	struct pvpanic_notify notify;
	u8 reported;		/* PVPANIC_* events the guest reported */
};

/* Claims PVPANIC_PORT (one byte); notify may be NULL (nobody told). */
int pvpanic_init(struct pvpanic *p, struct device_manager *dm,
		 const struct pvpanic_notify *notify);

#endif
