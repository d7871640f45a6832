// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818-style CMOS RTC and its 128 bytes of NVRAM, at ports 0x70 (index;
 * bit 7 is the NMI mask and is dropped) and 0x71 (data).
 *
 * Time registers (seconds, minutes, hours, day of week, day of month,
 * month, year, and the century byte at 0x32) are computed on every read
 * from the host's UTC clock plus a per-VM offset, in BCD or binary as
 * register B's DM bit says and in 24- or 12-hour form per its 24/12 bit.
 * Register A never shows update-in-progress; register D always reports
 * valid RAM and time.
 *
 * Setting the time: writes to time registers move the offset, so a guest
 * that sets its clock (hwclock, NTP's 11-minute mode) keeps the new time
 * for the life of the VM; nothing persists across runs. With B.SET on, the
 * clock reads as frozen at the moment SET was raised, writes edit that
 * frozen time, and clearing SET commits it; without SET each write takes
 * effect alone. Day-of-week writes are ignored (it is derived from the
 * date) and values that are not valid BCD/binary for the field are ignored.
 *
 * Not emulated: interrupts (no IRQ 8: periodic, alarm and update-ended
 * flags never set, register C reads 0), the square-wave output, and
 * daylight saving. Alarm registers are plain storage.
 *
 * The device model (devices.h): reset is what a new VM starts with
 * (NVRAM cleared, the clock back to host time: no battery is emulated).
 * There is nothing to pause: no interrupt, no host input, and the clock
 * is a battery clock that runs on. Save writes the index register, the
 * 128 bytes of RAM, the clock as the guest's offset from host UTC, and
 * the frozen time while B.SET is on. Saving the offset, not the time
 * read at save, is the choice of a battery clock: a guest restored an
 * hour later, here or on another host, finds its RTC an hour on (as a
 * PC switched off for an hour does) and a clock it set stays set; its
 * own system clock is the kernel's to correct, as after any suspend.
 */
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
#include "vmm/devices/legacy.h"

#define REG_SEC		0x00
#define REG_MIN		0x02
#define REG_HOUR	0x04
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MON		0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d

#define A_UIP		0x80
#define A_DEFAULT	0x26	/* 32.768 kHz time base, 1024 Hz rate */
#define B_SET		0x80
#define B_UIE		0x10
#define B_DM_BINARY	0x04
#define B_24H		0x02
#define B_DEFAULT	B_24H	/* 24-hour, BCD */
#define D_VRT		0x80	/* valid RAM and time */
#define HOUR_PM		0x80

#define CMOS_INDEX_MASK	0x7f

/* The guest's clock may read years 0000 to 9999 (two BCD bytes). */
#define CMOS_TIME_MIN	(-62167219200LL)	/* 0000-01-01T00:00:00Z */
#define CMOS_TIME_MAX	253402300799LL		/* 9999-12-31T23:59:59Z */

static bool is_time_reg(u8 reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR ||
	       (reg >= REG_WDAY && reg <= REG_YEAR) || reg == CMOS_REG_CENTURY;
}

static void guest_now(const struct cmos *c, struct tm *tm)
{
	struct timespec ts;
	time_t t;

	if (c->ram[REG_B] & B_SET) {
		struct tm n = c->frozen;

		/*
		 * Fields stay as written (a half-edited date may be invalid
		 * until SET clears); only the weekday is recomputed.
		 */
		*tm = c->frozen;
		if (timegm(&n) != (time_t)-1)
			tm->tm_wday = n.tm_wday;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	t = ts.tv_sec + c->offset;
	gmtime_r(&t, tm);
}

static void set_guest_time(struct cmos *c, struct tm *tm)
{
	struct timespec ts;
	time_t t = timegm(tm);

	if (t == (time_t)-1) {
		if (dev_ratelimit_ok(&c->rl, LOG_DEBUG))
			pr_debug("cmos: guest set an unrepresentable time");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	c->offset = t - ts.tv_sec;
}

static u8 encode(const struct cmos *c, unsigned int v)
{
	if (c->ram[REG_B] & B_DM_BINARY)
		return v;
	return ((v / 10) % 10) << 4 | v % 10;
}

/* -1 when v is not a valid number in the current mode. */
static int decode(const struct cmos *c, u8 v)
{
	if (c->ram[REG_B] & B_DM_BINARY)
		return v;
	if ((v >> 4) > 9 || (v & 0xf) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xf);
}

static u8 encode_hour(const struct cmos *c, int h)
{
	int h12 = h % 12 ? h % 12 : 12;

	if (c->ram[REG_B] & B_24H)
		return encode(c, h);
	return encode(c, h12) | (h >= 12 ? HOUR_PM : 0);
}

static int decode_hour(const struct cmos *c, u8 v)
{
	int h;

	if (c->ram[REG_B] & B_24H) {
		h = decode(c, v);
		return h <= 23 ? h : -1;
	}
	h = decode(c, v & ~HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (v & HOUR_PM ? 12 : 0);
}

static u8 read_time(const struct cmos *c, u8 reg)
{
	struct tm tm;

	guest_now(c, &tm);
	switch (reg) {
	case REG_SEC:
		return encode(c, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case REG_MIN:
		return encode(c, tm.tm_min);
	case REG_HOUR:
		return encode_hour(c, tm.tm_hour);
	case REG_WDAY:
		return encode(c, tm.tm_wday + 1);	/* Sunday is 1 */
	case REG_MDAY:
		return encode(c, tm.tm_mday);
	case REG_MON:
		return encode(c, tm.tm_mon + 1);
	case REG_YEAR:
		return encode(c, (tm.tm_year + 1900) % 100);
	default:	/* CMOS_REG_CENTURY */
		return encode(c, (tm.tm_year + 1900) / 100);
	}
}

/* Put one decoded field into tm; false when out of range. */
static bool set_field(struct tm *tm, u8 reg, int v)
{
	int year = tm->tm_year + 1900;

	switch (reg) {
	case REG_SEC:
		if (v > 59)
			return false;
		tm->tm_sec = v;
		return true;
	case REG_MIN:
		if (v > 59)
			return false;
		tm->tm_min = v;
		return true;
	case REG_HOUR:
		tm->tm_hour = v;	/* checked by decode_hour */
		return true;
	case REG_MDAY:
		if (v < 1 || v > 31)
			return false;
		tm->tm_mday = v;
		return true;
	case REG_MON:
		if (v < 1 || v > 12)
			return false;
		tm->tm_mon = v - 1;
		return true;
	case REG_YEAR:
		if (v > 99)
			return false;
		tm->tm_year = year / 100 * 100 + v - 1900;
		return true;
	default:	/* CMOS_REG_CENTURY */
		if (v > 99)
			return false;
		tm->tm_year = v * 100 + year % 100 - 1900;
		return true;
	}
}

static void write_time(struct cmos *c, u8 reg, u8 raw)
{
	struct tm tm;
	int v;

	if (reg == REG_WDAY)
		return;		/* derived from the date */
	v = reg == REG_HOUR ? decode_hour(c, raw) : decode(c, raw);
	guest_now(c, &tm);
	if (v < 0 || !set_field(&tm, reg, v)) {
		if (dev_ratelimit_ok(&c->rl, LOG_DEBUG))
			pr_debug("cmos: bad value 0x%02x for register 0x%02x",
				 raw, reg);
		return;
	}
	tm.tm_isdst = 0;
	if (c->ram[REG_B] & B_SET)
		c->frozen = tm;
	else
		set_guest_time(c, &tm);
}

static void write_b(struct cmos *c, u8 v)
{
	bool was_set = c->ram[REG_B] & B_SET;

	if ((v & B_SET) && !was_set) {
		guest_now(c, &c->frozen);	/* B.SET still clear here */
		v &= ~B_UIE;	/* the chip clears UIE when SET goes on */
	}
	c->ram[REG_B] = v;
	if (!(v & B_SET) && was_set)
		set_guest_time(c, &c->frozen);
}

static u8 read_data(struct cmos *c)
{
	u8 reg = c->index;

	if (is_time_reg(reg))
		return read_time(c, reg);
	switch (reg) {
	case REG_A:
		return c->ram[REG_A] & ~A_UIP;
	case REG_C:
		return 0;	/* no interrupt sources emulated */
	case REG_D:
		return D_VRT;
	default:
		return c->ram[reg];
	}
}

static void write_data(struct cmos *c, u8 v)
{
	u8 reg = c->index;

	if (is_time_reg(reg)) {
		write_time(c, reg, v);
		return;
	}
	switch (reg) {
	case REG_A:
		c->ram[REG_A] = v & ~A_UIP;
		break;
	case REG_B:
		write_b(c, v);
		break;
	case REG_C:
	case REG_D:
		break;		/* read-only */
	default:
		c->ram[reg] = v;
		break;
	}
}

/* Port 0 is the (write-only) index, port 1 the data; wide accesses split. */
static void cmos_pio_read(void *opaque, u64 off, u8 *d, u32 len)
{
	struct cmos *c = opaque;
	u32 i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < len; i++)
		d[i] = off + i == 1 ? read_data(c) : 0xff;
	pthread_mutex_unlock(&c->lock);
}

static void cmos_pio_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	struct cmos *c = opaque;
	u32 i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < len; i++) {
		if (off + i == 0)
			c->index = d[i] & CMOS_INDEX_MASK;
		else if (off + i == 1)
			write_data(c, d[i]);
	}
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_ops cmos_ops = {
	.read = cmos_pio_read,
	.write = cmos_pio_write,
};

/* --- the device model (devices.h) --- */

static void regs_reset(struct cmos *c)
{
	c->index = 0;
	memset(c->ram, 0, sizeof(c->ram));
	c->ram[REG_A] = A_DEFAULT;
	c->ram[REG_B] = B_DEFAULT;
	c->ram[REG_D] = D_VRT;
	c->offset = 0;
	memset(&c->frozen, 0, sizeof(c->frozen));
}

static void cmos_reset(struct device *d)
{
	struct cmos *c = container_of(d, struct cmos, dev);

	pthread_mutex_lock(&c->lock);
	regs_reset(c);
	pthread_mutex_unlock(&c->lock);
}

/* The frozen time's fields, as the registers would show them. */
static const struct {
	const char *name;
	size_t off;
	int add, min, max;	/* saved = field + add, within min..max */
} frozen_fields[] = {
	{ "frozen.sec", offsetof(struct tm, tm_sec), 0, 0, 59 },
	{ "frozen.min", offsetof(struct tm, tm_min), 0, 0, 59 },
	{ "frozen.hour", offsetof(struct tm, tm_hour), 0, 0, 23 },
	{ "frozen.mday", offsetof(struct tm, tm_mday), 0, 1, 31 },
	{ "frozen.mon", offsetof(struct tm, tm_mon), 1, 1, 12 },
	{ "frozen.year", offsetof(struct tm, tm_year), 1900, 0, 9999 },
};

static int cmos_save(struct device *d, struct state_writer *w)
{
	struct cmos *c = container_of(d, struct cmos, dev);
	size_t i;

	pthread_mutex_lock(&c->lock);
	STATE_PUT(w, c, index);
	STATE_PUT(w, c, ram);
	state_put_u64(w, "offset", (u64)(int64_t)c->offset);
	for (i = 0; (c->ram[REG_B] & B_SET) && i < ARRAY_SIZE(frozen_fields); i++) {
		const int *f = (const int *)((const u8 *)&c->frozen +
					     frozen_fields[i].off);

		state_put_u32(w, frozen_fields[i].name,
			      (u32)(*f + frozen_fields[i].add));
	}
	pthread_mutex_unlock(&c->lock);
	return w->err;
}

/* The bytes of RAM the chip computes or fixes, not the guest's storage. */
static int check_ram(struct state_reader *r, const u8 *ram)
{
	unsigned i;

	for (i = 0; i < CMOS_NR_REGS; i++)
		if (is_time_reg(i) && ram[i])
			return state_refuse(r, "ram[0x%02x] is 0x%02x, a clock register keeps 0",
					    i, ram[i]);
	if (ram[REG_A] & A_UIP)
		return state_refuse(r, "ram[0x0a] 0x%02x has update-in-progress set",
				    ram[REG_A]);
	if (ram[REG_C] || ram[REG_D] != D_VRT)
		return state_refuse(r, "registers C and D are 0x%02x 0x%02x, not 0x00 0x%02x",
				    ram[REG_C], ram[REG_D], D_VRT);
	return 0;
}

/* The offset, unless the guest's clock would now read outside 0000-9999. */
static int get_offset(struct state_reader *r, time_t *offset)
{
	struct timespec ts;
	u64 v;
	int64_t off;

	if (state_get(r, "offset", &v, sizeof(v)))
		return -EINVAL;
	off = (int64_t)v;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (off < CMOS_TIME_MIN - CMOS_TIME_MAX ||
	    off > CMOS_TIME_MAX - CMOS_TIME_MIN ||
	    ts.tv_sec + off < CMOS_TIME_MIN || ts.tv_sec + off > CMOS_TIME_MAX)
		return state_refuse(r, "offset %lld s puts the clock outside the years 0000-9999",
				    (long long)off);
	*offset = off;
	return 0;
}

static int get_frozen(struct state_reader *r, struct tm *tm)
{
	size_t i;

	memset(tm, 0, sizeof(*tm));
	for (i = 0; i < ARRAY_SIZE(frozen_fields); i++) {
		int *f = (int *)((u8 *)tm + frozen_fields[i].off);
		u32 v;

		if (state_get(r, frozen_fields[i].name, &v, sizeof(v)))
			return -EINVAL;
		if ((int32_t)v < frozen_fields[i].min || (int32_t)v > frozen_fields[i].max)
			return state_refuse(r, "%s is %d, not %d to %d",
					    frozen_fields[i].name, (int32_t)v,
					    frozen_fields[i].min,
					    frozen_fields[i].max);
		*f = (int32_t)v - frozen_fields[i].add;
	}
	return 0;
}

static int cmos_load(struct device *d, struct state_reader *r)
{
	struct cmos *c = container_of(d, struct cmos, dev);
	struct cmos s;		/* the saved state, taken once checked */

	if (STATE_GET(r, &s, index) || STATE_GET(r, &s, ram))
		return -EINVAL;		/* r->why says which and why */
	if (s.index & ~CMOS_INDEX_MASK)
		return state_refuse(r, "index 0x%02x is past the %u registers",
				    s.index, CMOS_NR_REGS);
	if (check_ram(r, s.ram) || get_offset(r, &s.offset))
		return -EINVAL;
	memset(&s.frozen, 0, sizeof(s.frozen));
	if ((s.ram[REG_B] & B_SET) && get_frozen(r, &s.frozen))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->index = s.index;
	memcpy(c->ram, s.ram, sizeof(c->ram));
	c->offset = s.offset;
	c->frozen = s.frozen;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void cmos_destroy(struct device *d)
{
	pthread_mutex_destroy(&container_of(d, struct cmos, dev)->lock);
}

/* No pause: no interrupt, no host input, and the clock runs on. */
static const struct device_ops cmos_dev_ops = {
	.kind = "cmos", .version = 1, .reset = cmos_reset, .save = cmos_save,
	.load = cmos_load, .destroy = cmos_destroy,
};

int cmos_init(struct cmos *c, struct device_manager *dm)
{
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->dev.name, sizeof(c->dev.name), "cmos");
	c->dev.ops = &cmos_dev_ops;
	regs_reset(c);
	err = pthread_mutex_init(&c->lock, NULL);
	if (err)
		return -err;
	err = dm_bus_pio(dm, &c->dev, CMOS_PORT, 2, &cmos_ops, c);
	if (!err)
		err = dm_add(dm, &c->dev);
	if (err)
		pthread_mutex_destroy(&c->lock);
	return err;
}
