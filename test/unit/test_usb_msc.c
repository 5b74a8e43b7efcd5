/*
 * USB mass storage over a simulated bulk-only device: the real usb.c and
 * usb_msc.c run against a host controller ops table whose "device" keeps
 * a disk in memory and follows BOT's phases (CBW, data, CSW), with faults
 * a test arms: a stalled data stage, a CSW with the wrong tag or
 * signature, a phase error, a stalled CSW or CBW, a transfer that times
 * out, a controller that loses a buffer for good.  Each test checks that
 * only the request hit fails, that the reset recovery of BOT 5.3.4 went
 * out in order, and that the next request works with every byte right.
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
	F_RESIDUE
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
	bool halted_in, halted_out, unit_attention, two_luns;
	enum fault fault;
	uint64_t fault_lba;	    /* commands that cover it meet the fault */
	unsigned opcodes[64], nops; /* SCSI opcodes seen */
	char trail[256];	    /* the recovery requests, in order: R reset, I/O clear halt */
	unsigned sense_key, sense_asc;
} sim;

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
		trail(s->index == EP_IN ? 'I' : 'O');
		*(s->index == EP_IN ? &sim.halted_in : &sim.halted_out) = false;
	}
	return 0;
}

/* A SCSI command from the CBW: its data, if IN, goes to buf; sets status and sense. */
static void sim_scsi(uint8_t *buf, uint32_t len)
{
	const uint8_t *cdb = sim.cbw + 15;
	uint8_t lun = sim.cbw[13];

	sim.status = 0;
	if (lun == 1 && cdb[0] != 0x12 && cdb[0] != 0x03) {
		sim.status = 1; /* LUN 1: no medium */
		sim.sense_key = 2;
		sim.sense_asc = 0x3a;
		return;
	}
	switch (cdb[0]) {
	case 0x00:
		if (sim.unit_attention) {
			sim.unit_attention = false;
			sim.status = 1;
			sim.sense_key = 6;
			sim.sense_asc = 0x29;
		}
		break;
	case 0x03:
		memset(buf, 0, len);
		buf[0] = 0x70;
		buf[2] = (uint8_t)sim.sense_key;
		buf[12] = (uint8_t)sim.sense_asc;
		break;
	case 0x12:
		memset(buf, 0, len);
		memcpy(buf + 8, "SIM     BOT DISK        ", 24);
		break;
	case 0x25:
		put_be(buf, sim.capacity > 0xffffffff ? 0xffffffff : sim.capacity - 1, 4);
		put_be(buf + 4, 512, 4);
		break;
	case 0x9e:
		memset(buf, 0, len);
		put_be(buf, sim.capacity - 1, 8);
		put_be(buf + 8, 512, 4);
		break;
	}
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

static bool sim_faulty(void)
{
	uint64_t lba;
	uint32_t count;
	bool write;

	return sim.fault != F_NONE && sim_rw_range(&lba, &count, &write) && lba <= sim.fault_lba &&
	       sim.fault_lba < lba + count;
}

static int sim_cbw(const uint8_t *buf, size_t len, size_t *actual)
{
	uint32_t sig, dlen;

	memcpy(&sig, buf, 4);
	memcpy(&dlen, buf + 8, 4);
	assert_int_equal(len, 31);
	assert_int_equal(sig, 0x43425355);
	memcpy(sim.cbw, buf, 31);
	sim.opcodes[sim.nops++ % 64] = sim.cbw[15];
	if (sim_faulty() && sim.fault == F_CBW_STALL) {
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

static int sim_data(bool in, uint8_t *buf, size_t len, size_t *actual)
{
	uint64_t lba;
	uint32_t count;
	bool write;

	sim.phase = P_CSW;
	if (sim_faulty() && sim.fault == F_DATA_STALL) {
		*(in ? &sim.halted_in : &sim.halted_out) = true;
		sim.status = 1;
		sim.residue = (uint32_t)len;
		sim.sense_key = 3; /* medium error, unrecovered read error */
		sim.sense_asc = 0x11;
		return -EAGAIN;
	}
	if (sim_faulty() && sim.fault == F_TIMEOUT)
		return -ETIMEDOUT;
	if (sim_faulty() && sim.fault == F_LOST) {
		sim.dev.lost = true;
		return -EIO;
	}
	if (!sim_rw_range(&lba, &count, &write)) {
		assert_true(in);
		sim_scsi(buf, (uint32_t)len);
	} else {
		assert_int_equal(len, (size_t)count * 512);
		assert_int_equal(write, !in);
		for (uint32_t i = 0; i < count; i++)
			memcpy(in ? buf + i * 512 : sector(lba + i),
			       in ? sector(lba + i) : buf + i * 512, 512);
	}
	*actual = sim_faulty() && sim.fault == F_RESIDUE ? len - 512 : len;
	sim.residue = (uint32_t)(len - *actual);
	return 0;
}

static int sim_csw(uint8_t *buf, size_t len, size_t *actual)
{
	bool faulty = sim_faulty();

	assert_true(len >= 13);
	if (faulty && sim.fault == F_CSW_STALL) {
		sim.fault = F_NONE; /* once: the retry after clearing the halt succeeds */
		sim.halted_in = true;
		return -EAGAIN;
	}
	uint32_t sig = faulty && sim.fault == F_CSW_SIG ? 0x12345678 : 0x53425355, tag;
	memcpy(&tag, sim.cbw + 4, 4);
	if (faulty && sim.fault == F_CSW_TAG)
		tag++;
	memcpy(buf, &sig, 4);
	memcpy(buf + 4, &tag, 4);
	memcpy(buf + 8, &sim.residue, 4);
	buf[12] = faulty && sim.fault == F_PHASE ? 2 : sim.status;
	*actual = 13;
	sim.phase = P_CBW;
	return 0;
}

static int sim_bulk(struct usb_dev *d, uint8_t ep, void *buf, size_t len, size_t *actual)
{
	bool in = ep & USB_DIR_IN;

	*actual = 0;
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

static int sim_reset_ep(struct usb_dev *d, uint8_t ep)
{
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

/* A fresh device of capacity sectors, attached; returns its disk (LUN 0). */
static struct blk_dev *sim_attach(uint64_t capacity, bool two_luns)
{
	memset(&sim, 0, sizeof(sim));
	sim.two_luns = two_luns;
	sim.dev = (struct usb_dev){.ops = &sim_ops, .speed = USB_SPEED_HIGH};
	snprintf(sim.dev.name, sizeof(sim.dev.name), "usb-sim");
	sim.capacity = capacity;
	sim.unit_attention = true;
	for (size_t i = 0; i < sizeof(sim.low); i++) {
		sim.low[i] = (uint8_t)(i * 7 + (i >> 9));
		sim.high[i] = (uint8_t)(i * 13 + (i >> 9));
	}
	blk_reset_registry();
	assert_int_equal(usb_dev_attach(&sim.dev), 0);
	struct blk_dev *disk = blk_first();
	assert_non_null(disk);
	assert_null(disk->next); /* LUN 1, when there is one, has no medium */
	assert_int_equal(disk->sectors, capacity);
	assert_int_equal(disk->sector_size, 512);
	return disk;
}

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

/*
 * A batch of three reads, the middle one over the armed LBA: only it
 * fails, the trail shows the recovery the fault calls for, and the disk
 * reads right afterwards.
 */
static void fault_case(enum fault f, int want_err, const char *want_trail, bool write)
{
	struct blk_dev *disk = sim_attach(SECTORS, false);
	uint8_t *bufs[3];
	struct blk_req reqs[3];

	sim.fault = f;
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
	if (!write)
		for (int i = 0; i < 3; i += 2)
			assert_memory_equal(bufs[i], sector(reqs[i].lba), 8 * 512);
	assert_string_equal(sim.trail, want_trail);
	sim.fault = F_NONE;
	check_read(disk, 1995, 10);
	assert_string_equal(sim.trail, want_trail); /* nothing more was needed */
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
}

/* BOT 6.7.2: a stalled data stage is cleared, the CSW says failed, REQUEST SENSE follows. */
static void test_data_stall(void **state)
{
	fault_case(F_DATA_STALL, -EIO, "I", false);
	assert_true(seen(0x03));
	fault_case(F_DATA_STALL, -EIO, "O", true);
}

/* A CSW that is not valid or not meaningful (BOT 6.3): reset recovery. */
static void test_bad_csw(void **state)
{
	fault_case(F_CSW_TAG, -EIO, "RIO", false);
	fault_case(F_CSW_SIG, -EIO, "RIO", false);
	fault_case(F_PHASE, -EIO, "RIO", true);
}

/* A CSW that stalls once is read again after the halt is cleared: nothing fails. */
static void test_csw_stall_once(void **state)
{
	fault_case(F_CSW_STALL, 0, "I", false);
}

static void test_cbw_stall(void **state)
{
	fault_case(F_CBW_STALL, -EIO, "RIO", false);
}

/* A transfer the controller stopped after its timeout: the command fails, recovery follows. */
static void test_timeout(void **state)
{
	fault_case(F_TIMEOUT, -ETIMEDOUT, "RIO", false);
}

/* A read that passes with a residue moved less than asked for: an error, no recovery. */
static void test_residue(void **state)
{
	fault_case(F_RESIDUE, -EIO, "", false);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_attach_read_write, give_back),
	    cmocka_unit_test_teardown(test_data_stall, give_back),
	    cmocka_unit_test_teardown(test_bad_csw, give_back),
	    cmocka_unit_test_teardown(test_csw_stall_once, give_back),
	    cmocka_unit_test_teardown(test_cbw_stall, give_back),
	    cmocka_unit_test_teardown(test_timeout, give_back),
	    cmocka_unit_test_teardown(test_residue, give_back),
	    cmocka_unit_test_teardown(test_lost, give_back),
	    cmocka_unit_test_teardown(test_big_disk, give_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
