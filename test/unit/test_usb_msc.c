/*
 * USB mass storage over a simulated bulk-only device: the real usb.c and
 * usb_msc.c run against a host controller ops table whose "device" keeps
 * a disk in memory and follows BOT's phases (CBW, data, CSW), with faults
 * a test arms: a stalled data stage with any sense (NOT READY, UNIT
 * ATTENTION, an empty one, a medium error), a CSW with the wrong tag or
 * signature, a phase error, a stalled CSW or CBW, a transfer that times
 * out, a controller that loses a buffer for good, a data stage that comes
 * short with or without a residue, a residue on a complete one.  A fault
 * fires on every command over its LBA, or only the first few times.
 * Each test checks that only the request hit fails, that the reset
 * recovery of BOT 5.3.4 went out in order, that what may pass is tried
 * again, and that the next request works with every byte right.  The
 * clock is the test's: a wait costs nothing and shows in the trail.
 * QEMU's usb-storage cannot be made to stall, which is why this is here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/dev/blk.h"
#include "core/dev/usb/usb.h"
#include "core/mm/malloc.h"
#include "test/host/clock_sim.h"

#define SECTORS 4096 /* the low window of the disk */
#define HIGH_LBA 0x100000000ull
#define EP_IN 0x81
#define EP_OUT 0x02

enum fault {
	F_NONE,
	F_DATA_STALL,
	F_CSW_TAG,
	F_CSW_SIG,
	F_PHASE,
	F_CSW_STALL,
	F_CBW_STALL,
	F_TIMEOUT,
	F_LOST,
	F_RESIDUE,	 /* a short data stage, and a residue that says so */
	F_SHORT,	 /* a short data stage, and a CSW that claims everything moved */
	F_BOGUS_RESIDUE, /* every byte moved, and a CSW residue all the same */
	F_SYNC,		 /* SYNCHRONIZE CACHE fails (sync_fail says how) */
	F_UNPLUG	 /* the stick is pulled out during the data stage */
};
enum phase { P_CBW, P_DATA, P_CSW };

static struct sim {
	struct usb_dev dev;
	uint8_t low[SECTORS * 512], high[SECTORS * 512];
	uint64_t capacity;
	enum phase phase;
	uint8_t cbw[31];
	uint8_t status; /* of the command in progress */
	uint32_t residue;
	bool halted_in, halted_out, two_luns;
	bool stale_in, stale_out; /* the device restarted its toggle, the host not yet */
	enum fault fault;
	uint64_t fault_lba;		/* commands that cover it meet the fault */
	unsigned fault_times;		/* how many commands meet it; 0: all */
	unsigned fired;			/* commands that met it */
	bool armed;			/* the command in progress meets it */
	unsigned fault_key, fault_code; /* the sense of F_DATA_STALL: key, ASC << 8 | ASCQ */
	unsigned opcodes[64], nops;	/* SCSI opcodes seen */
	unsigned max_count;		/* most sectors one READ or WRITE asked for */
	char trail[256];		/* in order: R reset, I/O clear halt, d a wait */
	unsigned sense_key, sense_code;
	enum { CSW_GOOD, CSW_TAG, CSW_PHASE } csw_bad; /* of the command in progress */
	/*
	 * What each TEST UNIT READY meets, one letter each, ready when they
	 * run out: U unit attention, N becoming ready, S needs START STOP UNIT
	 * (until it comes), E an empty sense, T a CSW with a wrong tag, I an
	 * illegal request.
	 */
	const char *tur_script;
	bool started, never_ready, no_medium_lun1;
	uint32_t inquiry_len;	 /* bytes INQUIRY sends; 0: all asked for */
	unsigned desc_fails;	 /* GET_DESCRIPTOR(DEVICE)s that fail */
	unsigned capacity_fails; /* READ CAPACITYs that meet a UNIT ATTENTION */
	enum { SYNC_PASS, SYNC_ILLEGAL, SYNC_PHASE } sync_fail;
} sim;

static void trail(char c);

/* a wait shows in the trail */
static void sim_waited(uint64_t us)
{
	(void)us;
	trail('d');
}

/*
 * The kernel allocator for the driver: it keeps its device and disks for
 * good, as a kernel does, so each test's teardown gives back what the
 * driver took, and ASan still sees every overflow and stray free.
 */
static void *kept[256];
static unsigned nkept;

void *mm_op_new(size_t size, bool single)
{
	assert_true(nkept < ARRAY_SIZE(kept));
	return kept[nkept++] = calloc(1, size);
}

void mm_op_delete(void *p)
{
	for (unsigned i = 0; i < nkept; i++)
		if (kept[i] == p) {
			kept[i] = kept[--nkept];
			free(p);
			return;
		}
	assert_null(p);
}

void *mm_malloc(size_t size)
{
	return mm_op_new(size, false);
}

void mm_mfree(void *p)
{
	mm_op_delete(p);
}

static int give_back(void **state)
{
	while (nkept > 0)
		free(kept[--nkept]);
	return 0;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> 8 * (n - 1 - i));
}

static uint8_t *sector(uint64_t lba)
{
	if (lba < SECTORS)
		return sim.low + lba * 512;
	assert_true(lba >= HIGH_LBA && lba < HIGH_LBA + SECTORS);
	return sim.high + (lba - HIGH_LBA) * 512;
}

static void trail(char c)
{
	size_t n = strlen(sim.trail);

	assert_true(n + 1 < sizeof(sim.trail));
	sim.trail[n] = c;
}

static int sim_control(struct usb_dev *d, const struct usb_setup *s, void *data, size_t *actual)
{
	static const uint8_t desc[18] = {18, 1, 0, 2, 0, 0, 0, 64, 0xf4, 0x46, 1, 0};
	static const uint8_t config[32] = {9, 2, 32, 0, 1, 1,	   0, 0x80, 50, 9,     4,
					   0, 0, 2,  8, 6, 0x50,   0, 7,    5,	EP_IN, 2,
					   0, 2, 0,  7, 5, EP_OUT, 2, 0,    2,	0};
	*actual = 0;
	if (d->gone)
		return -ENODEV;
	if (s->request == USB_REQ_GET_DESCRIPTOR && s->value >> 8 == USB_DESC_DEVICE &&
	    sim.desc_fails > 0) {
		sim.desc_fails--;
		return -EIO; /* a transaction error: not yet recovered from SET_ADDRESS */
	}
	if (s->request == USB_REQ_GET_DESCRIPTOR) {
		const uint8_t *src = s->value >> 8 == USB_DESC_DEVICE ? desc : config;
		*actual = MIN(s->length, s->value >> 8 == USB_DESC_DEVICE ? 18u : 32u);
		memcpy(data, src, *actual);
	} else if (s->type == (USB_DIR_IN | USB_TYPE_CLASS | USB_RECIP_INTERFACE) &&
		   s->request == 0xfe) {
		if (!sim.two_luns)
			return -EAGAIN; /* one LUN: GET MAX LUN may stall */
		*(uint8_t *)data = 1;
		*actual = 1;
	} else if (s->type == (USB_TYPE_CLASS | USB_RECIP_INTERFACE) && s->request == 0xff) {
		trail('R');
		sim.phase = P_CBW;
	} else if (s->request == USB_REQ_CLEAR_FEATURE && s->type == USB_RECIP_ENDPOINT) {
		bool in = s->index == EP_IN;
		trail(in ? 'I' : 'O');
		*(in ? &sim.halted_in : &sim.halted_out) = false;
		/* the device restarts its data toggle: the host must too (sim_reset_ep) */
		*(in ? &sim.stale_in : &sim.stale_out) = true;
	}
	return 0;
}

static void sim_fail(unsigned key, unsigned code)
{
	sim.status = 1;
	sim.sense_key = key;
	sim.sense_code = code;
}

/* TEST UNIT READY: the next letter of the script, or ready. */
static void sim_tur(void)
{
	char what = sim.tur_script != NULL && *sim.tur_script != '\0' ? *sim.tur_script++ : '\0';

	if (sim.never_ready || what == 'N')
		sim_fail(2, 0x0401);
	else if (what == 'U')
		sim_fail(6, 0x2900);
	else if (what == 'E')
		sim_fail(0, 0);
	else if (what == 'T')
		sim.csw_bad = CSW_TAG;
	else if (what == 'I')
		sim_fail(5, 0x2000);
	else if (what == 'S' && !sim.started) {
		sim.tur_script--; /* until START STOP UNIT comes */
		sim_fail(2, 0x0402);
	}
}

/*
 * A SCSI command from the CBW: its data, if IN, goes to buf; sets status
 * and sense, and returns how many bytes it sends.
 */
static uint32_t sim_scsi(uint8_t *buf, uint32_t len)
{
	const uint8_t *cdb = sim.cbw + 15;
	uint8_t lun = sim.cbw[13];

	sim.status = 0;
	if (lun == 1 && cdb[0] != 0x12 && cdb[0] != 0x03) {
		sim_fail(2, 0x3a00); /* LUN 1: no medium */
		return 0;
	}
	switch (cdb[0]) {
	case 0x00:
		sim_tur();
		break;
	case 0x03:
		memset(buf, 0, len);
		buf[0] = 0x70;
		buf[2] = (uint8_t)sim.sense_key;
		buf[12] = (uint8_t)(sim.sense_code >> 8);
		buf[13] = (uint8_t)sim.sense_code;
		sim.sense_key = sim.sense_code = 0; /* reported: gone */
		break;
	case 0x12:
		memset(buf, 0, len);
		memcpy(buf + 8, "SIM     BOT DISK        ", 24);
		return sim.inquiry_len != 0 ? MIN(sim.inquiry_len, len) : len;
	case 0x1b:
		sim.started = cdb[4] & 1;
		break;
	case 0x25:
		if (sim.capacity_fails > 0) {
			sim.capacity_fails--;
			sim_fail(6, 0x2800);
			return 0;
		}
		put_be(buf, sim.capacity > 0xffffffff ? 0xffffffff : sim.capacity - 1, 4);
		put_be(buf + 4, 512, 4);
		break;
	case 0x35:
		if (sim.fault == F_SYNC && sim.sync_fail == SYNC_ILLEGAL)
			sim_fail(5, 0x2000);
		if (sim.fault == F_SYNC && sim.sync_fail == SYNC_PHASE)
			sim.csw_bad = CSW_PHASE;
		break;
	case 0x9e:
		memset(buf, 0, len);
		put_be(buf, sim.capacity - 1, 8);
		put_be(buf + 8, 512, 4);
		break;
	}
	return len;
}

/* The LBA range of a READ or WRITE CDB; false for other commands. */
static bool sim_rw_range(uint64_t *lba, uint32_t *count, bool *write)
{
	const uint8_t *cdb = sim.cbw + 15;

	*write = cdb[0] == 0x2a || cdb[0] == 0x8a;
	if (cdb[0] == 0x28 || cdb[0] == 0x2a) {
		*lba = be(cdb + 2, 4);
		*count = (uint32_t)be(cdb + 7, 2);
		return true;
	}
	if (cdb[0] == 0x88 || cdb[0] == 0x8a) {
		*lba = be(cdb + 2, 8);
		*count = (uint32_t)be(cdb + 10, 4);
		return true;
	}
	return false;
}

/* Whether the command just sent meets the armed fault, and counts it when it does. */
static bool sim_arm(void)
{
	uint64_t lba;
	uint32_t count;
	bool write;

	if (sim.fault == F_NONE || !sim_rw_range(&lba, &count, &write) || lba > sim.fault_lba ||
	    sim.fault_lba >= lba + count)
		return false;
	if (sim.fault_times != 0 && sim.fired == sim.fault_times)
		return false;
	sim.fired++;
	return true;
}

static bool sim_faulty(enum fault f)
{
	return sim.armed && sim.fault == f;
}

static int sim_cbw(const uint8_t *buf, size_t len, size_t *actual)
{
	uint32_t sig, dlen, count;
	uint64_t lba;
	bool write;

	memcpy(&sig, buf, 4);
	memcpy(&dlen, buf + 8, 4);
	assert_int_equal(len, 31);
	assert_int_equal(sig, 0x43425355);
	memcpy(sim.cbw, buf, 31);
	sim.opcodes[sim.nops++ % 64] = sim.cbw[15];
	if (sim_rw_range(&lba, &count, &write))
		sim.max_count = MAX(sim.max_count, count);
	sim.armed = sim_arm();
	sim.csw_bad = CSW_GOOD;
	if (sim_faulty(F_CBW_STALL)) {
		sim.halted_out = true;
		return -EAGAIN;
	}
	*actual = len;
	sim.residue = 0;
	sim.phase = dlen > 0 ? P_DATA : P_CSW;
	if (dlen == 0 || (sim.cbw[12] & 0x80) == 0)
		sim_scsi(NULL, 0);
	return 0;
}

/* A data stage the device ends with a stall: the CSW will say failed (BOT 6.7.2). */
static int sim_data_stall(bool in, size_t len)
{
	*(in ? &sim.halted_in : &sim.halted_out) = true;
	sim.status = 1;
	sim.residue = (uint32_t)len;
	return -EAGAIN;
}

static int sim_data(bool in, uint8_t *buf, size_t len, size_t *actual)
{
	uint64_t lba;
	uint32_t count;
	bool write;

	sim.phase = P_CSW;
	if (sim_faulty(F_DATA_STALL)) {
		sim_fail(sim.fault_key, sim.fault_code);
		return sim_data_stall(in, len);
	}
	if (sim_faulty(F_TIMEOUT))
		return -ETIMEDOUT;
	if (sim_faulty(F_LOST)) {
		sim.dev.lost = true;
		return -EIO;
	}
	if (sim_faulty(F_UNPLUG)) {
		/* what the controller does when the port's connect status drops (xhci_td_failed) */
		sim.dev.gone = true;
		return -ENODEV;
	}
	if (!sim_rw_range(&lba, &count, &write)) {
		assert_true(in);
		*actual = sim_scsi(buf, (uint32_t)len);
		if (sim.status != 0)
			return sim_data_stall(in, len);
		sim.residue = (uint32_t)(len - *actual);
		return 0;
	}
	assert_int_equal(len, (size_t)count * 512);
	assert_int_equal(write, !in);
	/* a short stage ends a sector early: that sector stays as it was on both sides */
	bool shorted = sim_faulty(F_SHORT) || sim_faulty(F_RESIDUE);
	*actual = shorted ? len - 512 : len;
	for (uint32_t i = 0; i < *actual / 512; i++)
		memcpy(in ? buf + i * 512 : sector(lba + i), in ? sector(lba + i) : buf + i * 512,
		       512);
	sim.residue = sim_faulty(F_RESIDUE)	    ? (uint32_t)(len - *actual)
		      : sim_faulty(F_BOGUS_RESIDUE) ? (uint32_t)len
						    : 0;
	return 0;
}

static int sim_csw(uint8_t *buf, size_t len, size_t *actual)
{
	assert_true(len >= 13);
	if (sim_faulty(F_CSW_STALL)) {
		sim.armed = false; /* the retry after clearing the halt succeeds */
		sim.halted_in = true;
		return -EAGAIN;
	}
	uint32_t sig = sim_faulty(F_CSW_SIG) ? 0x12345678 : 0x53425355, tag;
	memcpy(&tag, sim.cbw + 4, 4);
	if (sim_faulty(F_CSW_TAG) || sim.csw_bad == CSW_TAG)
		tag++;
	memcpy(buf, &sig, 4);
	memcpy(buf + 4, &tag, 4);
	memcpy(buf + 8, &sim.residue, 4);
	buf[12] = sim_faulty(F_PHASE) || sim.csw_bad == CSW_PHASE ? 2 : sim.status;
	*actual = 13;
	sim.phase = P_CBW;
	return 0;
}

static int sim_bulk(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual)
{
	bool in = ep & USB_DIR_IN;

	*actual = 0;
	if (d->gone)
		return -ENODEV;
	/* a host that kept its old toggle would lose this packet on real hardware */
	assert_false(in ? sim.stale_in : sim.stale_out);
	if (in ? sim.halted_in : sim.halted_out)
		return -EAGAIN;
	if (!in && sim.phase == P_CBW)
		return sim_cbw(buf, len, actual);
	if (sim.phase == P_DATA && in == ((sim.cbw[12] & 0x80) != 0))
		return sim_data(in, buf, len, actual);
	if (in && sim.phase == P_CSW)
		return sim_csw(buf, len, actual);
	/* out of phase: the device stalls */
	*(in ? &sim.halted_in : &sim.halted_out) = true;
	return -EAGAIN;
}

/* The host side of an endpoint reset: its data toggle starts again, like the device's. */
static int sim_reset_ep(struct usb_dev *d, uint8_t ep)
{
	assert_true(ep == EP_IN || ep == EP_OUT);
	*(ep == EP_IN ? &sim.stale_in : &sim.stale_out) = false;
	return 0;
}

static int sim_configure(struct usb_dev *d, const struct usb_ep *eps, unsigned n,
			 const struct usb_hub_info *hub)
{
	assert_int_equal(n, 2);
	assert_null(hub);
	return 0;
}

static int sim_attach_child(struct usb_dev *hub, unsigned port, enum usb_speed speed,
			    struct usb_dev **child)
{
	return -ENODEV;
}

static const struct usb_hc_ops sim_ops = {sim_control, sim_bulk, sim_reset_ep, sim_configure,
					  sim_attach_child};

/* A fresh device of capacity sectors, not attached yet: a test may set its quirks. */
static void sim_new(uint64_t capacity, bool two_luns)
{
	memset(&sim, 0, sizeof(sim));
	sim.two_luns = two_luns;
	sim.dev = (struct usb_dev){.ops = &sim_ops, .speed = USB_SPEED_HIGH};
	snprintf(sim.dev.name, sizeof(sim.dev.name), "usb-sim");
	sim.capacity = capacity;
	sim.tur_script = "U"; /* after power-on */
	for (size_t i = 0; i < sizeof(sim.low); i++) {
		sim.low[i] = (uint8_t)(i * 7 + (i >> 9));
		sim.high[i] = (uint8_t)(i * 13 + (i >> 9));
	}
	blk_reset_registry();
}

/* Attaches the device; its disk (LUN 0), NULL when none was registered. */
static struct blk_dev *sim_plug(void)
{
	assert_int_equal(usb_dev_attach(&sim.dev), 0);
	struct blk_dev *disk = blk_first();
	if (disk != NULL) {
		assert_null(disk->next); /* LUN 1, when there is one, has no medium */
		assert_int_equal(disk->sectors, sim.capacity);
		assert_int_equal(disk->sector_size, 512);
	}
	return disk;
}

static struct blk_dev *sim_attach(uint64_t capacity, bool two_luns)
{
	sim_new(capacity, two_luns);
	struct blk_dev *disk = sim_plug();
	assert_non_null(disk);
	assert_string_equal(sim.trail, "d"); /* the pause after the address */
	sim.trail[0] = '\0';
	return disk;
}

/* How many commands had opcode, in a test that sent no more than 64. */
static unsigned count_of(unsigned opcode)
{
	unsigned n = 0;

	assert_true(sim.nops <= 64);
	for (unsigned i = 0; i < sim.nops; i++)
		n += sim.opcodes[i] == opcode;
	return n;
}

/* Among the last 64 commands. */
static bool seen(unsigned opcode)
{
	for (unsigned i = 0; i < MIN(sim.nops, 64u); i++)
		if (sim.opcodes[i] == opcode)
			return true;
	return false;
}

static void check_read(struct blk_dev *disk, uint64_t lba, uint32_t count)
{
	uint8_t *buf = malloc((size_t)count * 512);

	assert_int_equal(blk_read(disk, lba, count, buf), 0);
	for (uint32_t i = 0; i < count; i++)
		assert_memory_equal(buf + i * 512, sector(lba + i), 512);
	free(buf);
}

static void test_attach_read_write(void **state)
{
	struct blk_dev *disk = sim_attach(SECTORS, true);
	uint8_t *buf = malloc(300 * 512);

	/* INQUIRY, TEST UNIT READY twice (the unit attention), READ CAPACITY (10) */
	assert_true(seen(0x12) && seen(0x00) && seen(0x03) && seen(0x25));
	assert_false(seen(0x9e));
	check_read(disk, 0, 1);
	check_read(disk, 17, 300); /* more than one command */
	for (size_t i = 0; i < 300 * 512; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(blk_write(disk, 1000, 300, buf), 0);
	assert_memory_equal(sim.low + 1000 * 512, buf, 300 * 512);
	assert_int_equal(blk_flush(disk), 0);
	assert_string_equal(sim.trail, "");
	free(buf);
}

/* What a test arms: a fault, how many commands meet it (0: all), the sense it reports. */
struct arm {
	enum fault f;
	unsigned times, key, code;
};

/*
 * A batch of three requests, the middle one over the armed LBA: only it
 * fails, or it passes after tries; the trail shows the recovery the fault
 * calls for, fired how many commands met it, and the disk reads right
 * afterwards.
 */
static void fault_case(struct arm a, int want_err, const char *want_trail, unsigned want_fired,
		       bool write)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);
	uint8_t *bufs[3];
	struct blk_req reqs[3];

	sim.fault = a.f;
	sim.fault_times = a.times;
	sim.fault_key = a.key;
	sim.fault_code = a.code;
	sim.fault_lba = 2000;
	for (int i = 0; i < 3; i++) {
		bufs[i] = calloc(8, 512);
		reqs[i] = (struct blk_req){write ? BLK_WRITE : BLK_READ, 1000 + 1000 * (uint64_t)i,
					   8, bufs[i], 1};
	}
	int err = blk_submit(disk, reqs, 3);
	assert_int_equal(err, want_err);
	assert_int_equal(reqs[0].status, 0);
	assert_int_equal(reqs[1].status, want_err);
	assert_int_equal(reqs[2].status, 0);
	for (int i = 0; i < 3 && !write; i++)
		if (reqs[i].status == 0)
			assert_memory_equal(bufs[i], sector(reqs[i].lba), 8 * 512);
	assert_string_equal(sim.trail, want_trail);
	assert_int_equal(sim.fired, want_fired);
	sim.fault = F_NONE;
	check_read(disk, 1995, 10);
	assert_string_equal(sim.trail, want_trail); /* nothing more was needed */
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
}

#define MEDIUM_ERROR 3, 0x1100 /* unrecovered read error */
#define TRANSPORT_ERROR "RIOd" /* reset recovery, then the pause before the next CBW */

/* BOT 6.7.2: a stalled data stage is cleared, the CSW says failed, REQUEST SENSE follows. */
static void test_data_stall(void **state)
{
	fault_case((struct arm){F_DATA_STALL, 0, MEDIUM_ERROR}, -EIO, "I", 1, false);
	assert_true(seen(0x03));
	fault_case((struct arm){F_DATA_STALL, 0, MEDIUM_ERROR}, -EIO, "O", 1, true);
}

/*
 * A CSW that is not valid or not meaningful (BOT 6.3): reset recovery,
 * and the command is tried again, up to three times in all.
 */
static void test_bad_csw(void **state)
{
	const char *thrice = TRANSPORT_ERROR TRANSPORT_ERROR TRANSPORT_ERROR;

	fault_case((struct arm){F_CSW_TAG, 0, 0, 0}, -EIO, thrice, 3, false);
	fault_case((struct arm){F_CSW_SIG, 0, 0, 0}, -EIO, thrice, 3, false);
	fault_case((struct arm){F_PHASE, 0, 0, 0}, -EIO, thrice, 3, true);
	fault_case((struct arm){F_CSW_TAG, 1, 0, 0}, 0, TRANSPORT_ERROR, 1, false);
	fault_case((struct arm){F_PHASE, 2, 0, 0}, 0, TRANSPORT_ERROR TRANSPORT_ERROR, 2, true);
}

/* A CSW that stalls once is read again after the halt is cleared: nothing fails. */
static void test_csw_stall_once(void **state)
{
	fault_case((struct arm){F_CSW_STALL, 1, 0, 0}, 0, "I", 1, false);
}

static void test_cbw_stall(void **state)
{
	fault_case((struct arm){F_CBW_STALL, 0, 0, 0}, -EIO,
		   TRANSPORT_ERROR TRANSPORT_ERROR TRANSPORT_ERROR, 3, false);
	fault_case((struct arm){F_CBW_STALL, 1, 0, 0}, 0, TRANSPORT_ERROR, 1, false);
}

/* A transfer the controller stopped after its timeout: recovery, and tries again. */
static void test_timeout(void **state)
{
	fault_case((struct arm){F_TIMEOUT, 0, 0, 0}, -ETIMEDOUT,
		   TRANSPORT_ERROR TRANSPORT_ERROR TRANSPORT_ERROR, 3, false);
	fault_case((struct arm){F_TIMEOUT, 1, 0, 0}, 0, TRANSPORT_ERROR, 1, false);
}

/*
 * Item 5 of issue 18: a data stage that came short fails the read even
 * when the CSW claims everything moved (a stale tail would be data
 * corruption); it is tried again, and a second try that gets it all
 * delivers every byte right.  Writes alike.
 */
static void test_short_data(void **state)
{
	fault_case((struct arm){F_SHORT, 0, 0, 0}, -EIO, "", 3, false);
	fault_case((struct arm){F_SHORT, 0, 0, 0}, -EIO, "", 3, true);
	fault_case((struct arm){F_RESIDUE, 0, 0, 0}, -EIO, "", 3, false);
	fault_case((struct arm){F_SHORT, 1, 0, 0}, 0, "", 1, false);
}

/* Item 6: a residue on a data stage that moved every byte is a stick bug, not a failure. */
static void test_bogus_residue(void **state)
{
	fault_case((struct arm){F_BOGUS_RESIDUE, 0, 0, 0}, 0, "", 1, false);
	fault_case((struct arm){F_BOGUS_RESIDUE, 0, 0, 0}, 0, "", 1, true);
}

/*
 * Item 4: a read that meets UNIT ATTENTION, NOT READY (after a pause) or
 * an empty sense is tried again; one that keeps meeting it fails after
 * three tries; a missing medium or a medium error is final at once.
 */
static void test_sense_retry(void **state)
{
	fault_case((struct arm){F_DATA_STALL, 1, 6, 0x2900}, 0, "I", 1, false);
	fault_case((struct arm){F_DATA_STALL, 2, 2, 0x0401}, 0, "IdId", 2, false);
	fault_case((struct arm){F_DATA_STALL, 1, 0, 0}, 0, "I", 1, false);
	fault_case((struct arm){F_DATA_STALL, 1, 0xb, 0x4700}, 0, "O", 1, true);
	fault_case((struct arm){F_DATA_STALL, 0, 6, 0x2900}, -EIO, "III", 3, false);
	fault_case((struct arm){F_DATA_STALL, 0, 2, 0x3a00}, -EIO, "I", 1, false);
	fault_case((struct arm){F_DATA_STALL, 0, 5, 0x2400}, -EIO, "O", 1, true);
}

/*
 * Item 3: readiness survives what sticks answer while they come up, in
 * one attach: unit attentions, an empty sense, "becoming ready", a
 * transport error, and "initializing command required", which START STOP
 * UNIT answers.
 */
static void test_ready_quirks(void **state)
{
	sim_new(SECTORS, false);
	sim.tur_script = "UUENTNS";
	assert_non_null(sim_plug());
	assert_true(sim.started);
	assert_int_equal(count_of(0x1b), 1);
	assert_string_equal(sim.trail, "d"
				       "dd" TRANSPORT_ERROR "dd");
	assert_string_equal(sim.tur_script, "");

	/* a stick without TEST UNIT READY: READ CAPACITY decides */
	sim_new(SECTORS, false);
	sim.tur_script = "I";
	assert_non_null(sim_plug());
}

/* Item 2: a device that fails its first requests after the address is given time and tries. */
static void test_address_retry(void **state)
{
	sim_new(SECTORS, false);
	sim.desc_fails = 2;
	assert_non_null(sim_plug());
	assert_string_equal(sim.trail, "ddd");
	assert_true(clock_sim_now >= 30000);
	sim_new(SECTORS, false);
	sim.desc_fails = 3;
	assert_int_equal(usb_dev_attach(&sim.dev), -EIO);
	assert_null(blk_first());
}

/* Item 3: a stick that never becomes ready is given up on after 10 s of waiting, no more. */
static void test_never_ready(void **state)
{
	sim_new(SECTORS, false);
	sim.never_ready = true;
	uint64_t t0 = clock_sim_now;
	assert_null(sim_plug());
	assert_true(clock_sim_now - t0 >= 10000000 && clock_sim_now - t0 <= 10200000);
	assert_false(seen(0x25));
}

/* Item 3: an INQUIRY under 36 bytes and a READ CAPACITY failing twice still make a disk. */
static void test_short_inquiry_capacity_retry(void **state)
{
	sim_new(SECTORS, false);
	sim.inquiry_len = 8;
	sim.capacity_fails = 2;
	assert_non_null(sim_plug());
	assert_int_equal(count_of(0x25), 3);
	check_read(blk_first(), 3, 2);
}

/*
 * Item 8: SYNCHRONIZE CACHE goes out on every flush while the stick
 * takes it; once it fails, whether refused or with a transport error,
 * that flush succeeds and no later one sends it.
 */
static void test_sync_cache(void **state)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);

	assert_int_equal(blk_flush(disk), 0);
	assert_int_equal(blk_flush(disk), 0);
	assert_int_equal(count_of(0x35), 2);
	for (int how = SYNC_ILLEGAL; how <= SYNC_PHASE; how++) {
		disk = sim_attach(SECTORS, false);
		sim.fault = F_SYNC;
		sim.sync_fail = how;
		assert_int_equal(blk_flush(disk), 0);
		assert_int_equal(blk_flush(disk), 0);
		assert_int_equal(count_of(0x35), 1);
		assert_string_equal(sim.trail, how == SYNC_PHASE ? TRANSPORT_ERROR : "");
		check_read(disk, 10, 4);
	}
}

/* Item 7: no command asks for more than 240 sectors of 512 bytes (120 KiB). */
static void test_transfer_size(void **state)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);
	uint8_t *buf = malloc(600 * 512);

	check_read(disk, 100, 600);
	assert_int_equal(sim.max_count, 240);
	assert_int_equal(count_of(0x28), 3);
	memset(buf, 0x3c, 600 * 512);
	assert_int_equal(blk_write(disk, 2000, 600, buf), 0);
	assert_memory_equal(sim.low + 2000 * 512, buf, 600 * 512);
	assert_int_equal(sim.max_count, 240);
	free(buf);
}

/*
 * The controller could not stop a transfer: the disk goes offline, the
 * request that lost its buffer says -EBUSY, the next batch fails with
 * -EIO without reaching the device.
 */
static void test_lost(void **state)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);
	uint8_t *buf = malloc(8 * 512);
	struct blk_req reqs[2] = {{BLK_READ, 1000, 8, buf, 0}, {BLK_READ, 2000, 8, buf, 0}};

	sim.fault = F_LOST;
	sim.fault_lba = 1000;
	assert_int_equal(blk_submit(disk, reqs, 2), -EBUSY);
	assert_int_equal(reqs[0].status, -EBUSY);
	assert_int_equal(reqs[1].status, -EBUSY);
	assert_true(blk_offline(disk));
	unsigned before = sim.nops;
	assert_int_equal(blk_read(disk, 0, 1, buf), -EIO);
	assert_int_equal(sim.nops, before);
	/* the buffer stays with the "device": the test, unlike the kernel, may free it */
	free(buf);
}

/*
 * Item 11: the stick is pulled out during a read.  The disk goes offline
 * at once: no reset recovery, no second try, no wait (the clock does not
 * move), and nothing more reaches the device.
 */
static void test_unplug(void **state)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);
	uint8_t *buf = malloc(8 * 512);
	struct blk_req reqs[2] = {{BLK_READ, 1000, 8, buf, 0}, {BLK_READ, 2000, 8, buf, 0}};

	sim.fault = F_UNPLUG;
	sim.fault_lba = 1000;
	sim.trail[0] = '\0';
	uint64_t t0 = clock_sim_now;
	unsigned before = sim.nops;
	assert_int_equal(blk_submit(disk, reqs, 2), -EBUSY);
	assert_true(blk_offline(disk));
	assert_int_equal(sim.fired, 1);
	assert_int_equal(sim.nops, before + 1);
	assert_string_equal(sim.trail, "");
	assert_int_equal(clock_sim_now, t0);
	assert_int_equal(blk_read(disk, 0, 1, buf), -EIO);
	assert_int_equal(blk_flush(disk), -EIO);
	assert_int_equal(sim.nops, before + 1);
	free(buf);
}

/* Past 2^32 sectors: READ CAPACITY (16), and READ(16)/WRITE(16) where 10 cannot reach. */
static void test_big_disk(void **state)
{
	struct blk_dev *disk = sim_attach(HIGH_LBA + SECTORS, false);
	uint8_t buf[4 * 512];

	assert_true(seen(0x9e));
	check_read(disk, HIGH_LBA + 5, 4);
	assert_true(seen(0x88));
	assert_false(seen(0x28));
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(blk_write(disk, HIGH_LBA - 2 + SECTORS, 2, buf), 0);
	assert_true(seen(0x8a));
	check_read(disk, 7, 1);
	assert_true(seen(0x28));
}

/*
 * A hub with one TT per port turns them on through alternate setting 1 of
 * its interface: found only for bDeviceProtocol 2 and an alternate setting
 * 1 of the same interface with protocol 2.
 */
static void test_hub_multi_tt(void **state)
{
	static const uint8_t config[] = {9, 2, 43, 0, 1, 1, 0, 0xe0, 0,
					 9, 4, 0, 0, 1, 9, 0, 1, 0, /* alt 0, single TT */
					 7, 5, 0x81, 3, 1, 0, 12,
					 9, 4, 0, 1, 1, 9, 0, 2, 0, /* alt 1, one TT per port */
					 7, 5, 0x81, 3, 1, 0, 12};
	struct usb_dev *d = calloc(1, sizeof(*d));

	memcpy(d->config, config, sizeof(config));
	d->config_len = sizeof(config);
	d->desc[6] = 2;
	assert_int_equal(usb_hub_multi_tt_iface(d, 9), 0);
	d->desc[6] = 1; /* a single-TT hub */
	assert_int_equal(usb_hub_multi_tt_iface(d, 9), -1);
	d->desc[6] = 2;
	d->config[32] = 1; /* the alternate setting's protocol is not multi-TT */
	assert_int_equal(usb_hub_multi_tt_iface(d, 9), -1);
	d->config[32] = 2;
	d->config[28] = 2; /* alternate setting 2 is no multi-TT setting */
	assert_int_equal(usb_hub_multi_tt_iface(d, 9), -1);
	d->config[28] = 1;
	d->config_len = 27; /* the alternate setting cut off */
	assert_int_equal(usb_hub_multi_tt_iface(d, 9), -1);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_attach_read_write, give_back),
	    cmocka_unit_test_teardown(test_data_stall, give_back),
	    cmocka_unit_test_teardown(test_bad_csw, give_back),
	    cmocka_unit_test_teardown(test_csw_stall_once, give_back),
	    cmocka_unit_test_teardown(test_cbw_stall, give_back),
	    cmocka_unit_test_teardown(test_timeout, give_back),
	    cmocka_unit_test_teardown(test_short_data, give_back),
	    cmocka_unit_test_teardown(test_bogus_residue, give_back),
	    cmocka_unit_test_teardown(test_sense_retry, give_back),
	    cmocka_unit_test_teardown(test_ready_quirks, give_back),
	    cmocka_unit_test_teardown(test_never_ready, give_back),
	    cmocka_unit_test_teardown(test_address_retry, give_back),
	    cmocka_unit_test_teardown(test_short_inquiry_capacity_retry, give_back),
	    cmocka_unit_test_teardown(test_sync_cache, give_back),
	    cmocka_unit_test_teardown(test_transfer_size, give_back),
	    cmocka_unit_test_teardown(test_lost, give_back),
	    cmocka_unit_test_teardown(test_unplug, give_back),
	    cmocka_unit_test_teardown(test_big_disk, give_back),
	    cmocka_unit_test(test_hub_multi_tt),
	};
	clock_sim_on_wait = sim_waited;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
