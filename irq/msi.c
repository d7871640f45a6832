// SPDX-License-Identifier: GPL-2.0
/*
 * MSI message decoding and the KVM routing form of a message.
 *
 * A message is an address in the 0xfeeXXXXX window plus a data word. The
 * address carries an 8-bit destination APIC ID; guests with more APIC IDs
 * use either the extended destination ID (bits 11:5 of the address give
 * ID bits 14:8, the KVM_FEATURE_MSI_EXT_DEST_ID convention) or the upper
 * address dword (ID bits 31:8, as with interrupt remapping off in x2APIC
 * mode). We accept both and hand KVM one canonical form: low 8 bits in
 * address_lo, the rest in address_hi (KVM's x2APIC format).
 */
#include <errno.h>
#include <string.h>

#include "irq/irq.h"

bool irq_msi_decode(u64 addr, u32 data, bool ext_dest, struct irq_msi *m)
{
	u32 lo = (u32)addr, hi = (u32)(addr >> 32);
	u32 ext;

	memset(m, 0, sizeof(*m));
	if ((lo & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
		return false;
	m->dest = (lo >> MSI_ADDR_DEST_SHIFT) & 0xff;
	ext = (lo >> MSI_ADDR_EXT_SHIFT) & MSI_ADDR_EXT_MASK;
	if (ext_dest)
		m->dest |= ext << 8;
	/* x2APIC format: destination bits 31:8 in address bits 63:40. */
	m->dest |= hi & 0xffffff00u;
	m->redir_hint = lo & MSI_ADDR_RH;
	m->logical = lo & MSI_ADDR_DM;
	m->vector = data & MSI_DATA_VECTOR_MASK;
	m->delivery = (data >> MSI_DATA_DELIV_SHIFT) & 7;
	m->level = data & MSI_DATA_TRIGGER_LEVEL;
	return true;
}

int irq_msi_to_kvm(const struct irq_msi *m, bool x2apic_ids,
		   struct kvm_irq_routing_msi *out)
{
	memset(out, 0, sizeof(*out));
	if (m->dest > 0xff && !x2apic_ids)
		return -ERANGE;
	out->address_lo = (u32)MSI_ADDR_BASE |
			  ((m->dest & 0xff) << MSI_ADDR_DEST_SHIFT) |
			  (m->redir_hint ? MSI_ADDR_RH : 0) |
			  (m->logical ? MSI_ADDR_DM : 0);
	out->address_hi = m->dest & 0xffffff00u;
	out->data = m->vector | ((u32)m->delivery << MSI_DATA_DELIV_SHIFT) |
		    (m->level ? MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT : 0);
	return 0;
}
