// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables: walk them from the RSDP the way an OS does, check every
 * checksum, length and field we promise (offsets from the ACPI 6.x spec,
 * not from acpi.c's structs), the MADT's per-vCPU entries for xAPIC and
 * x2APIC IDs, SRAT/SLIT/MCFG, the error cases, and finally hand every
 * table to the ACPICA disassembler (iasl -d), recompiling the DSDT, to
 * have an independent parser accept them. The iasl part is skipped if
 * iasl is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/layout.h"
#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "vmm/memory.h"

struct env {
	struct guest_mem m;
	u64 rsdp;
};

static u16 get16(const u8 *p, unsigned off) { u16 v; memcpy(&v, p + off, 2); return v; }
static u32 get32(const u8 *p, unsigned off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 get64(const u8 *p, unsigned off) { u64 v; memcpy(&v, p + off, 8); return v; }

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || guest_mem_layout(&e->m, 64 * MiB) || guest_mem_alloc(&e->m))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	guest_mem_free(&e->m);
	free(e);
	return 0;
}

/* A table at gpa, checked: inside the window, checksum zero. */
static const u8 *table_at(const struct env *e, u64 gpa, const char *sig)
{
	const u8 *t = gpa_to_hva(&e->m, gpa, 36);
	u32 len;

	assert_non_null(t);
	assert_true(gpa >= ACPI_TABLES_ADDR);
	len = get32(t, 4);
	assert_true(len >= 36);
	assert_true(gpa + len <= ACPI_TABLES_END);
	if (sig)
		assert_memory_equal(t, sig, 4);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "SMPVSR", 6);
	return t;
}

/* Find a table by signature through the XSDT; NULL if absent. */
static const u8 *find_table(const struct env *e, const char *sig)
{
	const u8 *rsdp = gpa_to_hva(&e->m, e->rsdp, 36);
	const u8 *x = table_at(e, get64(rsdp, 24), "XSDT");
	unsigned i, n = (get32(x, 4) - 36) / 8;

	for (i = 0; i < n; i++) {
		const u8 *t = table_at(e, get64(x, 36 + 8 * i), NULL);

		if (!memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static void build(struct env *e, const struct acpi_machine *mc)
{
	assert_int_equal(acpi_build(&e->m, mc, &e->rsdp), 0);
}

static void test_rsdp_xsdt_rsdt(void **state)
{
	struct env *e = *state;
	const u32 ids[] = { 0 };
	struct acpi_machine mc = { .nr_cpus = 1, .apic_ids = ids };
	const u8 *r, *x, *rs;
	unsigned i, n;

	build(e, &mc);
	assert_int_equal(e->rsdp, ACPI_TABLES_ADDR);	/* legacy scan finds it */
	r = gpa_to_hva(&e->m, e->rsdp, 36);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_int_equal(r[15], 2);			/* revision */
	assert_int_equal(get32(r, 20), 36);		/* length */
	x = table_at(e, get64(r, 24), "XSDT");
	rs = table_at(e, get32(r, 16), "RSDT");
	n = (get32(x, 4) - 36) / 8;
	assert_int_equal(get32(x, 4), 36 + 8 * n);
	assert_int_equal(n, 2);				/* FACP, APIC */
	assert_int_equal(get32(rs, 4), 36 + 4 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(get64(x, 36 + 8 * i), get32(rs, 36 + 4 * i));
		table_at(e, get64(x, 36 + 8 * i), NULL);
	}
	assert_non_null(find_table(e, "FACP"));
	assert_non_null(find_table(e, "APIC"));
	assert_null(find_table(e, "SRAT"));
	assert_null(find_table(e, "MCFG"));
}

static void test_fadt(void **state)
{
	struct env *e = *state;
	const u32 ids[] = { 0, 1 };
	struct acpi_machine mc = { .nr_cpus = 2, .apic_ids = ids };
	const u8 *f, *d, *facs;
	u32 flags;
	u16 arch;

	build(e, &mc);
	f = find_table(e, "FACP");
	assert_non_null(f);
	assert_int_equal(get32(f, 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[131], 0);			/* minor version */
	d = table_at(e, get32(f, 40), "DSDT");
	assert_int_equal(get64(f, 140), get32(f, 40));	/* X_DSDT */
	assert_int_equal(d[8], 2);			/* 64-bit integers */
	facs = gpa_to_hva(&e->m, get32(f, 36), 64);
	assert_non_null(facs);
	assert_int_equal(get32(f, 36) % 64, 0);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get32(facs, 4), 64);
	assert_int_equal(get16(f, 46), ACPI_SCI_IRQ);
	assert_int_equal(get32(f, 48), 0);		/* SMI_CMD: always on */
	assert_int_equal(get32(f, 56), ACPI_PM1A_EVT_PORT);
	assert_int_equal(get32(f, 64), ACPI_PM1A_CNT_PORT);
	assert_int_equal(get32(f, 76), 0);		/* no PM timer */
	assert_int_equal(f[88], ACPI_PM1A_EVT_LEN);
	assert_int_equal(f[89], ACPI_PM1A_CNT_LEN);
	assert_int_equal(f[91], 0);
	arch = get16(f, 109);
	assert_int_equal(arch & (1 << 1), 0);		/* no 8042 */
	assert_int_not_equal(arch & (1 << 2), 0);	/* VGA not present */
	assert_int_equal(arch & (1 << 3), 0);		/* MSI works */
	flags = get32(f, 112);
	assert_int_equal(flags & (1 << 4), 0);		/* fixed power button */
	assert_int_not_equal(flags & (1 << 5), 0);	/* no sleep button */
	assert_int_not_equal(flags & (1 << 10), 0);	/* RESET_REG_SUP */
	assert_int_equal(flags & (1 << 20), 0);		/* not HW-reduced */
	/* RESET_REG: system I/O, 8 bits, byte access. */
	assert_int_equal(f[116], 1);
	assert_int_equal(f[117], 8);
	assert_int_equal(f[118], 0);
	assert_int_equal(f[119], 1);
	assert_int_equal(get64(f, 120), ACPI_RESET_PORT);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK agree with the 32-bit fields. */
	assert_int_equal(f[148], 1);
	assert_int_equal(f[149], 8 * ACPI_PM1A_EVT_LEN);
	assert_int_equal(get64(f, 152), ACPI_PM1A_EVT_PORT);
	assert_int_equal(f[172], 1);
	assert_int_equal(f[173], 8 * ACPI_PM1A_CNT_LEN);
	assert_int_equal(get64(f, 176), ACPI_PM1A_CNT_PORT);
	assert_int_equal(get64(f, 208 + 4), 0);		/* X_PM_TMR_BLK */
}

/* Count MADT entries and check them against ids[]. */
static void check_madt(const struct env *e, const u32 *ids, unsigned n)
{
	const u8 *t = find_table(e, "APIC"), *p, *end;
	unsigned lapic = 0, x2apic = 0, ioapic = 0, iso = 0, nmi = 0, x2nmi = 0;
	unsigned cpu = 0, want_x2 = 0, i;

	assert_non_null(t);
	assert_int_equal(get32(t, 36), LAPIC_ADDR);
	assert_int_equal(get32(t, 40) & 1, 1);		/* PCAT_COMPAT */
	for (i = 0; i < n; i++)
		want_x2 += ids[i] >= 255;
	end = t + get32(t, 4);
	for (p = t + 44; p < end; p += p[1]) {
		assert_true(p[1] >= 2);
		assert_true(p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_true(cpu < n);
			assert_int_equal(p[3], ids[cpu]);
			assert_int_equal(p[2], cpu);	/* UID */
			assert_int_equal(get32(p, 4) & 1, 1);
			cpu++;
			lapic++;
			break;
		case 9:
			assert_int_equal(p[1], 16);
			assert_true(cpu < n);
			assert_int_equal(get32(p, 4), ids[cpu]);
			assert_true(ids[cpu] >= 255);
			assert_int_equal(get32(p, 8) & 1, 1);
			assert_int_equal(get32(p, 12), cpu);
			cpu++;
			x2apic++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], 0);
			assert_int_equal(get32(p, 4), IOAPIC_ADDR);
			assert_int_equal(get32(p, 8), 0);
			ioapic++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0);	/* ISA */
			assert_int_equal(p[3], ACPI_SCI_IRQ);
			assert_int_equal(get32(p, 4), ACPI_SCI_IRQ);
			assert_int_equal(get16(p, 8), 0xd); /* level, high */
			iso++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);	/* all processors */
			assert_int_equal(p[5], 1);	/* LINT1 */
			nmi++;
			break;
		case 10:
			assert_int_equal(p[1], 12);
			assert_int_equal(get32(p, 4), 0xffffffff);
			assert_int_equal(p[8], 1);
			x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(cpu, n);
	assert_int_equal(x2apic, want_x2);
	assert_int_equal(lapic, n - want_x2);
	assert_int_equal(ioapic, 1);
	assert_int_equal(iso, 1);
	assert_int_equal(nmi, 1);
	assert_int_equal(x2nmi, want_x2 ? 1 : 0);
}

static void test_madt_counts(void **state)
{
	struct env *e = *state;
	u32 ids[300];
	struct acpi_machine mc = { .apic_ids = ids };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		ids[i] = i;
	mc.nr_cpus = 1;
	build(e, &mc);
	check_madt(e, ids, 1);
	mc.nr_cpus = 4;
	build(e, &mc);
	check_madt(e, ids, 4);
	mc.nr_cpus = 255;		/* IDs 0..254: all xAPIC */
	build(e, &mc);
	check_madt(e, ids, 255);
	mc.nr_cpus = 256;		/* ID 255 needs x2APIC */
	build(e, &mc);
	check_madt(e, ids, 256);
	mc.nr_cpus = 300;
	build(e, &mc);
	check_madt(e, ids, 300);
	/* Sparse IDs, as with a topology of 2 threads x 3 cores padded to 4. */
	for (i = 0; i < 8; i++)
		ids[i] = (i / 2) * 4 + i % 2 + 1000 * (i >= 6);
	mc.nr_cpus = 8;
	build(e, &mc);
	check_madt(e, ids, 8);
}

static void test_bad_machines(void **state)
{
	struct env *e = *state;
	u32 ids[4] = { 0, 1, 2, 1 };
	u32 many[300];
	struct acpi_machine mc = { .nr_cpus = 4, .apic_ids = ids };
	u64 rsdp = 0;
	unsigned i;

	assert_int_equal(acpi_build(&e->m, &mc, &rsdp), -EINVAL); /* dup */
	ids[3] = 0xffffffff;
	assert_int_equal(acpi_build(&e->m, &mc, &rsdp), -EINVAL);
	mc.nr_cpus = 0;
	assert_int_equal(acpi_build(&e->m, &mc, &rsdp), -EINVAL);
	/* An xAPIC ID at vCPU index 255 or more has no 8-bit UID. */
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = 1000 + i;
	many[299] = 5;
	mc.nr_cpus = 300;
	mc.apic_ids = many;
	assert_int_equal(acpi_build(&e->m, &mc, &rsdp), -EINVAL);
	assert_int_equal(rsdp, 0);
}

static void test_too_many_cpus(void **state)
{
	struct env *e = *state;
	const unsigned n = 10000;	/* ~160 KiB of MADT alone */
	u32 *ids = calloc(n, sizeof(*ids));
	struct acpi_machine mc = { .nr_cpus = n, .apic_ids = ids };
	u64 rsdp = 0;
	unsigned i;

	assert_non_null(ids);
	for (i = 0; i < n; i++)
		ids[i] = i;
	assert_int_equal(acpi_build(&e->m, &mc, &rsdp), -ENOSPC);
	free(ids);
}

static void test_unmapped(void **state)
{
	const u32 ids[] = { 0 };
	struct acpi_machine mc = { .nr_cpus = 1, .apic_ids = ids };
	struct guest_mem m;
	u64 rsdp;

	assert_int_equal(guest_mem_layout(&m, 64 * MiB), 0);
	assert_int_equal(acpi_build(&m, &mc, &rsdp), -ENOMEM);
}

static void test_dsdt_contents(void **state)
{
	struct env *e = *state;
	const u32 ids[] = { 0 };
	struct acpi_machine mc = { .nr_cpus = 1, .apic_ids = ids };
	static const u8 s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08,
				 0x04, 0x0a, ACPI_S5_SLP_TYP, 0x0a,
				 ACPI_S5_SLP_TYP, 0x00, 0x00 };
	static const u8 hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
				  0x41, 0xd0, 0x05, 0x01 };
	static const u8 io[] = { 0x47, 0x01, COM1_PORT & 0xff, COM1_PORT >> 8,
				 COM1_PORT & 0xff, COM1_PORT >> 8, 1, 8,
				 0x22, 1 << COM1_IRQ, 0x00, 0x79 };
	/* pvpanic: _HID "QEMU0001" (a string), one IO port at PVPANIC_PORT */
	static const u8 qemu0001[] = { '_', 'H', 'I', 'D', 0x0d, 'Q', 'E', 'M',
				       'U', '0', '0', '0', '1', 0x00 };
	static const u8 pvpanic[] = { 0x47, 0x01, PVPANIC_PORT & 0xff,
				      PVPANIC_PORT >> 8, PVPANIC_PORT & 0xff,
				      PVPANIC_PORT >> 8, 1, 1 };
	const u8 *f, *d;
	u32 len;

	build(e, &mc);
	f = find_table(e, "FACP");
	d = table_at(e, get32(f, 40), "DSDT");
	len = get32(d, 4);
	assert_non_null(memmem(d + 36, len - 36, s5, sizeof(s5)));
	assert_non_null(memmem(d + 36, len - 36, hid, sizeof(hid)));
	assert_non_null(memmem(d + 36, len - 36, io, sizeof(io)));
	assert_non_null(memmem(d + 36, len - 36, "COM1", 4));
	assert_non_null(memmem(d + 36, len - 36, qemu0001, sizeof(qemu0001)));
	assert_non_null(memmem(d + 36, len - 36, pvpanic, sizeof(pvpanic)));
}

static void test_numa_tables(void **state)
{
	const u64 nodes[] = { 2 * GiB, 2 * GiB };
	const u32 ids[] = { 0, 1, 300, 301 };
	const u32 cpu_node[] = { 0, 0, 1, 1 };
	const u8 dist[] = { 10, 21, 21, 10 };
	struct acpi_machine mc = { .nr_cpus = 4, .apic_ids = ids,
				   .nr_nodes = 2, .cpu_node = cpu_node,
				   .distance = dist, .pci_ecam = true };
	struct env e = { 0 };
	const u8 *t, *p, *end;
	unsigned cpus = 0, mems = 0;
	u64 mem = 0;

	assert_int_equal(guest_mem_layout_nodes(&e.m, nodes, 2), 0);
	assert_int_equal(guest_mem_alloc(&e.m), 0);
	build(&e, &mc);

	t = find_table(&e, "SRAT");
	assert_non_null(t);
	assert_int_equal(get32(t, 36), 1);
	end = t + get32(t, 4);
	for (p = t + 48; p < end; p += p[1]) {
		if (p[0] == 0) {
			assert_int_equal(p[1], 16);
			assert_int_equal(p[3], ids[cpus]);
			assert_int_equal(p[2], cpu_node[cpus]);
			assert_int_equal(get32(p, 4) & 1, 1);
			cpus++;
		} else if (p[0] == 2) {
			assert_int_equal(p[1], 24);
			assert_int_equal(get32(p, 8), ids[cpus]);
			assert_int_equal(get32(p, 4), cpu_node[cpus]);
			cpus++;
		} else {
			assert_int_equal(p[0], 1);
			assert_int_equal(p[1], 40);
			assert_int_equal(get32(p, 2), e.m.regions[mems].node);
			assert_int_equal(get64(p, 8), e.m.regions[mems].gpa);
			assert_int_equal(get64(p, 16), e.m.regions[mems].size);
			assert_int_equal(get32(p, 28) & 1, 1);
			mem += get64(p, 16);
			mems++;
		}
	}
	assert_int_equal(cpus, 4);
	assert_int_equal(mems, e.m.nr);
	assert_int_equal(mem, 4 * GiB);

	t = find_table(&e, "SLIT");
	assert_non_null(t);
	assert_int_equal(get64(t, 36), 2);
	assert_int_equal(get32(t, 4), 44 + 4);
	assert_memory_equal(t + 44, dist, 4);

	t = find_table(&e, "MCFG");
	assert_non_null(t);
	assert_int_equal(get32(t, 4), 44 + 16);
	assert_int_equal(get64(t, 44), PCI_ECAM_ADDR);
	assert_int_equal(get16(t, 52), 0);
	assert_int_equal(t[54], 0);
	assert_int_equal(t[55], 255);

	/* Broken NUMA descriptions. */
	{
		const u8 bad_local[] = { 11, 21, 21, 10 };
		const u8 bad_remote[] = { 10, 10, 21, 10 };
		const u32 bad_node[] = { 0, 0, 2, 1 };
		struct acpi_machine b = mc;
		u64 r;

		b.distance = bad_local;
		assert_int_equal(acpi_build(&e.m, &b, &r), -EINVAL);
		b.distance = bad_remote;
		assert_int_equal(acpi_build(&e.m, &b, &r), -EINVAL);
		b = mc;
		b.cpu_node = bad_node;
		assert_int_equal(acpi_build(&e.m, &b, &r), -EINVAL);
		b = mc;
		b.nr_nodes = 1;		/* memory on node 1 */
		b.cpu_node = (const u32[]){ 0, 0, 0, 0 };
		b.distance = NULL;
		assert_int_equal(acpi_build(&e.m, &b, &r), -EINVAL);
		b = mc;
		b.cpu_node = NULL;
		assert_int_equal(acpi_build(&e.m, &b, &r), -EINVAL);
	}
	guest_mem_free(&e.m);
}

/* --- iasl --- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *dir, const char *name, const void *p,
		       size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Whole file as a NUL-terminated string (caller frees). */
static char *read_text(const char *dir, const char *name)
{
	char path[512], *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s was not written", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void rm_dir(const char *dir)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

/* Words in iasl's output that mean it did not like a table. */
static void assert_clean(const char *what, const char *text)
{
	static const char *const bad[] = {
		"Error", "Warning", "Invalid", "Incorrect", "Unknown",
		"invalid", "incorrect", "mismatch", "Mismatch", "**** ",
	};
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (strstr(text, bad[i]))
			fail_msg("%s: iasl output has \"%s\":\n%s", what, bad[i],
				 text);
}

/* iasl ARGS in dir; its output goes to log. 0 when it exits 0. */
static int run_iasl(const char *dir, const char *args, const char *log)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl %s >%s 2>&1", dir, args,
		 log);
	return system(cmd);
}

/* Disassemble name.dat; return the .dsl text (caller frees). */
static char *disassemble(const char *dir, const char *name)
{
	char args[128], log[64], dsl[64], *out, *text;

	snprintf(args, sizeof(args), "-d %s.dat", name);
	snprintf(log, sizeof(log), "%s.log", name);
	snprintf(dsl, sizeof(dsl), "%s.dsl", name);
	if (run_iasl(dir, args, log)) {
		out = read_text(dir, log);
		fail_msg("iasl -d %s.dat failed:\n%s", name, out);
	}
	out = read_text(dir, log);
	assert_clean(name, out);
	free(out);
	text = read_text(dir, dsl);
	assert_clean(name, text);
	return text;
}

static void save_table(const struct env *e, const char *dir, const char *sig,
		       const u8 *t)
{
	char name[16];
	unsigned i;

	for (i = 0; i < 4; i++)
		name[i] = (char)(sig[i] >= 'A' && sig[i] <= 'Z' ?
				 sig[i] - 'A' + 'a' : sig[i]);
	strcpy(name + 4, ".dat");
	write_file(dir, name, t, get32(t, 4));
}

static void test_iasl(void **state)
{
	const u64 nodes[] = { 1 * GiB, 3 * GiB };
	u32 ids[260], cpu_node[260];
	struct acpi_machine mc = { .nr_cpus = 260, .apic_ids = ids,
				   .nr_nodes = 2, .cpu_node = cpu_node,
				   .pci_ecam = true };
	static const char *const sigs[] = { "FACP", "APIC", "SRAT", "SLIT",
					    "MCFG" };
	char dir[] = "/tmp/smpvisor-acpi-XXXXXX";
	struct env e = { 0 };
	const u8 *r, *f, *dsdt, *facs;
	char *dsl, *log;
	unsigned i;

	if (!have_iasl()) {
		skip();
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		ids[i] = i;
		cpu_node[i] = i >= 130;
	}
	assert_int_equal(guest_mem_layout_nodes(&e.m, nodes, 2), 0);
	assert_int_equal(guest_mem_alloc(&e.m), 0);
	build(&e, &mc);
	assert_non_null(mkdtemp(dir));

	r = gpa_to_hva(&e.m, e.rsdp, 36);
	save_table(&e, dir, "XSDT", table_at(&e, get64(r, 24), "XSDT"));
	save_table(&e, dir, "RSDT", table_at(&e, get32(r, 16), "RSDT"));
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		save_table(&e, dir, sigs[i], find_table(&e, sigs[i]));
	f = find_table(&e, "FACP");
	dsdt = table_at(&e, get32(f, 40), "DSDT");
	save_table(&e, dir, "DSDT", dsdt);
	facs = gpa_to_hva(&e.m, get32(f, 36), 64);
	write_file(dir, "facs.dat", facs, 64);

	/* iasl 2020 takes no bare RSDP; test_rsdp_xsdt_rsdt checks it. */
	free(disassemble(dir, "xsdt"));
	free(disassemble(dir, "rsdt"));
	free(disassemble(dir, "facs"));
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		char name[8];

		snprintf(name, sizeof(name), "%c%c%c%c", sigs[i][0] | 0x20,
			 sigs[i][1] | 0x20, sigs[i][2] | 0x20, sigs[i][3] | 0x20);
		free(disassemble(dir, name));
	}
	dsl = disassemble(dir, "dsdt");
	assert_non_null(strstr(dsl, "_S5"));
	assert_non_null(strstr(dsl, "PNP0501"));
	assert_non_null(strstr(dsl, "Device (COM1)"));
	assert_non_null(strstr(dsl, "\"QEMU0001\""));
	assert_non_null(strstr(dsl, "0x0505"));
	assert_non_null(strstr(dsl, "IRQNoFlags"));
	assert_non_null(strstr(dsl, "0x03F8"));
	free(dsl);
	/* The disassembly must compile back: iasl agrees with our AML. */
	if (run_iasl(dir, "-p recompiled dsdt.dsl", "compile.log")) {
		log = read_text(dir, "compile.log");
		fail_msg("iasl could not recompile the DSDT:\n%s", log);
	}
	log = read_text(dir, "compile.log");
	assert_non_null(strstr(log, "0 Errors"));
	free(log);
	rm_dir(dir);
	guest_mem_free(&e.m);
}

/*
 * AML with PkgLengths of every size, checked by iasl: a DSDT holding a
 * Device with a 5000-byte Buffer (3-byte PkgLength around it), nested
 * Packages and Methods.
 */
static void test_iasl_big_aml(void **state)
{
	static u8 blob[5000];
	char dir[] = "/tmp/smpvisor-aml-XXXXXX";
	struct aml a;
	struct aml_mark s, d, b, p, q, mt;
	u8 hdr[36] = "DSDT";
	u8 *t;
	char *dsl;
	u32 len;
	unsigned i;

	if (!have_iasl()) {
		skip();
		return;
	}
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (u8)i;
	aml_init(&a);
	s = aml_scope_begin(&a, "\\_SB");
	d = aml_device_begin(&a, "BIG0");
	aml_name_decl(&a, "_HID");
	aml_eisaid(&a, "PNP0C02");
	aml_name_decl(&a, "BLOB");
	b = aml_buffer_begin(&a);
	aml_bytes(&a, blob, sizeof(blob));
	aml_end(&a, b);
	aml_name_decl(&a, "PKG0");
	p = aml_package_begin(&a, 3);
	aml_int(&a, 0x123456789ULL);
	aml_string(&a, "smpvisor");
	q = aml_package_begin(&a, 40);
	for (i = 0; i < 40; i++)
		aml_int(&a, 0x10000 + i);	/* 5 bytes each: 2-byte PkgLength */
	aml_end(&a, q);
	aml_end(&a, p);
	mt = aml_method_begin(&a, "GETV", 1, true);
	aml_return(&a);
	aml_int(&a, 0xabcd);
	aml_end(&a, mt);
	aml_end(&a, d);
	aml_end(&a, s);
	assert_int_equal(aml_error(&a), 0);

	len = (u32)(36 + a.len);
	t = malloc(len);
	assert_non_null(t);
	hdr[8] = 2;
	memcpy(hdr + 4, &len, 4);
	memcpy(hdr + 10, "SMPVSR", 6);
	memcpy(t, hdr, 36);
	memcpy(t + 36, a.buf, a.len);
	t[9] = (u8)-sum(t, len);
	assert_non_null(mkdtemp(dir));
	write_file(dir, "dsdt.dat", t, len);
	dsl = disassemble(dir, "dsdt");
	assert_non_null(strstr(dsl, "Device (BIG0)"));
	assert_non_null(strstr(dsl, "Buffer (0x1388)"));
	assert_non_null(strstr(dsl, "0x0000000123456789"));
	assert_non_null(strstr(dsl, "\"smpvisor\""));
	assert_non_null(strstr(dsl, "0x00010027"));
	assert_non_null(strstr(dsl, "Method (GETV, 1, Serialized)"));
	free(dsl);
	rm_dir(dir);
	free(t);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rsdp_xsdt_rsdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_machines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_cpus, setup, teardown),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test_setup_teardown(test_dsdt_contents, setup, teardown),
		cmocka_unit_test(test_numa_tables),
		cmocka_unit_test(test_iasl),
		cmocka_unit_test(test_iasl_big_aml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
