// SPDX-License-Identifier: GPL-2.0
/*
 * The device manager (include/vmm/device_manager.h): owns the devices of
 * a machine, their bus ranges, ioeventfds and irqfds, and walks them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device_manager.h"

void dm_init(struct device_manager *dm, struct kvm_vm *kvm,
	     struct irq_router *irq, struct bus *pio, struct bus *mmio)
{
	memset(dm, 0, sizeof(*dm));
	dm->kvm = kvm;
	dm->irq = irq;
	dm->pio = pio;
	dm->mmio = mmio;
	pthread_mutex_init(&dm->lock, NULL);
	pthread_mutex_init(&dm->ioev_lock, NULL);
	pthread_mutex_init(&dm->err_lock, NULL);
}

void dm_destroy(struct device_manager *dm)
{
	unsigned i;

	for (i = dm->nr; i-- > 0;) {
		struct device *d = dm->dev[i];

		if (d->ops->destroy)
			d->ops->destroy(d);
	}
	/* A device that left an ioeventfd behind: the manager removes it. */
	for (i = 0; i < dm->nr_ioev; i++)
		kvm_ioeventfd(dm->kvm, dm->ioev[i].addr, dm->ioev[i].len,
			      dm->ioev[i].fd, dm->ioev[i].pio, false);
	free(dm->ioev);
	free(dm->dev);
	pthread_mutex_destroy(&dm->lock);
	pthread_mutex_destroy(&dm->ioev_lock);
	pthread_mutex_destroy(&dm->err_lock);
	memset(dm, 0, sizeof(*dm));
}

struct device *dm_find(struct device_manager *dm, const char *name)
{
	unsigned i;

	for (i = 0; i < dm->nr; i++)
		if (!strcmp(dm->dev[i]->name, name))
			return dm->dev[i];
	return NULL;
}

int dm_add(struct device_manager *dm, struct device *d)
{
	if (!d->ops || !d->name[0] || dm_find(dm, d->name)) {
		pr_err("device %s: added twice or without a name",
		       d->name[0] ? d->name : "?");
		return -EEXIST;
	}
	if (dm->nr == dm->cap) {
		unsigned cap = dm->cap ? dm->cap * 2 : 16;
		struct device **n = realloc(dm->dev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dm->dev = n;
		dm->cap = cap;
	}
	dm->dev[dm->nr++] = d;
	return 0;
}

void dm_set_error_handler(struct device_manager *dm,
			  void (*fn)(void *opaque, const char *dev,
				     const char *reason),
			  void *opaque)
{
	pthread_mutex_lock(&dm->err_lock);
	dm->on_error = fn;
	dm->error_opaque = opaque;
	pthread_mutex_unlock(&dm->err_lock);
}

/*
 * The limiter is taken under err_lock (a device fails from several I/O
 * threads at once); the handler runs outside it, so a slow one delays
 * only its caller.
 */
void dm_device_error(struct device_manager *dm, struct device *d,
		     const char *fmt, ...)
{
	void (*fn)(void *opaque, const char *dev, const char *reason);
	char reason[160];
	void *opaque;
	va_list ap;
	bool ok;

	pthread_mutex_lock(&dm->err_lock);
	fn = dm->on_error;
	opaque = dm->error_opaque;
	ok = fn && dev_ratelimit_take(&d->err_rl);
	pthread_mutex_unlock(&dm->err_lock);
	if (!ok)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	fn(opaque, d->name, reason);
}

int dm_bus_pio(struct device_manager *dm, struct device *d, u64 base,
	       u64 len, const struct bus_ops *ops, void *opaque)
{
	return bus_register(dm->pio, base, len, d->name, ops, opaque);
}

int dm_bus_mmio(struct device_manager *dm, struct device *d, u64 base,
		u64 len, const struct bus_ops *ops, void *opaque)
{
	return bus_register(dm->mmio, base, len, d->name, ops, opaque);
}

/* Keep the list of assigned ioeventfds (dm->ioev_lock held). */
static int ioev_track(struct device_manager *dm, u64 addr, u32 len, int fd,
		      bool pio, bool assign)
{
	unsigned i;

	for (i = 0; i < dm->nr_ioev; i++) {
		struct dm_ioeventfd *e = &dm->ioev[i];

		if (e->addr == addr && e->len == len && e->fd == fd &&
		    e->pio == pio) {
			if (!assign)
				*e = dm->ioev[--dm->nr_ioev];
			return 0;
		}
	}
	if (!assign)
		return 0;
	if (dm->nr_ioev == dm->cap_ioev) {
		unsigned cap = dm->cap_ioev ? dm->cap_ioev * 2 : 64;
		struct dm_ioeventfd *n = realloc(dm->ioev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dm->ioev = n;
		dm->cap_ioev = cap;
	}
	dm->ioev[dm->nr_ioev++] = (struct dm_ioeventfd){ addr, len, fd, pio };
	return 0;
}

int dm_ioeventfd(struct device_manager *dm, u64 addr, u32 len, int fd,
		 bool pio, bool assign)
{
	int r;

	if (!dm->kvm)
		return -ENODEV;
	pthread_mutex_lock(&dm->ioev_lock);
	r = ioev_track(dm, addr, len, fd, pio, assign);
	if (!r) {
		r = kvm_ioeventfd(dm->kvm, addr, len, fd, pio, assign);
		if (r && assign)
			ioev_track(dm, addr, len, fd, pio, false);
	}
	pthread_mutex_unlock(&dm->ioev_lock);
	return r;
}

int dm_irqfd(struct device_manager *dm, u32 gsi, int fd, int resample_fd,
	     bool assign)
{
	if (!dm->irq)
		return -ENODEV;
	return assign ? irq_irqfd_assign(dm->irq, gsi, fd, resample_fd) :
			irq_irqfd_deassign(dm->irq, gsi, fd);
}

void dm_reset(struct device_manager *dm)
{
	unsigned i;

	pthread_mutex_lock(&dm->lock);
	for (i = 0; i < dm->nr; i++)
		if (dm->dev[i]->ops->reset)
			dm->dev[i]->ops->reset(dm->dev[i]);
	pthread_mutex_unlock(&dm->lock);
}

void dm_pause(struct device_manager *dm)
{
	unsigned i;

	pthread_mutex_lock(&dm->lock);
	for (i = 0; i < dm->nr; i++) {
		struct device *d = dm->dev[i];

		if (d->paused)
			continue;
		if (d->ops->pause)
			d->ops->pause(d);
		d->paused = true;
	}
	dm->paused = true;
	pthread_mutex_unlock(&dm->lock);
}

void dm_resume(struct device_manager *dm)
{
	unsigned i;

	pthread_mutex_lock(&dm->lock);
	/* Last paused first: a device resumes with its dependents paused. */
	for (i = dm->nr; i-- > 0;) {
		struct device *d = dm->dev[i];

		if (!d->paused)
			continue;
		if (d->ops->resume)
			d->ops->resume(d);
		d->paused = false;
	}
	dm->paused = false;
	pthread_mutex_unlock(&dm->lock);
}

int dm_save(struct device_manager *dm, struct state_writer *w)
{
	unsigned i;
	int r = 0;

	pthread_mutex_lock(&dm->lock);
	for (i = 0; !r && i < dm->nr; i++) {
		struct device *d = dm->dev[i];

		if (!d->paused) {
			pr_err("device %s: saved while it runs", d->name);
			r = -EBUSY;
			break;
		}
		state_section(w, d->name, d->ops->version);
		state_put(w, "kind", d->ops->kind, (u32)strlen(d->ops->kind));
		if (d->ops->save)
			r = d->ops->save(d, w);
		if (!r)
			r = w->err;
	}
	pthread_mutex_unlock(&dm->lock);
	return r;
}

/* The section names the device's kind: a stream of another machine fails. */
static int check_kind(struct state_reader *r, const struct device *d)
{
	u32 n;
	const char *k = state_get_var(r, "kind", &n);

	if (!k)
		return -ENOENT;
	if (n != strlen(d->ops->kind) || memcmp(k, d->ops->kind, n))
		return state_refuse(r, "it is a %.*s, this machine's is a %s",
				    (int)MIN(n, 32u), k, d->ops->kind);
	return 0;
}

int dm_load(struct device_manager *dm, struct state_reader *r)
{
	unsigned i;
	int e = 0;

	pthread_mutex_lock(&dm->lock);
	for (i = 0; !e && i < dm->nr; i++) {
		struct device *d = dm->dev[i];

		if (!d->paused) {
			pr_err("device %s: loaded while it runs", d->name);
			e = -EBUSY;
			break;
		}
		if (d->ops->reset)
			d->ops->reset(d);
		e = state_open(r, d->name, d->ops->version);
		if (!e)
			e = check_kind(r, d);
		if (!e && d->ops->load)
			e = d->ops->load(d, r);
	}
	/* A refused load leaves no half-loaded device behind. */
	for (i = 0; e && i < dm->nr; i++)
		if (dm->dev[i]->ops->reset)
			dm->dev[i]->ops->reset(dm->dev[i]);
	pthread_mutex_unlock(&dm->lock);
	return e;
}
