// SPDX-License-Identifier: GPL-2.0
/*
 * Range registry for port-I/O and MMIO. Lookups are a binary search over a
 * sorted, immutable array (see bus.h for why no lock is needed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bus.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_free(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

static bool overlaps(const struct bus_range *r, u64 base, u64 len)
{
	return base < r->base + r->len && r->base < base + len;
}

int bus_register(struct bus *bus, u64 base, u64 len, const char *name,
		 const struct bus_ops *ops, void *opaque)
{
	struct bus_range *r;
	size_t i;

	if (bus->sealed)
		return -EBUSY;
	if (!len || base + len < base)
		return -EINVAL;
	for (i = 0; i < bus->nr; i++)
		if (overlaps(&bus->ranges[i], base, len))
			return -EEXIST;
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;

		r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	/* Insert sorted by base. */
	for (i = bus->nr; i > 0 && bus->ranges[i - 1].base > base; i--)
		bus->ranges[i] = bus->ranges[i - 1];
	bus->ranges[i] = (struct bus_range){ base, len, name, ops, opaque };
	bus->nr++;
	return 0;
}

void bus_seal(struct bus *bus)
{
	bus->sealed = true;
}

const struct bus_range *bus_find(const struct bus *bus, u64 addr, u32 len)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr >= r->base + r->len)
			lo = mid + 1;
		else
			return addr + len <= r->base + r->len ? r : NULL;
	}
	return NULL;
}

bool bus_dispatch(const struct bus *bus, u64 addr, u8 *data, u32 len,
		  bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return true;
}
