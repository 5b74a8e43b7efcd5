/*
 * The real xHCI driver (xhci.c, xhci_dev.c, with usb.c, hub.c and
 * usb_port.c) against a simulated controller: a register file that
 * pci_map hands out, and a controller that runs its command and transfer
 * rings and writes events each time the driver polls (blk_wait).  The
 * device on a port is a stick with one bulk pair; the mass-storage class
 * driver is replaced by a stub that configures the endpoints and keeps
 * the device, so that the tests move data with usb_bulk.
 *
 * What QEMU's xHCI never does is played here: a controller without
 * 64-bit addressing (every address it is given must be below 4 GiB, so
 * buffers above go through bounce pages), xHCI 0.96's TD Size, protocol
 * speed IDs that are not the defaults, a USB 3 port stuck in SS.Inactive
 * and a USB 2 one that connects late, a port reset that fails once, a
 * stick pulled out during a transfer, and endpoint commands that fail
 * (the port reset and the device set up again; the controller halted
 * when even that fails).  Physical memory is faked: pages the driver
 * allocates sit at "physical" addresses from LOW_BASE, the test's data
 * buffer at HIGH_BASE (above 4 GiB), anything else is its own address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dev/blk_wait.h"
#include "core/dev/pci.h"
#include "core/dev/usb/usb.h"
#include "core/dev/usb/xhci.h"
#include "core/mm/pmap.h"
#include "core/mm/vm_page.h"

#define LOW_BASE 0x10000000ull
#define HIGH_BASE 0x200000000ull
#define MAX_PAGES 512
#define HIBUF (160 * 1024)
#define PORTS 4 /* 1-2 USB 2, 3-4 USB 3 */
#define SLOTS 8
#define PSIV_SS 7 /* the USB 3 ports' SuperSpeed ID, not the default 4 */
#define OP 0x20
#define DB 0x2000
#define RT 0x3000
#define PORTSC(n) (OP + 0x400 + 0x10 * ((n)-1))

/* Fake physical memory */
static struct {
	struct vm_page m;
	void *va;
} pages[MAX_PAGES];
static unsigned npages;
static _Alignas(4096) uint8_t hibuf[HIBUF];

struct vm_page *vm_page_alloc(unsigned flags)
{
	assert_true(npages < MAX_PAGES);
	pages[npages].va = aligned_alloc(4096, 4096);
	memset(pages[npages].va, 0, 4096);
	return &pages[npages++].m;
}

void vm_page_free(struct vm_page *m)
{
	(void)m; /* kept to the end of the test: the controller may still hold it */
}

paddr_t vm_page_phys(const struct vm_page *m)
{
	unsigned i = (unsigned)(((const char *)m - (const char *)pages) / sizeof(pages[0]));

	return LOW_BASE + (paddr_t)i * 4096;
}

void *pmap_phys_to_virt(paddr_t pa)
{
	if (pa >= LOW_BASE && pa < LOW_BASE + MAX_PAGES * 4096ull) {
		unsigned i = (unsigned)((pa - LOW_BASE) / 4096);
		assert_true(i < npages);
		return (uint8_t *)pages[i].va + (pa & 4095);
	}
	if (pa >= HIGH_BASE && pa < HIGH_BASE + HIBUF)
		return hibuf + (pa - HIGH_BASE);
	return (void *)(uintptr_t)pa;
}

struct pmap *pmap_kernel(void)
{
	return NULL;
}

bool pmap_extract(struct pmap *pmap, vaddr_t va, paddr_t *pa)
{
	(void)pmap;
	if (va >= (vaddr_t)hibuf && va < (vaddr_t)hibuf + HIBUF) {
		*pa = HIGH_BASE + (va - (vaddr_t)hibuf);
		return true;
	}
	for (unsigned i = 0; i < npages; i++)
		if (va - (vaddr_t)pages[i].va < 4096) {
			*pa = LOW_BASE + i * 4096ull + (va & 4095);
			return true;
		}
	*pa = va;
	return true;
}

/* The controller */
static _Alignas(4096) uint8_t regs[0x10000];
static const struct pci_dev sim_pci = {0, 3, 0, 0x1b36, 0x000d, 0x0c, 0x03, 0x30};

struct sim_ep {
	paddr_t deq;
	uint32_t cycle;
};

static struct {
	bool ac64;
	uint16_t version;
	/* ports */
	uint32_t portsc[PORTS + 1]; /* what the sim last wrote */
	bool present[PORTS + 1], enabled[PORTS + 1];
	uint64_t connect_at[PORTS + 1];
	unsigned stuck[PORTS + 1];	 /* warm resets needed to leave SS.Inactive */
	unsigned reset_fails[PORTS + 1]; /* hot resets that fail */
	/* rings */
	paddr_t cmd_deq, evt_base;
	uint32_t cmd_cycle, evt_cycle;
	unsigned evt_enq, evt_size;
	unsigned next_slot;
	struct sim_ep ep[SLOTS + 1][32];
	unsigned slot_psiv[SLOTS + 1], slot_port[SLOTS + 1], slot_route[SLOTS + 1];
	/* a USB 3 hub on root port hub_root (0: none), its ports 1-4 */
	unsigned hub_root;
	bool hub_slot[SLOTS + 1];
	bool hub_present[5], hub_enabled[5];
	unsigned hub_stuck[5], hub_warm_resets[5];
	uint32_t hub_change[5];
	/* faults */
	unsigned ep_cmd_fails;	     /* Reset Endpoint, Stop Endpoint, Set TR Dequeue */
	unsigned reset_device_fails; /* Reset Device */
	bool bulk_error, unplug;
	/* seen */
	unsigned high_addresses, td_size_errors, wrapped_tds, tds, bulk_doorbells;
	unsigned reset_devices, resets[PORTS + 1], warm_resets[PORTS + 1];
	uint8_t out[HIBUF]; /* the bytes of the last bulk OUT */
} sim;

static uint64_t now_us;
static struct usb_dev *devs[4];
static unsigned ndevs;

static uint32_t rd(unsigned off)
{
	uint32_t v;

	memcpy(&v, regs + off, 4);
	return v;
}

static void wr(unsigned off, uint32_t v)
{
	memcpy(regs + off, &v, 4);
}

static uint64_t rd64(unsigned off)
{
	return rd(off) | (uint64_t)rd(off + 4) << 32;
}

/* An address the driver gave the controller: counted when out of its reach. */
static void *sim_ptr(paddr_t pa)
{
	if (!sim.ac64 && pa >= 1ull << 32)
		sim.high_addresses++;
	return pmap_phys_to_virt(pa);
}

static uint32_t *sim_u32(paddr_t pa)
{
	return sim_ptr(pa);
}

static void sim_event(paddr_t trb, uint32_t d2, uint32_t d3)
{
	uint32_t *e = sim_u32(sim.evt_base + sim.evt_enq * 16ull);

	e[0] = (uint32_t)trb;
	e[1] = (uint32_t)(trb >> 32);
	e[2] = d2;
	e[3] = d3 | sim.evt_cycle;
	if (++sim.evt_enq == sim.evt_size) {
		sim.evt_enq = 0;
		sim.evt_cycle ^= 1;
	}
}

/* Device context of slot: 0 slot, dci endpoints (32-byte contexts). */
static uint32_t *sim_out(unsigned slot, unsigned idx)
{
	uint64_t *dcbaa = sim_ptr(rd64(OP + 0x30));

	return sim_u32(dcbaa[slot] + idx * 32ull);
}

static void sim_ep_from(unsigned slot, unsigned dci, const uint32_t *in)
{
	memcpy(sim_out(slot, dci), in, 32);
	sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 1; /* running */
	sim.ep[slot][dci].deq = (in[2] & ~0xfu) | (uint64_t)in[3] << 32;
	sim.ep[slot][dci].cycle = in[2] & 1;
}

static bool sim_fail_once(unsigned *n)
{
	if (*n == 0)
		return false;
	--*n;
	return true;
}

/* One command: its completion code. */
static unsigned sim_command(const uint32_t *t, unsigned *slot_out)
{
	unsigned type = t[3] >> 10 & 0x3f, slot = t[3] >> 24, dci = t[3] >> 16 & 0x1f;
	paddr_t in_pa = t[0] | (uint64_t)t[1] << 32;
	uint32_t *in = type == 11 || type == 12 || type == 13 ? sim_u32(in_pa) : NULL;

	*slot_out = slot;
	switch (type) {
	case 9: /* Enable Slot */
		*slot_out = ++sim.next_slot;
		return sim.next_slot <= SLOTS ? 1 : 9;
	case 11: /* Address Device */
		memcpy(sim_out(slot, 0), in + 8, 32);
		sim.slot_psiv[slot] = in[8] >> 20 & 0xf;
		sim.slot_port[slot] = in[9] >> 16 & 0xff;
		sim.slot_route[slot] = in[8] & 0xfffff;
		sim.hub_slot[slot] =
		    sim.slot_route[slot] == 0 && sim.slot_port[slot] == sim.hub_root;
		sim_ep_from(slot, 1, in + 16);
		return 1;
	case 12: /* Configure Endpoint */
		for (unsigned d = 2; d < 32; d++)
			if (in[1] & 1u << d)
				sim_ep_from(slot, d, in + 8 * (1 + d));
			else if (in[0] & 1u << d)
				sim_out(slot, d)[0] &= ~7u;
		return 1;
	case 13: /* Evaluate Context */
		return 1;
	case 14: /* Reset Endpoint: halted to stopped */
		if (sim_fail_once(&sim.ep_cmd_fails) || (sim_out(slot, dci)[0] & 7) != 2)
			return 19;
		sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 3;
		return 1;
	case 15: /* Stop Endpoint */
		if (sim_fail_once(&sim.ep_cmd_fails) || (sim_out(slot, dci)[0] & 7) != 1)
			return 19;
		sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 3;
		return 1;
	case 16: /* Set TR Dequeue Pointer */
		if (sim_fail_once(&sim.ep_cmd_fails) || (sim_out(slot, dci)[0] & 7) != 3)
			return 19;
		sim.ep[slot][dci].deq = (t[0] & ~0xfu) | (uint64_t)t[1] << 32;
		sim.ep[slot][dci].cycle = t[0] & 1;
		return 1;
	case 17: /* Reset Device: only endpoint 0 is left */
		sim.reset_devices++;
		if (sim_fail_once(&sim.reset_device_fails))
			return 19;
		for (unsigned d = 2; d < 32; d++)
			sim_out(slot, d)[0] &= ~7u;
		return 1;
	case 10: /* Disable Slot */
		return 1;
	default:
		fail_msg("command type %u", type);
		return 0;
	}
}

static void sim_run_commands(void)
{
	for (;;) {
		uint32_t *t = sim_u32(sim.cmd_deq);
		if ((t[3] & 1) != sim.cmd_cycle)
			return;
		if ((t[3] >> 10 & 0x3f) == 6) {
			sim.cmd_deq = (t[0] & ~0xfu) | (uint64_t)t[1] << 32;
			sim.cmd_cycle ^= t[3] >> 1 & 1;
			continue;
		}
		unsigned slot;
		unsigned cc = sim_command(t, &slot);
		sim_event(sim.cmd_deq, cc << 24, 33u << 10 | slot << 24);
		sim.cmd_deq += 16;
	}
}

static const uint8_t dev_desc[18] = {18, 1, 0, 3, 0, 0, 0, 9, 0xf4, 0x46, 1, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t config_desc[32] = {9,    2, 32, 0, 1,    1, 0, 0x80, 50, 9, 4, 0, 0, 2, 8, 6,
					0x50, 0, 7,  5, 0x81, 2, 0, 2,	  0,  7, 5, 2, 2, 0, 2, 0};

/* The status of hub port p: wPortStatus, and wPortChange in the upper half (USB 3.2 10.16.2.6). */
static uint32_t sim_hub_status(unsigned p)
{
	bool stuck = sim.hub_present[p] && sim.hub_stuck[p] > 0;
	bool conn = sim.hub_present[p] && !stuck;

	return conn | (uint32_t)(conn && sim.hub_enabled[p]) << 1 |
	       (stuck  ? 6u
		: conn ? 0u
		       : 5u)
		   << 5 |
	       1u << 9 | sim.hub_change[p] << 16;
}

/* A control request to slot: its answer in resp; a hub's port requests act on its ports. */
static void sim_control(unsigned slot, const uint8_t *setup, uint8_t *resp)
{
	static const uint8_t hub_dev[18] = {18, 1, 0, 3, 9, 0, 3, 9, 0xf4, 0x46, 2, 0};
	static const uint8_t hub_config[25] = {9, 2, 25, 0, 1, 1, 0, 0xe0, 0, 9, 4, 0, 0,
					       1, 9, 0,	 0, 0, 7, 5, 0x81, 3, 2, 0, 8};
	static const uint8_t hub_desc[12] = {12, 0x2a, 4, 0, 0, 10};
	unsigned type = setup[0], req = setup[1], value = setup[2] | setup[3] << 8, p = setup[4];
	bool hub = sim.hub_slot[slot];

	if (type == 0x80 && req == 6 && setup[3] == 1)
		memcpy(resp, hub ? hub_dev : dev_desc, 18);
	else if (type == 0x80 && req == 6 && setup[3] == 2)
		memcpy(resp, hub ? hub_config : config_desc, hub ? 25 : 32);
	if (!hub || (type >> 5 & 3) != 1)
		return;
	assert_true(type == 0xa0 || (p >= 1 && p <= 4) || req == 12);
	if (type == 0xa0 && req == 6) {
		memcpy(resp, hub_desc, sizeof(hub_desc));
	} else if (type == 0xa3 && req == 0) {
		uint32_t st = sim_hub_status(p);
		memcpy(resp, &st, 4);
	} else if (type == 0x23 && req == 3 && value == 4) { /* PORT_RESET */
		sim.hub_enabled[p] = sim.hub_present[p] && sim.hub_stuck[p] == 0;
		sim.hub_change[p] |= 1u << 4;
	} else if (type == 0x23 && req == 3 && value == 28) { /* BH_PORT_RESET */
		sim.hub_warm_resets[p]++;
		if (sim.hub_stuck[p] > 0)
			sim.hub_stuck[p]--;
		sim.hub_change[p] |= 1u << 4 | 1u << 5;
	} else if (type == 0x23 && req == 1 && value >= 16) { /* C_PORT_* */
		sim.hub_change[p] &= ~(1u << (value == 29 ? 5 : value - 16));
	}
}

/* The bytes of a bulk IN TD: a pattern the test checks. */
static uint8_t sim_pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

/* Checks the TD Size of TRB k (4.11.2.4), done bytes into the TD once its len are sent. */
static void sim_check_td_size(const uint32_t *t, size_t total, size_t done, uint32_t len,
			      unsigned mps, bool last)
{
	size_t want = sim.version < 0x100 ? (total - done + len) >> 10
		      : last		  ? 0
					  : (total + mps - 1) / mps - done / mps;

	if ((t[2] >> 17 & 0x1f) != (want > 31 ? 31 : want))
		sim.td_size_errors++;
}

/* One TD of slot/dci: its TRBs (at most 64), with data moved as the device would. */
static void sim_td(unsigned slot, unsigned dci, uint32_t *trbs[], paddr_t pas[], unsigned n)
{
	unsigned mps = sim_out(slot, dci)[1] >> 16;
	size_t total = 0, done = 0;
	uint8_t setup[8], resp[64] = {0};

	sim.tds++;
	for (unsigned k = 0; k < n; k++)
		if ((trbs[k][3] >> 10 & 0x3f) == 1 || (trbs[k][3] >> 10 & 0x3f) == 3)
			total += trbs[k][2] & 0x1ffff;
	if (dci == 1) {
		memcpy(setup, trbs[0], 8);
		sim_control(slot, setup, resp);
	}
	if (dci != 1 && sim.unplug && sim.slot_route[slot] != 0) {
		/* pulled out of a hub: the transaction fails, the root port stays connected */
		sim.hub_present[sim.slot_route[slot] & 0xf] = false;
		sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 2;
		sim_event(pas[n - 1], 4u << 24, 32u << 10 | dci << 16 | slot << 24);
		return;
	}
	if (dci != 1 && sim.unplug) {
		sim.present[sim.slot_port[slot]] = false;
		sim.enabled[sim.slot_port[slot]] = false;
		return; /* no event ever comes */
	}
	for (unsigned k = 0; k < n; k++) {
		unsigned type = trbs[k][3] >> 10 & 0x3f;
		if (type != 1 && type != 3)
			continue;
		uint32_t len = trbs[k][2] & 0x1ffff;
		uint8_t *p = sim_ptr(trbs[k][0] | (uint64_t)trbs[k][1] << 32);
		done += len;
		if (dci != 1)
			sim_check_td_size(trbs[k], total, done, len, mps, k == n - 1);
		for (uint32_t i = 0; i < len; i++) {
			size_t at = done - len + i;
			if (dci == 1) {
				assert_true(at < sizeof(resp));
				p[i] = resp[at];
			} else if (dci & 1)
				p[i] = sim_pattern(at);
			else
				sim.out[at] = p[i];
		}
	}
	bool error = dci != 1 && sim.bulk_error;
	if (error) {
		sim.bulk_error = false;
		sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 2; /* halted */
	}
	sim_event(pas[n - 1], (error ? 4u : 1u) << 24, 32u << 10 | dci << 16 | slot << 24);
}

/* Runs the ring of slot/dci up to its first TRB the driver has not made valid. */
static void sim_run_ring(unsigned slot, unsigned dci)
{
	struct sim_ep *e = &sim.ep[slot][dci];
	uint32_t *trbs[64];
	paddr_t pas[64];
	unsigned n = 0;
	bool wrapped = false;

	if ((sim_out(slot, dci)[0] & 7) == 3)
		sim_out(slot, dci)[0] = (sim_out(slot, dci)[0] & ~7u) | 1;
	while ((sim_out(slot, dci)[0] & 7) == 1) {
		uint32_t *t = sim_u32(e->deq);
		if ((t[3] & 1) != e->cycle)
			return;
		unsigned type = t[3] >> 10 & 0x3f;
		if (type == 6) {
			wrapped |= n > 0;
			e->deq = (t[0] & ~0xfu) | (uint64_t)t[1] << 32;
			e->cycle ^= t[3] >> 1 & 1;
			continue;
		}
		e->deq += 16;
		if (type == 8 && n == 0)
			continue; /* No Op */
		assert_true(n < 64);
		pas[n] = e->deq - 16;
		trbs[n++] = t;
		/* a control TD runs from Setup to Status; others end at the first unchained TRB */
		if (dci == 1 ? type == 4 : !(t[3] & 1u << 4)) {
			sim.wrapped_tds += wrapped;
			sim_td(slot, dci, trbs, pas, n);
			n = 0;
			wrapped = false;
		}
	}
}

/* The driver wrote PORTSC n: resets begin (and end at once), change bits clear. */
static void sim_port_write(unsigned n, uint32_t v)
{
	uint32_t changes = v & sim.portsc[n] & 0x7fu << 17;

	sim.portsc[n] &= ~changes;
	if (v & 1u << 31) {
		sim.warm_resets[n]++;
		if (sim.stuck[n] > 0)
			sim.stuck[n]--;
		sim.portsc[n] |= 1u << 19 | 1u << 21;
	}
	if (v & 1u << 4) {
		sim.resets[n]++;
		sim.enabled[n] = sim.present[n] && !sim_fail_once(&sim.reset_fails[n]);
		sim.portsc[n] |= 1u << 21;
	}
}

static void sim_port_update(unsigned n)
{
	bool super = n > 2;

	if (!sim.present[n] && sim.connect_at[n] <= now_us && sim.connect_at[n] != 0) {
		sim.present[n] = true;
		sim.connect_at[n] = 0;
	}
	bool stuck = super && sim.present[n] && sim.stuck[n] > 0;
	bool ccs = sim.present[n] && !stuck;
	if (super && ccs)
		sim.enabled[n] = true; /* a trained USB 3 link is enabled */
	uint32_t pls = stuck ? 6 : ccs ? 0 : 5;
	uint32_t speed = ccs ? (super ? PSIV_SS : 3) : 0;
	sim.portsc[n] = (sim.portsc[n] & 0x7fu << 17) | ccs |
			(uint32_t)(ccs && sim.enabled[n]) << 1 | pls << 5 | 1u << 9 | speed << 10;
	wr(PORTSC(n), sim.portsc[n]);
}

/* What the controller does between two polls of the driver. */
static void sim_step(void)
{
	uint32_t cmd = rd(OP);

	if (cmd & 2) { /* HCRST */
		wr(OP, 0);
		wr(OP + 4, 1);
		return;
	}
	if ((cmd & 1) && (rd(OP + 4) & 1)) { /* run */
		wr(OP + 4, 0);
		sim.cmd_deq = rd64(OP + 0x18) & ~0x3full;
		sim.cmd_cycle = 1;
		uint32_t *erst = sim_u32(rd64(RT + 0x30));
		sim.evt_base = erst[0] | (uint64_t)erst[1] << 32;
		sim.evt_size = erst[2];
		sim.evt_cycle = 1;
		sim_ptr(rd64(OP + 0x30));
	}
	if (!(cmd & 1)) {
		wr(OP + 4, 1);
		return;
	}
	for (unsigned n = 1; n <= PORTS; n++) {
		if (rd(PORTSC(n)) != sim.portsc[n])
			sim_port_write(n, rd(PORTSC(n)));
		sim_port_update(n);
	}
	if (rd(DB) != ~0u) {
		wr(DB, ~0u);
		sim_run_commands();
	}
	for (unsigned s = 1; s <= SLOTS; s++)
		if (rd(DB + 4 * s) != ~0u) {
			unsigned dci = rd(DB + 4 * s) & 0xff;
			wr(DB + 4 * s, ~0u);
			sim.bulk_doorbells += dci > 1;
			sim_run_ring(s, dci);
		}
}

/* The capabilities: two Supported Protocol ones, USB 2 on 1-2 and USB 3 (one PSI) on 3-4. */
static void sim_new(bool ac64, uint16_t version)
{
	memset(&sim, 0, sizeof(sim));
	memset(regs, 0, sizeof(regs));
	for (unsigned i = 0; i < npages; i++)
		free(pages[i].va);
	npages = 0;
	ndevs = 0;
	now_us = 0;
	sim.ac64 = ac64;
	sim.version = version;
	wr(0x00, 0x20 | (uint32_t)version << 16);
	wr(0x04, SLOTS | PORTS << 24);
	wr(0x10, (ac64 ? 1u : 0u) | (0x1000u / 4) << 16);
	wr(0x14, DB);
	wr(0x18, RT);
	wr(OP + 4, 1); /* halted */
	wr(OP + 8, 1); /* 4 KiB pages */
	for (unsigned s = 0; s <= SLOTS; s++)
		wr(DB + 4 * s, ~0u);
	wr(0x1000, 2u << 24 | 4u << 8 | 2);
	wr(0x1008, 1 | 2u << 8);
	wr(0x1010, 3u << 24 | 2);
	wr(0x1018, 3 | 2u << 8 | 1u << 28);
	wr(0x1020, PSIV_SS | 3u << 4 | 5u << 16); /* 5 Gb/s */
}

/* The driver keeps its controller and devices for good, as a kernel does: no leak reports. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* The environment the driver polls through */
void blk_wait_start(struct blk_wait *w, uint64_t timeout_us)
{
	w->start = now_us;
	w->timeout_us = timeout_us;
	w->polls = 0;
}

bool blk_wait_expired(struct blk_wait *w)
{
	sim_step();
	now_us += 10;
	return now_us - w->start >= w->timeout_us;
}

void blk_wait_delay(uint64_t us)
{
	sim_step();
	now_us += us;
	sim_step();
}

uint64_t __wrap_clock_us(void);
uint64_t __wrap_clock_us(void)
{
	return now_us;
}

void *pci_map(uint64_t pa, size_t size)
{
	(void)pa;
	(void)size;
	return regs;
}

uint64_t pci_bar(const struct pci_dev *d, unsigned n, uint64_t *size)
{
	*size = sizeof(regs);
	return 0xfe000000;
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return 0;
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
}

void pci_enable(const struct pci_dev *d)
{
}

void pci_for_each(bool (*fn)(const struct pci_dev *d, void *ctx), void *ctx)
{
	fn(&sim_pci, ctx);
}

/* The class driver: configures the bulk pair and keeps the device for the test. */
int usb_msc_attach(struct usb_dev *d, size_t iface_off)
{
	struct usb_ep eps[4];
	unsigned n = usb_interface_eps(d, iface_off, eps, 4);

	assert_int_equal(n, 2);
	assert_int_equal(usb_configure(d, eps, n, NULL), 0);
	assert_true(ndevs < 4);
	devs[ndevs++] = d;
	return 0;
}

/* A bulk IN of len bytes at off into hibuf: every byte the device's. */
static void read_ok(struct usb_dev *d, size_t off, size_t len)
{
	size_t got;

	memset(hibuf + off, 0xee, len);
	assert_int_equal(usb_bulk(d, 0x81, hibuf + off, len, &got), 0);
	assert_int_equal(got, len);
	for (size_t i = 0; i < len; i++)
		if (hibuf[off + i] != sim_pattern(i))
			fail_msg("byte %zu of %zu at offset %zu", i, len, off);
}

static void write_ok(struct usb_dev *d, size_t off, size_t len)
{
	size_t got;

	for (size_t i = 0; i < len; i++)
		hibuf[off + i] = (uint8_t)(i ^ 0x3c);
	assert_int_equal(usb_bulk(d, 0x02, hibuf + off, len, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(sim.out, hibuf + off, len);
}

/*
 * A stick on a USB 3 port from the start: found once the 500 ms that
 * ports get to come up after the reset have passed, not much later, at
 * its protocol speed ID, and reads and writes of all
 * sizes at odd offsets, enough to go round each ring several times:
 * no TD wraps past a link, every TD Size is right.
 */
static void test_stick(void **state)
{
	sim_new(true, 0x100);
	sim.present[3] = true;
	xhci_probe();
	assert_int_equal(ndevs, 1);
	assert_int_equal(devs[0]->speed, USB_SPEED_SUPER);
	assert_int_equal(sim.slot_psiv[1], PSIV_SS);
	assert_true(now_us >= 500000 && now_us < 600000);
	for (unsigned i = 0; i < 300; i++) {
		size_t len = 1 + (i * 7919) % (USB_MAX_XFER - 1), off = (i * 613) % 4096;
		read_ok(devs[0], off, len);
		if (i % 3 == 0)
			write_ok(devs[0], off, len);
	}
	assert_int_equal(sim.wrapped_tds, 0);
	assert_int_equal(sim.td_size_errors, 0);
	assert_int_equal(sim.high_addresses, 0);
}

/* xHCI 0.96 counts TD Size in KiB left. */
static void test_td_size_096(void **state)
{
	sim_new(true, 0x96);
	sim.present[4] = true;
	xhci_probe();
	assert_int_equal(ndevs, 1);
	read_ok(devs[0], 100, 70000);
	write_ok(devs[0], 3, USB_MAX_XFER - 3);
	assert_true(sim.tds > 2);
	assert_int_equal(sim.td_size_errors, 0);
}

/*
 * No 64-bit addressing: every structure and every data address the
 * controller sees lies below 4 GiB; the test's buffer (above) goes
 * through bounce pages both ways.
 */
static void test_32bit_bounce(void **state)
{
	sim_new(false, 0x100);
	sim.present[1] = true;
	xhci_probe();
	assert_int_equal(ndevs, 1);
	assert_int_equal(devs[0]->speed, USB_SPEED_HIGH);
	read_ok(devs[0], 0, 4096);
	read_ok(devs[0], 1000, 50000);
	write_ok(devs[0], 77, 9000);
	assert_int_equal(sim.high_addresses, 0);

	/* with 64-bit addressing the same buffer is given as it is */
	sim_new(true, 0x100);
	sim.present[1] = true;
	xhci_probe();
	sim.ac64 = false;
	read_ok(devs[0], 0, 4096);
	assert_true(sim.high_addresses > 0);
}

/*
 * A USB 3 port stuck in SS.Inactive until a warm reset, a USB 2 stick
 * that connects 600 ms in (seen since the warm reset keeps the watch
 * going), and a port whose first reset fails.
 */
static void test_ports(void **state)
{
	sim_new(true, 0x100);
	sim.present[4] = true;
	sim.stuck[4] = 1;
	sim.connect_at[2] = 600000;
	sim.present[1] = true;
	sim.reset_fails[1] = 1;
	xhci_probe();
	assert_int_equal(ndevs, 3);
	assert_int_equal(sim.warm_resets[4], 1);
	assert_int_equal(sim.resets[1], 2);
	assert_int_equal(sim.resets[2], 1);
	assert_int_equal(sim.resets[4], 1);
}

/* The stick is pulled out during a read: -ENODEV at once, not after 10 s, and no more doorbells. */
static void test_unplug(void **state)
{
	size_t got;

	sim_new(true, 0x100);
	sim.present[3] = true;
	xhci_probe();
	read_ok(devs[0], 0, 512);
	sim.unplug = true;
	uint64_t t0 = now_us;
	unsigned rung = sim.bulk_doorbells;
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -ENODEV);
	assert_true(now_us - t0 < 100000);
	assert_true(devs[0]->gone);
	assert_false(devs[0]->lost);
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -ENODEV);
	assert_int_equal(sim.bulk_doorbells, rung + 1);
	assert_int_equal(rd(OP) & 1, 1); /* the controller runs on */
}

/*
 * A transaction error whose endpoint will not reset (twice): the port is
 * reset and the device addressed and configured again, the controller
 * runs on and the next read works.  When Reset Device fails too, the
 * controller is halted.
 */
static void test_escalation(void **state)
{
	size_t got;

	sim_new(true, 0x100);
	sim.present[3] = true;
	xhci_probe();
	sim.bulk_error = true;
	sim.ep_cmd_fails = 2;
	unsigned resets = sim.resets[3];
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -EIO);
	assert_int_equal(sim.resets[3], resets + 1);
	assert_int_equal(sim.reset_devices, 1);
	assert_int_equal(rd(OP) & 1, 1);
	read_ok(devs[0], 0, 8192);

	sim.bulk_error = true;
	sim.ep_cmd_fails = 2;
	sim.reset_device_fails = 1;
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -EIO);
	assert_int_equal(rd(OP) & 1, 0);
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -EIO);
}

/*
 * A USB 3 hub on root port 3 whose port 2 is stuck in SS.Inactive: a
 * warm reset through the hub (BH_PORT_RESET), then the stick behind it
 * works.  Pulled out of the hub, it is found gone by the hub port's
 * status, while the root port stays connected.
 */
static void test_hub(void **state)
{
	size_t got;

	sim_new(true, 0x100);
	sim.present[3] = true;
	sim.hub_root = 3;
	sim.hub_present[2] = true;
	sim.hub_stuck[2] = 1;
	xhci_probe();
	assert_int_equal(ndevs, 1);
	assert_int_equal(sim.hub_warm_resets[2], 1);
	assert_int_equal(sim.slot_route[2], 2);
	read_ok(devs[0], 5, 20000);
	sim.unplug = true;
	assert_int_equal(usb_bulk(devs[0], 0x81, hibuf, 4096, &got), -ENODEV);
	assert_true(devs[0]->gone);
	assert_false(devs[0]->lost);
	assert_int_equal(rd(OP) & 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stick),	 cmocka_unit_test(test_td_size_096),
	    cmocka_unit_test(test_32bit_bounce), cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_unplug),	 cmocka_unit_test(test_escalation),
	    cmocka_unit_test(test_hub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
