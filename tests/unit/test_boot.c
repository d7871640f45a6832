// SPDX-License-Identifier: GPL-2.0
/*
 * Linux boot protocol loader: a synthetic bzImage written to a temp file
 * (only the header fields the loader reads, at their documented offsets),
 * the error paths, the zero page, the e820 map for several memory sizes,
 * the identity page tables, the GDT and the entry registers. If a real
 * kernel is around (SMPVISOR_TEST_KERNEL, build/guest, build/hosttest,
 * /boot) it is loaded too; otherwise that test is skipped.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asm/e820.h>
#include <linux/kvm.h>

#include "lib/layout.h"
#include "vmm/boot.h"
#include "vmm/memory.h"

/* Offsets from Documentation/arch/x86/boot.rst, relative to the image. */
#define O_SETUP_SECTS	0x1f1
#define O_BOOT_FLAG	0x1fe
#define O_JUMP		0x200
#define O_HEADER	0x202
#define O_VERSION	0x206
#define O_KERNEL_VER	0x20e
#define O_LOADER	0x210
#define O_LOADFLAGS	0x211
#define O_RAMDISK_IMG	0x218
#define O_RAMDISK_SIZE	0x21c
#define O_HEAP_END	0x224
#define O_CMD_LINE_PTR	0x228
#define O_INITRD_MAX	0x22c
#define O_ALIGN		0x230
#define O_RELOCATABLE	0x234
#define O_XLOADFLAGS	0x236
#define O_CMDLINE_SIZE	0x238
#define O_PREF_ADDR	0x258
#define O_INIT_SIZE	0x260
#define HDR_END		0x26c	/* 0x202 + the jump offset we write (0x6a) */
/* And in the zero page. */
#define ZP_RSDP		0x070
#define ZP_EXT_RD_IMG	0x0c0
#define ZP_E820_ENTRIES	0x1e8
#define ZP_SENTINEL	0x1ef
#define ZP_E820_TABLE	0x2d0

struct fake {
	u16 version;
	u8 setup_sects;
	u8 loadflags;
	u16 xloadflags;
	u32 init_size;
	u64 pref;
	u32 align;
	u32 initrd_max;
	u32 cmdline_size;
	size_t pm_size;
	size_t file_size;	/* 0: the natural size */
	bool bad_flag, bad_magic;
};

static const struct fake good = {
	.version = 0x020f,
	.setup_sects = 0x1b,
	.loadflags = LOADED_HIGH,
	.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
	.init_size = 4 * MiB,
	.pref = 16 * MiB,
	.align = 2 * MiB,
	.initrd_max = 0x7fffffff,
	.cmdline_size = 2047,
	.pm_size = 300 * 1024 + 17,
};

static void put16(u8 *p, unsigned off, u16 v) { memcpy(p + off, &v, 2); }
static void put32(u8 *p, unsigned off, u32 v) { memcpy(p + off, &v, 4); }
static void put64(u8 *p, unsigned off, u64 v) { memcpy(p + off, &v, 8); }
static u16 get16(const u8 *p, unsigned off) { u16 v; memcpy(&v, p + off, 2); return v; }
static u32 get32(const u8 *p, unsigned off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 get64(const u8 *p, unsigned off) { u64 v; memcpy(&v, p + off, 8); return v; }

static u8 pm_byte(size_t i)
{
	return (u8)(i * 7 + 3);
}

static char *write_temp(const void *buf, size_t len, size_t file_size)
{
	char *path = strdup("/tmp/smpvisor-test-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	if (file_size)
		assert_int_equal(ftruncate(fd, (off_t)file_size), 0);
	close(fd);
	return path;
}

/* Write a synthetic bzImage; returns its malloc'ed path. */
static char *write_kernel(const struct fake *f)
{
	unsigned sects = f->setup_sects ? f->setup_sects : 4;
	size_t off = (sects + 1) * 512, len = off + f->pm_size, i;
	u8 *img = calloc(1, len);
	char *path;

	assert_non_null(img);
	img[O_SETUP_SECTS] = f->setup_sects;
	put16(img, O_BOOT_FLAG, f->bad_flag ? 0x1234 : 0xaa55);
	img[O_JUMP] = 0xeb;
	img[O_JUMP + 1] = HDR_END - O_HEADER;
	memcpy(img + O_HEADER, f->bad_magic ? "HdrX" : "HdrS", 4);
	put16(img, O_VERSION, f->version);
	put16(img, O_KERNEL_VER, 0x1234);
	img[O_LOADFLAGS] = f->loadflags;
	put32(img, O_INITRD_MAX, f->initrd_max);
	put32(img, O_ALIGN, f->align);
	img[O_RELOCATABLE] = 1;
	put16(img, O_XLOADFLAGS, f->xloadflags);
	put32(img, O_CMDLINE_SIZE, f->cmdline_size);
	put64(img, O_PREF_ADDR, f->pref);
	put32(img, O_INIT_SIZE, f->init_size);
	/* Code after the header that must not reach the zero page. */
	memset(img + HDR_END, 0xcc, 16);
	for (i = 0; i < f->pm_size; i++)
		img[off + i] = pm_byte(i);
	path = write_temp(img, f->file_size ? MIN(len, f->file_size) : len, 0);
	free(img);
	return path;
}

static char *write_initrd(size_t size, bool sparse)
{
	u8 *buf = malloc(sparse ? 1 : size);
	char *path;
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < (sparse ? 1 : size); i++)
		buf[i] = (u8)(i ^ (i >> 8));
	path = write_temp(buf, sparse ? 1 : size, sparse ? size : 0);
	free(buf);
	return path;
}

static void drop(char *path)
{
	unlink(path);
	free(path);
}

static void mem_setup(struct guest_mem *m, u64 size)
{
	assert_int_equal(guest_mem_layout(m, size), 0);
	assert_int_equal(guest_mem_alloc(m), 0);
}

/* Load a fake kernel built from f into a guest of mem bytes. */
static int try_load(const struct fake *f, u64 mem, const char *initrd,
		    const char *cmdline)
{
	struct guest_mem m;
	struct boot_info bi;
	char *k = write_kernel(f);
	struct boot_cfg cfg = { .kernel = k, .initrd = initrd,
				.cmdline = cmdline };
	int err;

	mem_setup(&m, mem);
	err = boot_load_linux(&m, &cfg, &bi);
	guest_mem_free(&m);
	drop(k);
	return err;
}

static void test_load_ok(void **state)
{
	const char *cmdline = "console=ttyS0 panic=-1";
	const size_t rd_size = 3 * MiB + 123;
	struct guest_mem m;
	struct boot_info bi;
	char *k = write_kernel(&good), *rd = write_initrd(rd_size, false);
	struct boot_cfg cfg = { .kernel = k, .initrd = rd, .cmdline = cmdline,
				.rsdp_gpa = ACPI_TABLES_ADDR };
	const u8 *zp, *pm, *ird;
	u64 top = 64 * MiB;
	size_t i;

	mem_setup(&m, 64 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	assert_int_equal(bi.protocol, 0x020f);
	assert_int_equal(bi.kernel_addr, KERNEL_LOAD_ADDR);
	assert_int_equal(bi.kernel_size, good.pm_size);
	assert_int_equal(bi.kernel_end, 16 * MiB + 4 * MiB);
	assert_int_equal(bi.entry, KERNEL_LOAD_ADDR + 0x200);
	assert_int_equal(bi.zero_page, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(bi.cmdline, BOOT_CMDLINE_ADDR);
	assert_int_equal(bi.pgtable, BOOT_PGTABLE_ADDR);
	assert_int_equal(bi.gdt, BOOT_GDT_ADDR);
	assert_int_equal(bi.gdt_limit, 31);

	/* The protected-mode part, byte for byte, at 1 MiB. */
	pm = gpa_to_hva(&m, KERNEL_LOAD_ADDR, good.pm_size);
	assert_non_null(pm);
	for (i = 0; i < good.pm_size; i++)
		if (pm[i] != pm_byte(i))
			fail_msg("kernel byte %zu differs", i);

	/* The initrd: page aligned, as high as possible, intact. */
	assert_int_equal(bi.initrd_size, rd_size);
	assert_int_equal(bi.initrd_addr % 4096, 0);
	assert_true(bi.initrd_addr >= bi.kernel_end);
	assert_true(bi.initrd_addr + rd_size <= top);
	assert_true(top - (bi.initrd_addr + rd_size) < 4096);
	ird = gpa_to_hva(&m, bi.initrd_addr, rd_size);
	assert_non_null(ird);
	for (i = 0; i < rd_size; i++)
		if (ird[i] != (u8)(i ^ (i >> 8)))
			fail_msg("initrd byte %zu differs", i);

	assert_string_equal(gpa_to_hva(&m, BOOT_CMDLINE_ADDR, 1), cmdline);

	/* Zero page: the kernel's header, then the loader's fields. */
	zp = gpa_to_hva(&m, BOOT_ZERO_PAGE_ADDR, 4096);
	assert_non_null(zp);
	assert_memory_equal(zp + O_HEADER, "HdrS", 4);
	assert_int_equal(get16(zp, O_VERSION), 0x020f);
	assert_int_equal(get16(zp, O_KERNEL_VER), 0x1234);
	assert_int_equal(zp[O_SETUP_SECTS], good.setup_sects);
	assert_int_equal(get16(zp, O_BOOT_FLAG), 0xaa55);
	assert_int_equal(zp[O_LOADER], 0xff);
	assert_int_equal(zp[O_LOADFLAGS] & (LOADED_HIGH | CAN_USE_HEAP),
			 LOADED_HIGH | CAN_USE_HEAP);
	assert_int_equal(get16(zp, O_HEAP_END), 0xfe00);
	assert_int_equal(get32(zp, O_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
	assert_int_equal(get32(zp, O_RAMDISK_IMG), bi.initrd_addr);
	assert_int_equal(get32(zp, O_RAMDISK_SIZE), rd_size);
	assert_int_equal(get32(zp, ZP_EXT_RD_IMG), 0);
	assert_int_equal(get64(zp, ZP_RSDP), ACPI_TABLES_ADDR);
	assert_int_equal(get32(zp, O_INIT_SIZE), good.init_size);
	assert_int_equal(zp[ZP_SENTINEL], 0);
	for (i = HDR_END; i < HDR_END + 16; i++)
		assert_int_equal(zp[i], 0);	/* past the header: not copied */
	assert_true(zp[ZP_E820_ENTRIES] >= 4);
	/* First entry: conventional memory from 0. */
	assert_int_equal(get64(zp, ZP_E820_TABLE), 0);
	assert_int_equal(get64(zp, ZP_E820_TABLE + 8), EBDA_START);
	assert_int_equal(get32(zp, ZP_E820_TABLE + 16), E820_RAM);

	guest_mem_free(&m);
	drop(k);
	drop(rd);
}

/*
 * From files already open (a reset in place): the same kernel and
 * initrd land byte for byte, the paths are not opened (they name
 * nothing here), and the fds stay open for the next reset.
 */
static void test_load_from_open_fds(void **state)
{
	const size_t rd_size = 1 * MiB + 7;
	struct guest_mem m;
	struct boot_info bi, again;
	char *k = write_kernel(&good), *rd = write_initrd(rd_size, false);
	int kfd = open(k, O_RDONLY | O_CLOEXEC), rfd = open(rd, O_RDONLY | O_CLOEXEC);
	struct boot_cfg cfg = { .kernel = "/nonexistent/kernel",
				.initrd = "/nonexistent/initrd",
				.kernel_fd = kfd, .initrd_fd = rfd,
				.cmdline = "console=ttyS0" };
	const u8 *ird;
	size_t i;

	(void)state;
	assert_true(kfd > 0 && rfd > 0);
	mem_setup(&m, 64 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	assert_int_equal(bi.kernel_size, good.pm_size);
	assert_int_equal(bi.initrd_size, rd_size);
	ird = gpa_to_hva(&m, bi.initrd_addr, rd_size);
	for (i = 0; i < rd_size; i++)
		if (ird[i] != (u8)(i ^ (i >> 8)))
			fail_msg("initrd byte %zu differs", i);
	/* Again, from the same fds: they were neither closed nor moved. */
	memset((void *)ird, 0, rd_size);
	assert_int_equal(boot_load_linux(&m, &cfg, &again), 0);
	assert_int_equal(again.initrd_addr, bi.initrd_addr);
	assert_int_equal(((const u8 *)gpa_to_hva(&m, bi.initrd_addr, rd_size))[1], 1);
	assert_true(fcntl(kfd, F_GETFD) >= 0 && fcntl(rfd, F_GETFD) >= 0);
	close(kfd);
	close(rfd);
	guest_mem_free(&m);
	drop(k);
	drop(rd);
}

static void test_load_no_initrd_no_cmdline(void **state)
{
	struct guest_mem m;
	struct boot_info bi;
	char *k = write_kernel(&good);
	struct boot_cfg cfg = { .kernel = k };
	const u8 *zp;

	mem_setup(&m, 32 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	assert_int_equal(bi.initrd_addr, 0);
	zp = gpa_to_hva(&m, BOOT_ZERO_PAGE_ADDR, 4096);
	assert_int_equal(get32(zp, O_RAMDISK_IMG), 0);
	assert_int_equal(get32(zp, O_RAMDISK_SIZE), 0);
	assert_int_equal(get64(zp, ZP_RSDP), 0);
	assert_string_equal(gpa_to_hva(&m, BOOT_CMDLINE_ADDR, 1), "");
	guest_mem_free(&m);
	drop(k);
}

static void test_setup_sects_zero(void **state)
{
	struct fake f = good;
	struct guest_mem m;
	struct boot_info bi;
	char *k;
	struct boot_cfg cfg = { 0 };
	const u8 *pm;

	f.setup_sects = 0;	/* means 4 */
	k = write_kernel(&f);
	cfg.kernel = k;
	mem_setup(&m, 32 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	assert_int_equal(bi.kernel_size, f.pm_size);
	pm = gpa_to_hva(&m, KERNEL_LOAD_ADDR, 2);
	assert_int_equal(pm[0], pm_byte(0));
	assert_int_equal(pm[1], pm_byte(1));
	guest_mem_free(&m);
	drop(k);
}

static void test_header_errors(void **state)
{
	struct fake f;
	char *missing = write_temp("x", 1, 0);

	f = good, f.bad_flag = true;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	f = good, f.bad_magic = true;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	f = good, f.version = 0x020b;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	f = good, f.version = 0x020c;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), 0);
	f = good, f.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	f = good, f.loadflags = 0;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	/* Setup claims more sectors than the file has. */
	f = good, f.setup_sects = 200, f.pm_size = 0, f.file_size = 4096;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	/* Shorter than a boot sector and the setup header. */
	f = good, f.file_size = 600;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);
	/* Absurd preferred address. */
	f = good, f.pref = ~0ULL - 4095;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOEXEC);

	/* A file that does not exist, and a directory. */
	unlink(missing);
	{
		struct guest_mem m;
		struct boot_info bi;
		struct boot_cfg cfg = { .kernel = missing };

		mem_setup(&m, 32 * MiB);
		assert_int_equal(boot_load_linux(&m, &cfg, &bi), -ENOENT);
		cfg.kernel = "/tmp";
		assert_int_equal(boot_load_linux(&m, &cfg, &bi), -EINVAL);
		guest_mem_free(&m);
	}
	free(missing);
}

static void test_memory_too_small(void **state)
{
	struct fake f = good;

	f.init_size = 100 * MiB;	/* 16 MiB + 100 MiB > 64 MiB */
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOMEM);
	assert_int_equal(try_load(&f, 128 * MiB, NULL, NULL), 0);
	/* Exactly enough: the area may end at the end of RAM. */
	f.init_size = 48 * MiB;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), 0);
	f.init_size = 48 * MiB + 4096;
	assert_int_equal(try_load(&f, 64 * MiB, NULL, NULL), -ENOMEM);
	/* Image larger than memory, init_size small. */
	f = good;
	f.pm_size = 20 * MiB;
	assert_int_equal(try_load(&f, 16 * MiB, NULL, NULL), -ENOMEM);
}

static void test_initrd_errors(void **state)
{
	struct fake f = good;
	char *big = write_initrd(50 * MiB, true);
	char *mid = write_initrd(16 * MiB, true);
	char *empty = write_temp("", 0, 0);

	/* 64 MiB guest, kernel area ends at 20 MiB: 44 MiB left. */
	assert_int_equal(try_load(&good, 64 * MiB, big, NULL), -ENOMEM);
	assert_int_equal(try_load(&good, 128 * MiB, big, NULL), 0);
	/* initrd_addr_max caps the top below the end of RAM. */
	f.initrd_max = 32 * MiB - 1;
	assert_int_equal(try_load(&f, 64 * MiB, mid, NULL), -ENOMEM);
	f.initrd_max = 36 * MiB - 1;
	assert_int_equal(try_load(&f, 64 * MiB, mid, NULL), 0);
	assert_int_equal(try_load(&good, 64 * MiB, empty, NULL), -EINVAL);
	assert_int_equal(try_load(&good, 64 * MiB, "/nonexistent/initrd", NULL),
			 -ENOENT);
	drop(big);
	drop(mid);
	drop(empty);
}

static void test_initrd_placement_cap(void **state)
{
	struct fake f = good;
	struct guest_mem m;
	struct boot_info bi;
	char *k, *rd = write_initrd(1 * MiB, false);
	struct boot_cfg cfg = { 0 };

	f.initrd_max = 40 * MiB - 1;
	k = write_kernel(&f);
	cfg.kernel = k;
	cfg.initrd = rd;
	mem_setup(&m, 64 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	assert_int_equal(bi.initrd_addr, 39 * MiB);
	guest_mem_free(&m);
	drop(k);
	drop(rd);
}

static void test_cmdline_limit(void **state)
{
	struct fake f = good;
	char line[64];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	f.cmdline_size = 63;	/* excludes the NUL */
	assert_int_equal(try_load(&f, 32 * MiB, NULL, line), 0);
	f.cmdline_size = 62;
	assert_int_equal(try_load(&f, 32 * MiB, NULL, line), -E2BIG);
}

/* Check e820 invariants against the layout of m. */
static void check_e820(const struct guest_mem *m)
{
	struct boot_e820_entry t[E820_MAX_ENTRIES_ZEROPAGE];
	bool ebda = false, ecam = false, apic = false;
	u64 ram = 0;
	int n, i;
	unsigned r;

	n = boot_build_e820(m, t, ARRAY_SIZE(t));
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		assert_true(t[i].size > 0);
		if (i) {
			assert_true(t[i - 1].addr + t[i - 1].size <= t[i].addr);
			/* Adjacent RAM is merged. */
			assert_false(t[i - 1].type == E820_RAM &&
				     t[i].type == E820_RAM &&
				     t[i - 1].addr + t[i - 1].size == t[i].addr);
		}
		if (t[i].type == E820_RAM) {
			u64 a = t[i].addr, e = a + t[i].size;

			ram += t[i].size;
			assert_true(e <= EBDA_START || a >= KERNEL_LOAD_ADDR);
			assert_true(e <= MMIO_HOLE_START || a >= HIGH_RAM_START);
			/* Every RAM byte is guest RAM (first and last). */
			assert_non_null(guest_mem_find(m, a));
			assert_non_null(guest_mem_find(m, e - 1));
		} else {
			assert_int_equal(t[i].type, E820_RESERVED);
			ebda |= t[i].addr == EBDA_START &&
				t[i].size == KERNEL_LOAD_ADDR - EBDA_START;
			ecam |= t[i].addr == PCI_ECAM_ADDR &&
				t[i].size == PCI_ECAM_SIZE;
			apic |= t[i].addr <= IOAPIC_ADDR &&
				t[i].addr + t[i].size >= LAPIC_ADDR + 4096 &&
				t[i].addr + t[i].size >= KVM_TSS_ADDR + 3 * 4096;
		}
	}
	assert_true(ebda && ecam && apic);
	/* All guest RAM but the EBDA-to-1 MiB window is reported. */
	assert_int_equal(ram, m->size - (KERNEL_LOAD_ADDR - EBDA_START));
	/* Each region's last byte is reported RAM. */
	for (r = 0; r < m->nr; r++) {
		u64 last = m->regions[r].gpa + m->regions[r].size - 1;
		bool found = false;

		for (i = 0; i < n; i++)
			found |= t[i].type == E820_RAM && t[i].addr <= last &&
				 last - t[i].addr < t[i].size;
		assert_true(found);
	}
}

static void test_e820_sizes(void **state)
{
	static const u64 sizes[] = { 16 * MiB, 64 * MiB, 1 * GiB, 3 * GiB - 4096,
				     3 * GiB, 3 * GiB + 4096, 4 * GiB, 8 * GiB,
				     1024 * GiB };
	struct boot_e820_entry t[16];
	struct guest_mem m;
	unsigned i;
	int n;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		assert_int_equal(guest_mem_layout(&m, sizes[i]), 0);
		check_e820(&m);
	}
	/* 64 MiB: RAM, EBDA, RAM, ECAM, APIC area. */
	assert_int_equal(guest_mem_layout(&m, 64 * MiB), 0);
	n = boot_build_e820(&m, t, ARRAY_SIZE(t));
	assert_int_equal(n, 5);
	assert_int_equal(t[2].addr, KERNEL_LOAD_ADDR);
	assert_int_equal(t[2].size, 63 * MiB);
	/* 3 GiB: the same shape, RAM up to the hole. */
	assert_int_equal(guest_mem_layout(&m, 3 * GiB), 0);
	n = boot_build_e820(&m, t, ARRAY_SIZE(t));
	assert_int_equal(n, 5);
	assert_int_equal(t[2].addr + t[2].size, MMIO_HOLE_START);
	/* 8 GiB: plus 5 GiB above 4 GiB, last. */
	assert_int_equal(guest_mem_layout(&m, 8 * GiB), 0);
	n = boot_build_e820(&m, t, ARRAY_SIZE(t));
	assert_int_equal(n, 6);
	assert_int_equal(t[5].addr, HIGH_RAM_START);
	assert_int_equal(t[5].size, 5 * GiB);
	assert_int_equal(t[5].type, E820_RAM);
	/* Too small a table. */
	assert_int_equal(boot_build_e820(&m, t, 3), -ENOSPC);
}

static void test_e820_numa(void **state)
{
	const u64 nodes[] = { 512 * KiB, 2 * GiB, 2 * GiB, 1 * GiB };
	struct boot_e820_entry t[16];
	struct guest_mem m;
	int n;

	/* Node 0 ends below the EBDA, node 1 straddles the hole. */
	assert_int_equal(guest_mem_layout_nodes(&m, nodes, 4), 0);
	check_e820(&m);
	n = boot_build_e820(&m, t, ARRAY_SIZE(t));
	/* Node boundaries merge away: the map is the same as one node's. */
	assert_int_equal(n, 6);
	assert_int_equal(t[0].size, EBDA_START);
}

/* Walk the 4-level tables like the MMU; ~0 when not mapped. */
static u64 walk(const struct guest_mem *m, u64 cr3, u64 va)
{
	const u64 *pml4 = gpa_to_hva(m, cr3 & ~0xfffULL, 4096), *pdpt, *pd;
	u64 e;

	assert_non_null(pml4);
	e = pml4[(va >> 39) & 511];
	if (!(e & 1))
		return ~0ULL;
	pdpt = gpa_to_hva(m, e & 0xffffffffff000ULL, 4096);
	assert_non_null(pdpt);
	e = pdpt[(va >> 30) & 511];
	if (!(e & 1))
		return ~0ULL;
	assert_false(e & 0x80);	/* no 1 GiB pages */
	pd = gpa_to_hva(m, e & 0xffffffffff000ULL, 4096);
	assert_non_null(pd);
	e = pd[(va >> 21) & 511];
	if (!(e & 1))
		return ~0ULL;
	assert_true(e & 0x80);	/* 2 MiB page */
	assert_true(e & 0x2);	/* writable */
	return (e & 0xfffffffe00000ULL) | (va & (2 * MiB - 1));
}

static void test_pgtables_and_gdt(void **state)
{
	static const u64 va[] = { 0, 0x7000, BOOT_CMDLINE_ADDR, 0x100200,
				  16 * MiB + 12345, 3 * GiB - 1, LAPIC_ADDR,
				  4 * GiB - 1 };
	struct guest_mem m;
	struct boot_info bi;
	char *k = write_kernel(&good);
	struct boot_cfg cfg = { .kernel = k };
	struct kvm_sregs s;
	struct kvm_regs r;
	const u64 *gdt;
	unsigned i;

	mem_setup(&m, 4 * GiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	for (i = 0; i < ARRAY_SIZE(va); i++)
		assert_int_equal(walk(&m, bi.pgtable, va[i]), va[i]);
	assert_int_equal(walk(&m, bi.pgtable, 4 * GiB), ~0ULL);
	assert_int_equal(walk(&m, bi.pgtable, 1ULL << 39), ~0ULL);

	/* sregs as KVM has them after reset, then the 64-bit entry state. */
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;
	boot_setup_sregs(&bi, &s);
	assert_int_equal(s.cr0 & 0x80000001, 0x80000001);	/* PG, PE */
	assert_int_equal(s.cr0 & 0x60000000, 0);		/* CD, NW */
	assert_true(s.cr4 & (1 << 5));				/* PAE */
	assert_int_equal(s.efer & 0x500, 0x500);		/* LME, LMA */
	assert_int_equal(s.cr3, BOOT_PGTABLE_ADDR);
	assert_int_equal(s.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(s.gdt.limit, 31);
	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.type & 0x8, 0x8);			/* code */
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.dpl, 0);
	assert_int_equal(s.ds.selector, 0x18);
	assert_int_equal(s.ds.type & 0xa, 0x2);			/* data, writable */
	assert_int_equal(s.ds.limit, 0xffffffff);
	assert_int_equal(s.ds.base, 0);
	assert_int_equal(s.ss.selector, 0x18);
	assert_int_equal(s.es.selector, 0x18);

	/* The GDT in guest memory says the same as the segment registers. */
	gdt = gpa_to_hva(&m, BOOT_GDT_ADDR, 32);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0);
	for (i = 0; i < 2; i++) {
		const struct kvm_segment *seg = i ? &s.ds : &s.cs;
		u64 d = gdt[seg->selector / 8];
		u32 lim = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));

		assert_int_equal((d >> 40) & 0xf, seg->type);
		assert_int_equal((d >> 44) & 1, seg->s);
		assert_int_equal((d >> 45) & 3, seg->dpl);
		assert_int_equal((d >> 47) & 1, seg->present);
		assert_int_equal((d >> 53) & 1, seg->l);
		assert_int_equal((d >> 54) & 1, seg->db);
		assert_int_equal((d >> 55) & 1, seg->g);
		assert_int_equal(((d >> 16) & 0xffffff) | ((d >> 56) << 24),
				 seg->base);
		assert_int_equal(((u64)lim << 12) | 0xfff, seg->limit);
	}

	memset(&r, 0xff, sizeof(r));
	boot_setup_regs(&bi, &r);
	assert_int_equal(r.rip, KERNEL_LOAD_ADDR + 0x200);
	assert_int_equal(r.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rsp, BOOT_STACK_TOP);
	assert_int_equal(r.rax, 0);

	guest_mem_free(&m);
	drop(k);
}

/* A real distribution kernel, when one is at hand. */
static char *find_real_kernel(void)
{
	static const char *const pats[] = {
		"build/guest/vmlinuz", "build/hosttest/*/vmlinuz",
		"/boot/vmlinuz-*",
	};
	const char *env = getenv("SMPVISOR_TEST_KERNEL");
	char *found = NULL;
	unsigned i;

	if (env && *env)
		return strdup(env);
	for (i = 0; i < ARRAY_SIZE(pats) && !found; i++) {
		glob_t g;

		if (glob(pats[i], 0, NULL, &g) == 0 && g.gl_pathc &&
		    access(g.gl_pathv[0], R_OK) == 0)
			found = strdup(g.gl_pathv[0]);
		globfree(&g);
	}
	return found;
}

static void test_real_kernel(void **state)
{
	char *k = find_real_kernel();
	struct guest_mem m;
	struct boot_info bi;
	struct boot_cfg cfg = { .cmdline = "console=ttyS0" };
	char *rd = NULL, *slash;
	const u8 *zp;

	if (!k) {
		skip();
		return;
	}
	cfg.kernel = k;
	/* Its initrd too, if it has one beside it. */
	slash = strrchr(k, '/');
	if (asprintf(&rd, "%.*s/initrd.img", slash ? (int)(slash - k) : 1,
		     slash ? k : ".") < 0)
		fail();
	if (access(rd, R_OK) == 0)
		cfg.initrd = rd;
	mem_setup(&m, 512 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), 0);
	if (cfg.initrd) {
		assert_true(bi.initrd_size > 0);
		assert_true(bi.initrd_addr >= bi.kernel_end);
		assert_true(bi.initrd_addr + bi.initrd_size <= 512 * MiB);
	}
	assert_true(bi.protocol >= 0x020c);
	assert_true(bi.kernel_size > 1 * MiB);
	assert_true(bi.kernel_end > bi.kernel_addr + bi.kernel_size);
	zp = gpa_to_hva(&m, BOOT_ZERO_PAGE_ADDR, 4096);
	assert_memory_equal(zp + O_HEADER, "HdrS", 4);
	assert_true(get16(zp, O_XLOADFLAGS) & XLF_KERNEL_64);
	assert_int_equal(zp[O_LOADER], 0xff);
	/* A 32 MiB guest is too small for any distribution kernel. */
	guest_mem_free(&m);
	mem_setup(&m, 32 * MiB);
	assert_int_equal(boot_load_linux(&m, &cfg, &bi), -ENOMEM);
	guest_mem_free(&m);
	free(rd);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_ok),
		cmocka_unit_test(test_load_from_open_fds),
		cmocka_unit_test(test_load_no_initrd_no_cmdline),
		cmocka_unit_test(test_setup_sects_zero),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_memory_too_small),
		cmocka_unit_test(test_initrd_errors),
		cmocka_unit_test(test_initrd_placement_cap),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_e820_sizes),
		cmocka_unit_test(test_e820_numa),
		cmocka_unit_test(test_pgtables_and_gdt),
		cmocka_unit_test(test_real_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
