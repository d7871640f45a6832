// SPDX-License-Identifier: GPL-2.0
/*
 * Linux x86-64 direct boot (see boot.h). The guest memory map at entry:
 *
 *   BOOT_GDT_ADDR        flat GDT, selectors 0x10 (code) and 0x18 (data)
 *   BOOT_ZERO_PAGE_ADDR  struct boot_params with our e820 map
 *   BOOT_PGTABLE_ADDR    PML4, PDPT and four PDs: [0, 4 GiB) identity, 2 MiB
 *   BOOT_CMDLINE_ADDR    NUL-terminated command line
 *   BOOT_STACK_TOP       initial RSP (the kernel switches stacks at once)
 *   KERNEL_LOAD_ADDR     the protected-mode part of the bzImage
 *   below the low end    the initrd, page aligned, as high as allowed
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/e820.h>
#include <linux/kvm.h>

#include "lib/layout.h"
#include "vmm/boot.h"

/* Offsets in the bzImage file (boot sector and setup header). */
#define HDR_OFF			0x1f1	/* struct setup_header */
#define BOOT_FLAG_OFF		0x1fe
#define BOOT_FLAG		0xaa55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define JUMP_OFF		0x200	/* 2-byte jump; its 2nd byte ends the header */
#define HDR_END_2_12		0x264	/* init_size, the last 2.12 field, ends here */
#define HEAD_SIZE		1024	/* boot sector + first setup sector */
#define SECTOR			512
#define DEFAULT_SETUP_SECTS	4
#define ENTRY64_OFF		0x200	/* 64-bit entry, from the load address */
#define LOADER_UNDEFINED	0xff	/* type_of_loader: no assigned id */
#define HEAP_END_PTR		0xfe00	/* conventional end of the setup heap */
#define OLD_INITRD_ADDR_MAX	0x37ffffffULL

/* Page-table entry bits. */
#define PTE_PRESENT		(1ULL << 0)
#define PTE_WRITE		(1ULL << 1)
#define PTE_LARGE		(1ULL << 7)	/* 2 MiB page in a PD */
#define PT_ENTRIES		512

/* Control register and EFER bits for long mode. */
#define CR0_PE			(1ULL << 0)
#define CR0_MP			(1ULL << 1)
#define CR0_ET			(1ULL << 4)
#define CR0_NE			(1ULL << 5)
#define CR0_NW			(1ULL << 29)
#define CR0_CD			(1ULL << 30)
#define CR0_PG			(1ULL << 31)
#define CR4_PAE			(1ULL << 5)
#define EFER_LME		(1ULL << 8)
#define EFER_LMA		(1ULL << 10)

/* Segment descriptor fields (Intel SDM vol. 3, 3.4.5). */
#define SEG_TYPE_CODE_XRA	0xb	/* execute/read, accessed */
#define SEG_TYPE_DATA_RWA	0x3	/* read/write, accessed */

/* The reserved block for the IOAPIC, LAPIC and KVM's TSS/identity pages. */
#define APIC_AREA_START		IOAPIC_ADDR
#define APIC_AREA_END		(KVM_TSS_ADDR + 3 * GUEST_PAGE_SIZE)

/*
 * A flat segment descriptor: base 0, limit 0xfffff in 4 KiB units,
 * present, DPL 0, code/data (S=1). l selects 64-bit code, db 32-bit
 * default size (must be 0 when l is 1).
 */
static u64 flat_desc(unsigned type, bool l, bool db)
{
	return 0xffffULL |			/* limit 15:0 */
	       ((u64)type << 40) |
	       (1ULL << 44) |			/* S: code or data */
	       (1ULL << 47) |			/* P */
	       (0xfULL << 48) |			/* limit 19:16 */
	       ((u64)l << 53) | ((u64)db << 54) |
	       (1ULL << 55);			/* G: 4 KiB granularity */
}

/* The GDT, indexed by selector / 8. */
static void boot_gdt(u64 gdt[BOOT_GDT_ENTRIES])
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * sizeof(u64));
	gdt[BOOT_CS_SELECTOR / 8] = flat_desc(SEG_TYPE_CODE_XRA, true, false);
	gdt[BOOT_DS_SELECTOR / 8] = flat_desc(SEG_TYPE_DATA_RWA, false, true);
}

/* The hidden part of a segment register, decoded from its descriptor. */
static void seg_from_desc(u64 d, u16 sel, struct kvm_segment *s)
{
	u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));

	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
}

/* Read exactly len bytes at off; a short file is -EIO. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Open path for reading (or take a copy of the open fd `given`, > 0) and
 * return its fd and size; 0 or -errno.
 */
static int open_file(const char *what, const char *path, int given, int *fd,
		     u64 *size)
{
	struct stat st;
	int err;

	*fd = given > 0 ? fcntl(given, F_DUPFD_CLOEXEC, 0) :
	      open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		err = -errno;
		pr_err("%s %s: %s", what, path, strerror(errno));
		return err;
	}
	if (fstat(*fd, &st) < 0) {
		err = -errno;
		pr_err("%s %s: %s", what, path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		pr_err("%s %s: not a regular file", what, path);
		goto err_close;
	}
	*size = (u64)st.st_size;
	return 0;

err_close:
	close(*fd);
	*fd = -1;
	return err;
}

/*
 * Check the boot sector and setup header in head (the file's first
 * HEAD_SIZE bytes) and copy the header out. 0 or -ENOEXEC.
 */
static int check_header(const char *path, const u8 *head,
			struct setup_header *hdr)
{
	memcpy(hdr, head + HDR_OFF, sizeof(*hdr));
	if (hdr->boot_flag != BOOT_FLAG) {
		pr_err("kernel %s: not a bzImage (no 0x55AA boot signature)", path);
		return -ENOEXEC;
	}
	if (hdr->header != HDRS_MAGIC) {
		pr_err("kernel %s: not a bzImage (no HdrS magic)", path);
		return -ENOEXEC;
	}
	if (hdr->version < BOOT_MIN_PROTOCOL) {
		pr_err("kernel %s: boot protocol %u.%02u too old (need %u.%02u)",
		       path, hdr->version >> 8, hdr->version & 0xff,
		       BOOT_MIN_PROTOCOL >> 8, BOOT_MIN_PROTOCOL & 0xff);
		return -ENOEXEC;
	}
	if (JUMP_OFF + 2 + head[JUMP_OFF + 1] < HDR_END_2_12) {
		pr_err("kernel %s: not a bzImage (setup header too short)", path);
		return -ENOEXEC;
	}
	if (!(hdr->loadflags & LOADED_HIGH)) {
		pr_err("kernel %s: not a bzImage (zImage loads below 1 MiB)", path);
		return -ENOEXEC;
	}
	if (!(hdr->xloadflags & XLF_KERNEL_64)) {
		pr_err("kernel %s: no 64-bit entry point (XLF_KERNEL_64 clear)", path);
		return -ENOEXEC;
	}
	return 0;
}

/*
 * End of the memory the kernel needs: the loaded image, and the area it
 * decompresses into, which starts at the load address rounded up to
 * kernel_alignment but not below pref_address (the kernel's
 * LOAD_PHYSICAL_ADDR) and is init_size long. 0 if that is absurd.
 */
static u64 kernel_area_end(const struct setup_header *hdr, u64 image_size)
{
	u64 start = KERNEL_LOAD_ADDR, align = hdr->kernel_alignment;

	if (align && !(align & (align - 1)))
		start = ALIGN_UP(start, align);
	if (hdr->pref_address > start)
		start = hdr->pref_address;
	if (start >= GUEST_PHYS_LIMIT)
		return 0;
	return MAX(start + hdr->init_size, KERNEL_LOAD_ADDR + image_size);
}

/* Load the kernel image; fills hdr and bi->kernel_*. 0 or -errno. */
static int load_kernel(struct guest_mem *m, const char *path, int given,
		       struct setup_header *hdr, u8 *head,
		       struct boot_info *bi)
{
	u64 fsize, off, size, end, low = guest_mem_low_end(m);
	unsigned sects;
	void *dst;
	int fd, err;

	err = open_file("kernel", path, given, &fd, &fsize);
	if (err)
		return err;
	err = -ENOEXEC;
	if (fsize < HEAD_SIZE) {
		pr_err("kernel %s: not a bzImage (only %llu bytes)", path,
		       (unsigned long long)fsize);
		goto out_close;
	}
	err = read_at(fd, head, HEAD_SIZE, 0);
	if (err) {
		pr_err("kernel %s: read failed: %s", path, strerror(-err));
		goto out_close;
	}
	err = check_header(path, head, hdr);
	if (err)
		goto out_close;
	sects = hdr->setup_sects ? hdr->setup_sects : DEFAULT_SETUP_SECTS;
	off = (u64)(sects + 1) * SECTOR;
	err = -ENOEXEC;
	if (off >= fsize) {
		pr_err("kernel %s: truncated (%u setup sectors, %llu bytes in all)",
		       path, sects, (unsigned long long)fsize);
		goto out_close;
	}
	size = fsize - off;
	end = kernel_area_end(hdr, size);
	if (!end) {
		pr_err("kernel %s: preferred address 0x%llx is out of range",
		       path, (unsigned long long)hdr->pref_address);
		goto out_close;
	}
	err = -ENOMEM;
	if (end > low) {
		pr_err("memory too small for the kernel: need %llu MiB of RAM below the hole, have %llu MiB",
		       (unsigned long long)(ALIGN_UP(end, MiB) / MiB),
		       (unsigned long long)(low / MiB));
		goto out_close;
	}
	dst = gpa_to_hva(m, KERNEL_LOAD_ADDR, size);
	if (!dst) {
		pr_err("kernel %s: guest memory at 0x%llx is not mapped", path,
		       (unsigned long long)KERNEL_LOAD_ADDR);
		goto out_close;
	}
	err = read_at(fd, dst, size, (off_t)off);
	if (err) {
		pr_err("kernel %s: read failed: %s", path, strerror(-err));
		goto out_close;
	}
	bi->protocol = hdr->version;
	bi->kernel_addr = KERNEL_LOAD_ADDR;
	bi->kernel_size = size;
	bi->kernel_end = end;
	bi->entry = KERNEL_LOAD_ADDR + ENTRY64_OFF;
out_close:
	close(fd);
	return err;
}

/*
 * Load the initrd page aligned, as high as the kernel allows, above the
 * kernel's area. 0 or -errno.
 */
static int load_initrd(struct guest_mem *m, const char *path, int given,
		       const struct setup_header *hdr, struct boot_info *bi)
{
	u64 size, top, addr, max = hdr->initrd_addr_max;
	u64 floor = ALIGN_UP(bi->kernel_end, GUEST_PAGE_SIZE);
	void *dst;
	int fd, err;

	err = open_file("initrd", path, given, &fd, &size);
	if (err)
		return err;
	err = -EINVAL;
	if (!size) {
		pr_err("initrd %s: empty file", path);
		goto out_close;
	}
	top = MIN((max ? max : OLD_INITRD_ADDR_MAX) + 1, guest_mem_low_end(m));
	err = -ENOMEM;
	if (size > top || ((top - size) & ~(GUEST_PAGE_SIZE - 1)) < floor) {
		pr_err("initrd %s (%llu MiB) does not fit in guest memory below 0x%llx",
		       path, (unsigned long long)(ALIGN_UP(size, MiB) / MiB),
		       (unsigned long long)top);
		goto out_close;
	}
	addr = (top - size) & ~(GUEST_PAGE_SIZE - 1);
	dst = gpa_to_hva(m, addr, size);
	if (!dst) {
		pr_err("initrd %s: guest memory at 0x%llx is not mapped", path,
		       (unsigned long long)addr);
		goto out_close;
	}
	err = read_at(fd, dst, size, 0);
	if (err) {
		pr_err("initrd %s: read failed: %s", path, strerror(-err));
		goto out_close;
	}
	bi->initrd_addr = addr;
	bi->initrd_size = size;
out_close:
	close(fd);
	return err;
}

/* Copy the command line to BOOT_CMDLINE_ADDR; 0 or -E2BIG. */
static int load_cmdline(struct guest_mem *m, const char *cmdline,
			const struct setup_header *hdr, struct boot_info *bi)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	u64 limit = MIN((u64)hdr->cmdline_size, BOOT_CMDLINE_MAX - 1);
	char *dst = gpa_to_hva(m, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX);

	if (len > limit) {
		pr_err("command line is %zu bytes, the kernel accepts %llu",
		       len, (unsigned long long)limit);
		return -E2BIG;
	}
	if (!dst) {
		pr_err("guest memory at 0x%llx is not mapped",
		       (unsigned long long)BOOT_CMDLINE_ADDR);
		return -ENOMEM;
	}
	memcpy(dst, cmdline ? cmdline : "", len);
	dst[len] = '\0';
	bi->cmdline = BOOT_CMDLINE_ADDR;
	return 0;
}

/* Append one e820 entry; 0 or -ENOSPC. Empty ranges are skipped. */
static int e820_add(struct boot_e820_entry *tbl, unsigned *n, unsigned max,
		    u64 addr, u64 size, u32 type)
{
	if (!size)
		return 0;
	if (*n == max)
		return -ENOSPC;
	tbl[*n].addr = addr;
	tbl[*n].size = size;
	tbl[*n].type = type;
	(*n)++;
	return 0;
}

/* Sort by address (few entries: insertion sort), then merge adjacent RAM. */
static unsigned e820_sort_merge(struct boot_e820_entry *tbl, unsigned n)
{
	unsigned i, j, out = 0;

	for (i = 1; i < n; i++) {
		struct boot_e820_entry e = tbl[i];

		for (j = i; j > 0 && tbl[j - 1].addr > e.addr; j--)
			tbl[j] = tbl[j - 1];
		tbl[j] = e;
	}
	for (i = 0; i < n; i++) {
		struct boot_e820_entry *prev = out ? &tbl[out - 1] : NULL;

		if (prev && prev->type == E820_RAM && tbl[i].type == E820_RAM &&
		    prev->addr + prev->size == tbl[i].addr) {
			prev->size += tbl[i].size;
			continue;
		}
		tbl[out++] = tbl[i];
	}
	return out;
}

int boot_build_e820(const struct guest_mem *m, struct boot_e820_entry *tbl,
		    unsigned max)
{
	/* Ranges Linux must leave alone; none of them overlaps RAM but EBDA. */
	static const struct { u64 start, end; } rsv[] = {
		{ EBDA_START, KERNEL_LOAD_ADDR },	/* EBDA, VGA hole, BIOS area */
		{ PCI_ECAM_ADDR, PCI_ECAM_ADDR + PCI_ECAM_SIZE }, /* for MCFG */
		{ APIC_AREA_START, APIC_AREA_END },
	};
	unsigned i, n = 0;
	int err = 0;

	for (i = 0; i < m->nr && !err; i++) {
		u64 a = m->regions[i].gpa, b = a + m->regions[i].size;

		/* RAM minus [EBDA_START, 1 MiB). */
		if (a < EBDA_START)
			err = e820_add(tbl, &n, max, a, MIN(b, EBDA_START) - a,
				       E820_RAM);
		a = MAX(a, KERNEL_LOAD_ADDR);
		if (!err && b > a)
			err = e820_add(tbl, &n, max, a, b - a, E820_RAM);
	}
	for (i = 0; i < ARRAY_SIZE(rsv) && !err; i++)
		err = e820_add(tbl, &n, max, rsv[i].start,
			       rsv[i].end - rsv[i].start, E820_RESERVED);
	if (err) {
		pr_err("e820: more than %u entries", max);
		return err;
	}
	return (int)e820_sort_merge(tbl, n);
}

/* Identity-map [0, BOOT_IDENT_MAP_SIZE) with 2 MiB pages. 0 or -ENOMEM. */
static int build_pgtables(struct guest_mem *m)
{
	const unsigned nr_pd = BOOT_IDENT_MAP_SIZE / GiB;
	u64 pml4 = BOOT_PGTABLE_ADDR, pdpt = pml4 + GUEST_PAGE_SIZE;
	u64 pd = pdpt + GUEST_PAGE_SIZE, *t;
	unsigned i;

	_Static_assert(BOOT_PGTABLE_ADDR + (2 + BOOT_IDENT_MAP_SIZE / GiB) *
		       GUEST_PAGE_SIZE <= BOOT_PGTABLE_END,
		       "boot page tables overflow their area");
	t = gpa_to_hva(m, BOOT_PGTABLE_ADDR, BOOT_PGTABLE_END - BOOT_PGTABLE_ADDR);
	if (!t) {
		pr_err("guest memory at 0x%llx is not mapped",
		       (unsigned long long)BOOT_PGTABLE_ADDR);
		return -ENOMEM;
	}
	memset(t, 0, BOOT_PGTABLE_END - BOOT_PGTABLE_ADDR);
	t[0] = pdpt | PTE_PRESENT | PTE_WRITE;
	t += PT_ENTRIES;
	for (i = 0; i < nr_pd; i++)
		t[i] = (pd + i * GUEST_PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	t += PT_ENTRIES;
	for (i = 0; i < nr_pd * PT_ENTRIES; i++)
		t[i] = (u64)i * 2 * MiB | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	return 0;
}

static int build_gdt(struct guest_mem *m, struct boot_info *bi)
{
	u64 gdt[BOOT_GDT_ENTRIES];
	void *dst = gpa_to_hva(m, BOOT_GDT_ADDR, sizeof(gdt));

	if (!dst) {
		pr_err("guest memory at 0x%llx is not mapped",
		       (unsigned long long)BOOT_GDT_ADDR);
		return -ENOMEM;
	}
	boot_gdt(gdt);
	memcpy(dst, gdt, sizeof(gdt));
	bi->gdt = BOOT_GDT_ADDR;
	bi->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

/*
 * Fill the zero page: a clean struct boot_params, the kernel's own setup
 * header (as long as the header says it is), then what the loader owns.
 */
static int build_zero_page(struct guest_mem *m, const u8 *head,
			   const struct boot_cfg *cfg, struct boot_info *bi)
{
	struct boot_params *zp = gpa_to_hva(m, BOOT_ZERO_PAGE_ADDR, sizeof(*zp));
	size_t hlen = JUMP_OFF + 2 + head[JUMP_OFF + 1] - HDR_OFF;
	struct boot_e820_entry e820[E820_MAX_ENTRIES_ZEROPAGE];
	int n;

	if (!zp) {
		pr_err("guest memory at 0x%llx is not mapped",
		       (unsigned long long)BOOT_ZERO_PAGE_ADDR);
		return -ENOMEM;
	}
	n = boot_build_e820(m, e820, ARRAY_SIZE(e820));
	if (n < 0)
		return n;
	memset(zp, 0, sizeof(*zp));
	memcpy(&zp->hdr, head + HDR_OFF, MIN(hlen, sizeof(zp->hdr)));
	zp->hdr.type_of_loader = LOADER_UNDEFINED;
	zp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	zp->hdr.heap_end_ptr = HEAP_END_PTR;
	zp->hdr.code32_start = (u32)bi->kernel_addr;
	zp->hdr.cmd_line_ptr = (u32)bi->cmdline;
	zp->ext_cmd_line_ptr = (u32)(bi->cmdline >> 32);
	zp->hdr.ramdisk_image = (u32)bi->initrd_addr;
	zp->ext_ramdisk_image = (u32)(bi->initrd_addr >> 32);
	zp->hdr.ramdisk_size = (u32)bi->initrd_size;
	zp->ext_ramdisk_size = (u32)(bi->initrd_size >> 32);
	zp->hdr.hardware_subarch = X86_SUBARCH_PC;
	zp->hdr.setup_data = 0;
	zp->acpi_rsdp_addr = cfg->rsdp_gpa;
	memcpy(zp->e820_table, e820, (size_t)n * sizeof(e820[0]));
	zp->e820_entries = (u8)n;
	bi->zero_page = BOOT_ZERO_PAGE_ADDR;
	return 0;
}

int boot_load_linux(struct guest_mem *m, const struct boot_cfg *cfg,
		    struct boot_info *bi)
{
	struct setup_header hdr;
	u8 head[HEAD_SIZE];
	int err;

	memset(bi, 0, sizeof(*bi));
	err = load_kernel(m, cfg->kernel, cfg->kernel_fd, &hdr, head, bi);
	if (err)
		return err;
	err = load_cmdline(m, cfg->cmdline, &hdr, bi);
	if (err)
		return err;
	if (cfg->initrd) {
		err = load_initrd(m, cfg->initrd, cfg->initrd_fd, &hdr, bi);
		if (err)
			return err;
	}
	err = build_zero_page(m, head, cfg, bi);
	if (!err)
		err = build_pgtables(m);
	if (!err)
		err = build_gdt(m, bi);
	if (err)
		return err;
	bi->pgtable = BOOT_PGTABLE_ADDR;
	bi->stack_top = BOOT_STACK_TOP;
	return 0;
}

void boot_setup_sregs(const struct boot_info *bi, struct kvm_sregs *s)
{
	u64 gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment data;

	boot_gdt(gdt);
	/* Caches on (clear CD/NW from the reset value), protected, paging. */
	s->cr0 = (s->cr0 & ~(CR0_CD | CR0_NW)) |
		 CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	s->cr3 = bi->pgtable;
	s->cr4 |= CR4_PAE;
	s->efer |= EFER_LME | EFER_LMA;
	s->gdt.base = bi->gdt;
	s->gdt.limit = bi->gdt_limit;
	seg_from_desc(gdt[BOOT_CS_SELECTOR / 8], BOOT_CS_SELECTOR, &s->cs);
	seg_from_desc(gdt[BOOT_DS_SELECTOR / 8], BOOT_DS_SELECTOR, &data);
	s->ds = data;
	s->es = data;
	s->fs = data;
	s->gs = data;
	s->ss = data;
}

void boot_setup_regs(const struct boot_info *bi, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = bi->entry;
	r->rsi = bi->zero_page;
	r->rsp = bi->stack_top;
	r->rbp = bi->stack_top;
	r->rflags = 0x2;	/* bit 1 is reserved, always set; IF clear */
}
