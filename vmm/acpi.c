// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI table builder (see acpi.h). Table layouts follow the ACPI 6.x
 * specification, chapter 5.2; each is a packed struct whose size is
 * checked at compile time. Tables are bump-allocated in the guest window,
 * 16-byte aligned (the FACS 64), RSDP first so it sits at the window start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/acpi.h"
#include "vmm/aml.h"

#define OEM_ID			"SMPVSR"	/* 6 chars */
#define OEM_TABLE_ID		"SMPVISOR"	/* 8 chars */
#define OEM_REVISION		1
#define CREATOR_ID		"SMPV"
#define CREATOR_REVISION	1

#define MAX_TABLES		8	/* pointed to by the XSDT */

struct acpi_header {
	char sig[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char sig[8];		/* "RSD PTR " */
	u8 checksum;		/* first 20 bytes */
	char oem_id[6];
	u8 revision;		/* 2: ACPI 2.0 and later */
	u32 rsdt;
	u32 length;
	u64 xsdt;
	u8 ext_checksum;	/* whole structure */
	u8 reserved[3];
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	u8 space_id;
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __attribute__((packed));

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

struct acpi_fadt {
	struct acpi_header h;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 reserved0;
	u8 pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	u64 hypervisor_id;
} __attribute__((packed));

/* FADT flags and IA-PC boot architecture flags. */
#define FADT_WBINVD		(1U << 0)
#define FADT_PROC_C1		(1U << 2)
#define FADT_SLP_BUTTON		(1U << 5)	/* set: no fixed sleep button */
#define FADT_FIX_RTC		(1U << 6)	/* set: no RTC wake status */
#define FADT_RESET_REG_SUP	(1U << 10)
#define BOOT_ARCH_LEGACY_DEVICES (1U << 0)
#define BOOT_ARCH_VGA_NOT_PRESENT (1U << 2)
#define FADT_C2_UNSUPPORTED	101		/* P_LVL2_LAT > 100 */
#define FADT_C3_UNSUPPORTED	1001		/* P_LVL3_LAT > 1000 */

struct acpi_facs {
	char sig[4];
	u32 length;
	u32 hw_signature;
	u32 waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_waking_vector;
	u8 version;
	u8 reserved0[3];
	u32 ospm_flags;
	u8 reserved1[24];
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	u32 lapic_addr;
	u32 flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	(1U << 0)
#define MADT_ENABLED		(1U << 0)	/* processor entries */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_X2APIC		9
#define MADT_X2APIC_NMI		10
/* MPS INTI flags: polarity 1:0, trigger mode 3:2. */
#define MPS_ACTIVE_HIGH		0x1
#define MPS_LEVEL		(0x3 << 2)
#define ACPI_UID_ALL_8		0xff		/* every processor */
#define ACPI_UID_ALL_32		0xffffffffU

struct madt_lapic {
	u8 type, length, uid, apic_id;
	u32 flags;
} __attribute__((packed));

struct madt_x2apic {
	u8 type, length;
	u16 reserved;
	u32 x2apic_id;
	u32 flags;
	u32 uid;
} __attribute__((packed));

struct madt_ioapic {
	u8 type, length, id, reserved;
	u32 addr;
	u32 gsi_base;
} __attribute__((packed));

struct madt_iso {
	u8 type, length, bus, source;
	u32 gsi;
	u16 flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	u8 type, length, uid;
	u16 flags;
	u8 lint;
} __attribute__((packed));

struct madt_x2apic_nmi {
	u8 type, length;
	u16 flags;
	u32 uid;
	u8 lint;
	u8 reserved[3];
} __attribute__((packed));

struct acpi_srat {
	struct acpi_header h;
	u32 reserved0;		/* 1, for compatibility */
	u64 reserved1;
} __attribute__((packed));

#define SRAT_CPU		0
#define SRAT_MEM		1
#define SRAT_X2APIC		2
#define SRAT_ENABLED		(1U << 0)

struct srat_cpu {
	u8 type, length, pxm_lo, apic_id;
	u32 flags;
	u8 sapic_eid;
	u8 pxm_hi[3];
	u32 clock_domain;
} __attribute__((packed));

struct srat_mem {
	u8 type, length;
	u32 pxm;
	u16 reserved0;
	u64 base;
	u64 size;
	u32 reserved1;
	u32 flags;
	u64 reserved2;
} __attribute__((packed));

struct srat_x2apic {
	u8 type, length;
	u16 reserved0;
	u32 pxm;
	u32 x2apic_id;
	u32 flags;
	u32 clock_domain;
	u32 reserved1;
} __attribute__((packed));

struct acpi_slit {
	struct acpi_header h;
	u64 nr;
} __attribute__((packed));

struct acpi_mcfg {
	struct acpi_header h;
	u64 reserved;
} __attribute__((packed));

struct mcfg_alloc {
	u64 base;
	u16 segment;
	u8 start_bus, end_bus;
	u32 reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct madt_lapic) == 8 &&
	       sizeof(struct madt_x2apic) == 16 &&
	       sizeof(struct madt_ioapic) == 12 &&
	       sizeof(struct madt_iso) == 10 &&
	       sizeof(struct madt_lapic_nmi) == 6 &&
	       sizeof(struct madt_x2apic_nmi) == 12, "MADT entries");
_Static_assert(sizeof(struct acpi_srat) == 48 &&
	       sizeof(struct srat_cpu) == 16 &&
	       sizeof(struct srat_mem) == 40 &&
	       sizeof(struct srat_x2apic) == 24, "SRAT");
_Static_assert(sizeof(struct acpi_slit) == 44, "SLIT");
_Static_assert(sizeof(struct acpi_mcfg) == 44 &&
	       sizeof(struct mcfg_alloc) == 16, "MCFG");

/* The window being filled, and the tables the XSDT will list. */
struct acpi_ctx {
	u8 *base;		/* host view of ACPI_TABLES_ADDR */
	size_t off, size;
	int err;
	u64 tables[MAX_TABLES];
	unsigned nr_tables;
};

/* Zeroed space for n bytes at the given alignment, or NULL (-ENOSPC). */
static void *ctx_alloc(struct acpi_ctx *c, size_t n, size_t align)
{
	size_t off = ALIGN_UP(c->off, align);

	if (c->err)
		return NULL;
	if (off > c->size || n > c->size - off) {
		c->err = -ENOSPC;
		return NULL;
	}
	c->off = off + n;
	return c->base + off;
}

static u64 ctx_gpa(const struct acpi_ctx *c, const void *p)
{
	return ACPI_TABLES_ADDR + (u64)((const u8 *)p - c->base);
}

static u8 checksum(const void *p, size_t n)
{
	const u8 *b = p;
	u8 sum = 0;

	while (n--)
		sum += *b++;
	return (u8)-sum;
}

/* Start a table: its header, plus fixed fields up to size bytes. */
static void *table_begin(struct acpi_ctx *c, const char *sig, u8 rev,
			 size_t size)
{
	struct acpi_header *h = ctx_alloc(c, size, 16);

	if (!h)
		return NULL;
	memcpy(h->sig, sig, 4);
	h->revision = rev;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = CREATOR_REVISION;
	return h;
}

/*
 * Finish the table at h, which extends to the allocation cursor; returns
 * its guest address (0 after an error). List it in the XSDT if asked.
 */
static u64 table_end(struct acpi_ctx *c, void *p, bool list)
{
	struct acpi_header *h = p;
	u64 gpa;

	if (c->err || !h)
		return 0;
	h->length = (u32)(c->base + c->off - (u8 *)h);
	h->checksum = checksum(h, h->length);
	gpa = ctx_gpa(c, h);
	if (list) {
		if (c->nr_tables == MAX_TABLES) {
			c->err = -ENOSPC;
			return 0;
		}
		c->tables[c->nr_tables++] = gpa;
	}
	return gpa;
}

static u64 build_dsdt(struct acpi_ctx *c, const struct acpi_machine *mc)
{
	struct acpi_header *h;
	struct aml a;
	u8 *body;

	aml_init(&a);
	acpi_dsdt_aml(&a, mc);
	if (aml_error(&a)) {
		c->err = aml_error(&a);
		pr_err("acpi: building the DSDT failed: %s", strerror(-c->err));
		goto out_free;
	}
	/* Revision 2: integers are 64 bits wide. */
	h = table_begin(c, "DSDT", 2, sizeof(*h));
	body = ctx_alloc(c, a.len, 1);
	if (body)
		memcpy(body, a.buf, a.len);
	aml_free(&a);
	return table_end(c, h, false);
out_free:
	aml_free(&a);
	return 0;
}

static u64 build_facs(struct acpi_ctx *c)
{
	struct acpi_facs *f = ctx_alloc(c, sizeof(*f), 64);

	if (!f)
		return 0;
	memcpy(f->sig, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
	return ctx_gpa(c, f);
}

static void gas_io(struct acpi_gas *g, u16 port, unsigned bytes, u8 access)
{
	g->space_id = GAS_SYSTEM_IO;
	g->bit_width = (u8)(bytes * 8);
	g->bit_offset = 0;
	g->access_size = access;
	g->address = port;
}

static u64 build_fadt(struct acpi_ctx *c, u64 dsdt, u64 facs)
{
	struct acpi_fadt *f = table_begin(c, "FACP", 6, sizeof(*f));

	if (!f)
		return 0;
	f->firmware_ctrl = (u32)facs;
	f->dsdt = (u32)dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	f->smi_cmd = 0;			/* ACPI is always enabled */
	f->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f->pm1_evt_len = ACPI_PM1A_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1A_CNT_LEN;
	f->p_lvl2_lat = FADT_C2_UNSUPPORTED;
	f->p_lvl3_lat = FADT_C3_UNSUPPORTED;
	f->century = CMOS_CENTURY_REG;
	f->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_VGA_NOT_PRESENT;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
		   FADT_FIX_RTC | FADT_RESET_REG_SUP;
	gas_io(&f->reset_reg, ACPI_RESET_PORT, 1, GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = 0;
	f->x_dsdt = dsdt;
	gas_io(&f->x_pm1a_evt_blk, ACPI_PM1A_EVT_PORT, ACPI_PM1A_EVT_LEN,
	       GAS_ACCESS_WORD);
	gas_io(&f->x_pm1a_cnt_blk, ACPI_PM1A_CNT_PORT, ACPI_PM1A_CNT_LEN,
	       GAS_ACCESS_WORD);
	return table_end(c, f, true);
}

static bool has_x2apic(const struct acpi_machine *mc)
{
	unsigned i;

	for (i = 0; i < mc->nr_cpus; i++)
		if (mc->apic_ids[i] >= ACPI_X2APIC_MIN_ID)
			return true;
	return false;
}

/* One enabled processor entry per vCPU; the ACPI UID is the vCPU index. */
static void madt_cpus(struct acpi_ctx *c, const struct acpi_machine *mc)
{
	unsigned i;

	for (i = 0; i < mc->nr_cpus; i++) {
		u32 id = mc->apic_ids[i];

		if (id < ACPI_X2APIC_MIN_ID) {
			struct madt_lapic *e = ctx_alloc(c, sizeof(*e), 1);

			if (!e)
				return;
			*e = (struct madt_lapic){ MADT_LAPIC, sizeof(*e),
						  (u8)i, (u8)id, MADT_ENABLED };
		} else {
			struct madt_x2apic *e = ctx_alloc(c, sizeof(*e), 1);

			if (!e)
				return;
			*e = (struct madt_x2apic){ .type = MADT_X2APIC,
						   .length = sizeof(*e),
						   .x2apic_id = id,
						   .flags = MADT_ENABLED,
						   .uid = i };
		}
	}
}

static u64 build_madt(struct acpi_ctx *c, const struct acpi_machine *mc)
{
	struct acpi_madt *t = table_begin(c, "APIC", 4, sizeof(*t));
	struct madt_ioapic *io;
	struct madt_iso *iso;
	struct madt_lapic_nmi *nmi;
	struct madt_x2apic_nmi *x2nmi;

	if (!t)
		return 0;
	t->lapic_addr = (u32)LAPIC_ADDR;
	t->flags = MADT_PCAT_COMPAT;
	madt_cpus(c, mc);
	io = ctx_alloc(c, sizeof(*io), 1);
	if (!io)
		return 0;
	*io = (struct madt_ioapic){ MADT_IOAPIC, sizeof(*io), 0, 0,
				    (u32)IOAPIC_ADDR, 0 };
	iso = ctx_alloc(c, sizeof(*iso), 1);
	if (!iso)
		return 0;
	*iso = (struct madt_iso){ MADT_ISO, sizeof(*iso), 0, ACPI_SCI_IRQ,
				  ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL };
	/* LINT1 of every local APIC is the NMI pin; flags 0: bus default. */
	nmi = ctx_alloc(c, sizeof(*nmi), 1);
	if (!nmi)
		return 0;
	*nmi = (struct madt_lapic_nmi){ MADT_LAPIC_NMI, sizeof(*nmi),
					ACPI_UID_ALL_8, 0, 1 };
	if (has_x2apic(mc)) {
		x2nmi = ctx_alloc(c, sizeof(*x2nmi), 1);
		if (!x2nmi)
			return 0;
		*x2nmi = (struct madt_x2apic_nmi){ .type = MADT_X2APIC_NMI,
						   .length = sizeof(*x2nmi),
						   .uid = ACPI_UID_ALL_32,
						   .lint = 1 };
	}
	return table_end(c, t, true);
}

static u64 build_srat(struct acpi_ctx *c, const struct acpi_machine *mc,
		      const struct guest_mem *m)
{
	struct acpi_srat *t = table_begin(c, "SRAT", 3, sizeof(*t));
	unsigned i;

	if (!t)
		return 0;
	t->reserved0 = 1;
	for (i = 0; i < mc->nr_cpus; i++) {
		u32 id = mc->apic_ids[i], pxm = mc->cpu_node[i];

		if (id < ACPI_X2APIC_MIN_ID) {
			struct srat_cpu *e = ctx_alloc(c, sizeof(*e), 1);

			if (!e)
				return 0;
			e->type = SRAT_CPU;
			e->length = sizeof(*e);
			e->pxm_lo = (u8)pxm;
			e->apic_id = (u8)id;
			e->flags = SRAT_ENABLED;
			e->pxm_hi[0] = (u8)(pxm >> 8);
			e->pxm_hi[1] = (u8)(pxm >> 16);
			e->pxm_hi[2] = (u8)(pxm >> 24);
		} else {
			struct srat_x2apic *e = ctx_alloc(c, sizeof(*e), 1);

			if (!e)
				return 0;
			e->type = SRAT_X2APIC;
			e->length = sizeof(*e);
			e->pxm = pxm;
			e->x2apic_id = id;
			e->flags = SRAT_ENABLED;
		}
	}
	for (i = 0; i < m->nr; i++) {
		struct srat_mem *e = ctx_alloc(c, sizeof(*e), 1);

		if (!e)
			return 0;
		e->type = SRAT_MEM;
		e->length = sizeof(*e);
		e->pxm = (u32)m->regions[i].node;
		e->base = m->regions[i].gpa;
		e->size = m->regions[i].size;
		e->flags = SRAT_ENABLED;
	}
	return table_end(c, t, true);
}

static u8 slit_distance(const struct acpi_machine *mc, unsigned i, unsigned j)
{
	if (mc->distance)
		return mc->distance[i * mc->nr_nodes + j];
	return i == j ? ACPI_SLIT_LOCAL : ACPI_SLIT_REMOTE;
}

static u64 build_slit(struct acpi_ctx *c, const struct acpi_machine *mc)
{
	struct acpi_slit *t = table_begin(c, "SLIT", 1, sizeof(*t));
	size_t n = mc->nr_nodes;
	u8 *d;
	unsigned i, j;

	if (!t)
		return 0;
	t->nr = n;
	d = ctx_alloc(c, n * n, 1);
	if (!d)
		return 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			d[i * n + j] = slit_distance(mc, i, j);
	return table_end(c, t, true);
}

static u64 build_mcfg(struct acpi_ctx *c)
{
	struct acpi_mcfg *t = table_begin(c, "MCFG", 1, sizeof(*t));
	struct mcfg_alloc *e;

	if (!t)
		return 0;
	e = ctx_alloc(c, sizeof(*e), 1);
	if (!e)
		return 0;
	e->base = PCI_ECAM_ADDR;
	e->segment = 0;
	e->start_bus = 0;
	e->end_bus = (u8)(PCI_ECAM_SIZE / MiB - 1);	/* 1 MiB per bus */
	return table_end(c, t, true);
}

/* XSDT (64-bit pointers) or RSDT (32-bit) listing every table. */
static u64 build_sdt(struct acpi_ctx *c, bool x)
{
	struct acpi_header *h = table_begin(c, x ? "XSDT" : "RSDT", 1,
					    sizeof(*h));
	size_t w = x ? 8 : 4;
	unsigned i;
	u8 *p;

	if (!h)
		return 0;
	p = ctx_alloc(c, w * c->nr_tables, 1);
	if (!p)
		return 0;
	for (i = 0; i < c->nr_tables; i++)
		memcpy(p + i * w, &c->tables[i], w);	/* little endian */
	return table_end(c, h, false);
}

static void fill_rsdp(struct acpi_rsdp *r, u64 rsdt, u64 xsdt)
{
	memcpy(r->sig, "RSD PTR ", 8);
	memcpy(r->oem_id, OEM_ID, 6);
	r->revision = 2;
	r->rsdt = (u32)rsdt;
	r->length = sizeof(*r);
	r->xsdt = xsdt;
	r->checksum = checksum(r, 20);	/* the ACPI 1.0 part */
	r->ext_checksum = checksum(r, sizeof(*r));
}

/* Reject machine descriptions the tables cannot express. */
static int check_machine(const struct acpi_machine *mc,
			 const struct guest_mem *m)
{
	unsigned i, j;

	if (!mc->nr_cpus || !mc->apic_ids) {
		pr_err("acpi: no vCPUs");
		return -EINVAL;
	}
	for (i = 0; i < mc->nr_cpus; i++) {
		u32 id = mc->apic_ids[i];

		if (id == ACPI_UID_ALL_32) {
			pr_err("acpi: vCPU %u: APIC ID 0x%x is the broadcast ID", i, id);
			return -EINVAL;
		}
		/* An xAPIC entry has an 8-bit UID, and 0xff means "all". */
		if (id < ACPI_X2APIC_MIN_ID && i >= ACPI_UID_ALL_8) {
			pr_err("acpi: vCPU %u: APIC ID %u < 255 needs an 8-bit ACPI UID (list low APIC IDs first)",
			       i, id);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (mc->apic_ids[j] == id) {
				pr_err("acpi: vCPUs %u and %u share APIC ID %u", j, i, id);
				return -EINVAL;
			}
		}
	}
	if (!mc->nr_nodes)
		return 0;
	if (!mc->cpu_node) {
		pr_err("acpi: %u NUMA nodes but no vCPU-to-node map", mc->nr_nodes);
		return -EINVAL;
	}
	for (i = 0; i < mc->nr_cpus; i++) {
		if (mc->cpu_node[i] >= mc->nr_nodes) {
			pr_err("acpi: vCPU %u on node %u, only %u nodes", i,
			       mc->cpu_node[i], mc->nr_nodes);
			return -EINVAL;
		}
	}
	for (i = 0; i < m->nr; i++) {
		if (m->regions[i].node < 0 ||
		    (unsigned)m->regions[i].node >= mc->nr_nodes) {
			pr_err("acpi: memory at 0x%llx on node %d, only %u nodes",
			       (unsigned long long)m->regions[i].gpa,
			       m->regions[i].node, mc->nr_nodes);
			return -EINVAL;
		}
	}
	for (i = 0; i < mc->nr_nodes; i++) {
		for (j = 0; j < mc->nr_nodes; j++) {
			u8 d = slit_distance(mc, i, j);

			if (i == j ? d != ACPI_SLIT_LOCAL : d <= ACPI_SLIT_LOCAL) {
				pr_err("acpi: SLIT distance %u from node %u to %u (local must be %u, remote above)",
				       d, i, j, ACPI_SLIT_LOCAL);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int acpi_build(struct guest_mem *m, const struct acpi_machine *mc,
	       u64 *rsdp_gpa)
{
	struct acpi_ctx c = { .size = ACPI_TABLES_END - ACPI_TABLES_ADDR };
	u64 dsdt, facs, xsdt, rsdt;
	struct acpi_rsdp *rsdp;
	int err;

	err = check_machine(mc, m);
	if (err)
		return err;
	c.base = gpa_to_hva(m, ACPI_TABLES_ADDR, c.size);
	if (!c.base) {
		pr_err("acpi: guest memory at 0x%llx is not mapped",
		       (unsigned long long)ACPI_TABLES_ADDR);
		return -ENOMEM;
	}
	memset(c.base, 0, c.size);
	rsdp = ctx_alloc(&c, sizeof(*rsdp), 16);
	facs = build_facs(&c);
	dsdt = build_dsdt(&c, mc);
	build_fadt(&c, dsdt, facs);
	build_madt(&c, mc);
	if (mc->nr_nodes) {
		build_srat(&c, mc, m);
		build_slit(&c, mc);
	}
	if (mc->pci_ecam)
		build_mcfg(&c);
	xsdt = build_sdt(&c, true);
	rsdt = build_sdt(&c, false);
	if (c.err) {
		if (c.err == -ENOSPC)
			pr_err("acpi: tables for %u vCPUs do not fit in %zu KiB at 0x%llx",
			       mc->nr_cpus, c.size / 1024,
			       (unsigned long long)ACPI_TABLES_ADDR);
		return c.err;
	}
	fill_rsdp(rsdp, rsdt, xsdt);
	*rsdp_gpa = ctx_gpa(&c, rsdp);
	pr_debug("acpi: %zu bytes of tables, RSDP at 0x%llx", c.off,
		 (unsigned long long)*rsdp_gpa);
	return 0;
}
