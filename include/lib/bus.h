/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Port-I/O and MMIO buses: devices register address ranges with a pair of
 * callbacks; vCPU threads dispatch exits to them.
 *
 * Concurrency: ranges are registered during machine set-up, then the bus is
 * sealed (bus_seal) before any vCPU runs. After that the range table is
 * immutable, so bus_dispatch takes no lock at all and any number of vCPUs
 * may exit at once. Each device serialises its own state as it needs.
 */
#ifndef SMPVISOR_BUS_H
#define SMPVISOR_BUS_H

#include "lib/util.h"

struct bus_ops {
	/* off is relative to the registered base; len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, u64 off, u8 *data, u32 len);
	void (*write)(void *opaque, u64 off, const u8 *data, u32 len);
};

struct bus_range {
	u64 base;
	u64 len;
	const char *name;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	const char *name;	/* "pio" or "mmio", for messages */
	struct bus_range *ranges;	/* sorted by base once sealed */
	size_t nr, cap;
	bool sealed;
};

void bus_init(struct bus *bus, const char *name);
void bus_free(struct bus *bus);
/* 0, -EEXIST when the range overlaps another, -EBUSY once sealed. */
int bus_register(struct bus *bus, u64 base, u64 len, const char *name,
		 const struct bus_ops *ops, void *opaque);
void bus_seal(struct bus *bus);
const struct bus_range *bus_find(const struct bus *bus, u64 addr, u32 len);
/*
 * Dispatch one access. Returns false when no device claims it; reads of
 * unclaimed addresses are filled with 0xff (what open bus returns).
 */
bool bus_dispatch(const struct bus *bus, u64 addr, u8 *data, u32 len,
		  bool is_write);

#endif
