/*
 * usb_msc: USB mass storage, bulk-only transport (USB MSC BOT 1.0) with
 * SCSI commands (SPC-4, SBC-3): every LUN that holds a medium becomes a
 * blk disk "usb<N>".
 *
 * One command at a time: the 31-byte CBW on bulk-out, the data on the
 * endpoint of its direction, the 13-byte CSW on bulk-in.  The CSW must
 * carry the signature and the CBW's tag and a residue no larger than the
 * data asked for; anything else, a stall of the CBW or the CSW (after one
 * retry), a phase error or a transfer that fails outright, is answered by
 * the reset recovery of BOT 5.3.4 (Bulk-Only Mass Storage Reset, then
 * CLEAR_FEATURE(ENDPOINT_HALT) on bulk-in and bulk-out), and the command
 * fails.  A data stage that stalls is cleared and the CSW read as usual
 * (BOT 6.7.2).  A CSW saying "failed" is followed by REQUEST SENSE.
 *
 * What counts is the data that arrived: a command passes only when its
 * data stage moved every byte the caller needs, whatever the residue in
 * the CSW says.  A short data stage with a residue of 0 would otherwise
 * leave a stale tail in a sector buffer; a full one with a residue is a
 * well-known stick bug that would make the stick unusable.
 *
 * Reads and writes are tried MSC_RW_TRIES times when the failure may pass
 * (a transport error, UNIT ATTENTION, NOT READY, an empty sense, a short
 * data stage); a medium error or an illegal request is final.  Only the
 * request hit sees the error.
 *
 * When the controller reports that it could not stop a transfer
 * (usb_dev.lost), or that the device was unplugged (usb_dev.gone, the
 * transfer's -ENODEV), every disk of the device goes offline at once
 * (blk.h): no reset recovery, no retry, no timeout per later request.
 */
#include "core/dev/blk.h"
#include "core/dev/blk_wait.h"
#include "core/dev/usb/usb.h"
#include "core/mm/malloc.h"

#define MSC_CBW_SIG 0x43425355u /* "USBC" */
#define MSC_CSW_SIG 0x53425355u /* "USBS" */
#define MSC_CBW_LEN 31
#define MSC_CSW_LEN 13
#define MSC_REQ_RESET 0xff
#define MSC_REQ_MAX_LUN 0xfe
#define MSC_MAX_LUNS 16
/*
 * Bytes per command: USB 2 bridges are known to fail READ(10) of more
 * than 240 sectors of 512 bytes, so no command asks for more than that.
 */
#define MSC_MAX_BYTES (240u * 512)
#define MSC_RW_TRIES 3
#define MSC_SETUP_TRIES 3	    /* READ CAPACITY */
#define MSC_READY_US 10000000	    /* a stick spinning up its flash translation layer */
#define MSC_READY_DELAY_US 100000   /* between TEST UNIT READYs that found it not ready */
#define MSC_ATTENTIONS 8	    /* UNIT ATTENTIONs taken back to back before waiting */
#define MSC_RESET_SETTLE_US 1000000 /* sticks stall a CBW sent right after the reset */

#define SCSI_TEST_UNIT_READY 0x00
#define SCSI_REQUEST_SENSE 0x03
#define SCSI_INQUIRY 0x12
#define SCSI_START_STOP_UNIT 0x1b
#define SCSI_READ_CAPACITY_10 0x25
#define SCSI_READ_10 0x28
#define SCSI_WRITE_10 0x2a
#define SCSI_SYNC_CACHE_10 0x35
#define SCSI_READ_16 0x88
#define SCSI_WRITE_16 0x8a
#define SCSI_SERVICE_ACTION_IN_16 0x9e
#define SCSI_SA_READ_CAPACITY_16 0x10
#define SENSE_NONE 0x0
#define SENSE_NOT_READY 0x2
#define SENSE_ILLEGAL_REQUEST 0x5
#define SENSE_UNIT_ATTENTION 0x6
#define SENSE_ABORTED_COMMAND 0xb
#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASCQ_NEEDS_START 0x0402 /* NOT READY: initializing command required */

/* The buffers the device reads and writes besides the caller's data. */
struct msc_io {
	uint8_t cbw[32];
	uint8_t csw[16];
	uint8_t data[64]; /* INQUIRY, READ CAPACITY, REQUEST SENSE answers */
};

struct msc {
	struct usb_dev *udev;
	uint8_t iface, ep_in, ep_out;
	uint32_t tag; /* of the last CBW */
	struct msc_io *io;
	unsigned nluns;
	bool no_sync;			     /* SYNCHRONIZE CACHE failed once: never sent again */
	bool residue_noted;		     /* a residue on a complete data stage was logged */
	struct blk_dev *disks[MSC_MAX_LUNS]; /* registered disks of this device */
};

struct msc_lun {
	struct blk_dev dev;
	struct msc *msc;
	uint8_t lun;
};

/* One SCSI command: its CDB and data, and the fewest data bytes the caller can use. */
struct msc_cmd {
	uint8_t cdb[16];
	uint8_t cdb_len, lun;
	bool in;
	void *buf;
	uint32_t len, need;
};

/* How a command ended: the sense of a failure (0 when none was read). */
struct msc_status {
	unsigned key, code; /* code: ASC << 8 | ASCQ */
};

static unsigned msc_disks;

static void msc_put32(uint8_t *p, uint32_t v) /* little-endian, as BOT's wrappers */
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static uint32_t msc_get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void msc_put_be(uint8_t *p, uint64_t v, unsigned bytes) /* big-endian, as SCSI's */
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> 8 * (bytes - 1 - i));
}

static uint64_t msc_get_be(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Nothing more can be asked of the device: see the top. */
static bool msc_dead(const struct msc *m)
{
	return m->udev->lost || m->udev->gone;
}

/*
 * BOT 5.3.4: the device forgets the command, both bulk endpoints restart;
 * then a pause, since sticks still busy with the reset stall the next CBW.
 */
static int msc_reset_recovery(struct msc *m, const char *why)
{
	struct usb_setup s = {USB_TYPE_CLASS | USB_RECIP_INTERFACE, MSC_REQ_RESET, 0, m->iface, 0};
	int err = usb_control(m->udev, &s, NULL, NULL);
	int e1 = usb_clear_halt(m->udev, m->ep_in);
	int e2 = usb_clear_halt(m->udev, m->ep_out);

	err = err < 0 ? err : e1 < 0 ? e1 : e2;
	log_error("usb_msc: %s: %s; reset recovery %s", m->udev->name, why,
		  err < 0 ? err_name(err) : "done");
	if (!msc_dead(m))
		blk_wait_delay(MSC_RESET_SETTLE_US);
	return err;
}

/* A stage that failed with err: reset recovery, unless the device is not there to recover. */
static int msc_stage_failed(struct msc *m, int err, const char *why)
{
	if (err == -ENODEV)
		return err;
	msc_reset_recovery(m, why);
	return err == -ETIMEDOUT ? err : -EIO;
}

/* The CSW, read once more after a stall (BOT 6.7.2); its length in *got. */
static int msc_read_csw(struct msc *m, size_t *got)
{
	int err = usb_bulk(m->udev, m->ep_in, m->io->csw, MSC_CSW_LEN, got);

	if (err == -EAGAIN && usb_clear_halt(m->udev, m->ep_in) == 0)
		err = usb_bulk(m->udev, m->ep_in, m->io->csw, MSC_CSW_LEN, got);
	return err;
}

/*
 * The three phases of one command.  0 with *status the CSW's (0 passed, 1
 * failed), its *residue and the bytes the data stage *moved; a negative
 * code after reset recovery otherwise.
 */
static int msc_transport(struct msc *m, const struct msc_cmd *c, unsigned *status,
			 uint32_t *residue, size_t *moved)
{
	uint8_t *cbw = m->io->cbw;
	size_t got;

	memset(cbw, 0, MSC_CBW_LEN);
	msc_put32(cbw, MSC_CBW_SIG);
	msc_put32(cbw + 4, ++m->tag);
	msc_put32(cbw + 8, c->len);
	cbw[12] = c->in ? 0x80 : 0;
	cbw[13] = c->lun;
	cbw[14] = c->cdb_len;
	memcpy(cbw + 15, c->cdb, c->cdb_len);
	int err = usb_bulk(m->udev, m->ep_out, cbw, MSC_CBW_LEN, &got);
	if (err < 0 || got != MSC_CBW_LEN)
		return msc_stage_failed(m, err, "command block not taken");
	*moved = 0;
	if (c->len > 0) {
		uint8_t ep = c->in ? m->ep_in : m->ep_out;
		err = usb_bulk(m->udev, ep, c->buf, c->len, moved);
		if (err == -EAGAIN)
			err = usb_clear_halt(m->udev, ep);
		if (err < 0)
			return msc_stage_failed(m, err, "data stage failed");
	}
	if ((err = msc_read_csw(m, &got)) < 0)
		return msc_stage_failed(m, err, "no status");
	const uint8_t *csw = m->io->csw;
	*residue = msc_get32(csw + 8);
	*status = csw[12];
	if (got != MSC_CSW_LEN || msc_get32(csw) != MSC_CSW_SIG || msc_get32(csw + 4) != m->tag ||
	    *status > 1 || *residue > c->len) {
		char why[96];
		ksnprintf(why, sizeof(why),
			  "bad status (%zu bytes, tag %u for %u, status %u, "
			  "residue %u of %u)",
			  got, msc_get32(csw + 4), m->tag, *status, *residue, c->len);
		msc_reset_recovery(m, why);
		return -EIO;
	}
	return 0;
}

/*
 * REQUEST SENSE after a failed command: the sense key and codes in *st.
 * An answer of fewer than 14 bytes, or none, reads as an empty sense.
 */
static int msc_sense(struct msc *m, uint8_t lun, struct msc_status *st)
{
	struct msc_cmd c = {
	    {SCSI_REQUEST_SENSE, 0, 0, 0, 18, 0}, 6, lun, true, m->io->data, 18, 14};
	unsigned status;
	uint32_t residue;
	size_t moved;

	memset(m->io->data, 0, 18);
	int err = msc_transport(m, &c, &status, &residue, &moved);
	if (err < 0)
		return err;
	if (status != 0 || moved < c.need)
		return -EIO;
	st->key = m->io->data[2] & 0xf;
	st->code = (unsigned)m->io->data[12] << 8 | m->io->data[13];
	return 0;
}

/*
 * A command that must pass and move at least c->need bytes: -EIO when it
 * failed (the sense in *st, logged unless quiet) or came short, or the
 * transport's error.  See the top for how the residue is judged.
 */
static int msc_command(struct msc *m, const struct msc_cmd *c, bool quiet, struct msc_status *st)
{
	unsigned status;
	uint32_t residue;
	size_t moved;
	int err = msc_transport(m, c, &status, &residue, &moved);

	*st = (struct msc_status){0};
	if (err < 0)
		return err;
	if (status == 0 && moved < c->need) {
		log_error("usb_msc: %s LUN %u: command 0x%02x passed, but %zu of %u bytes "
			  "did not arrive (residue %u)",
			  m->udev->name, c->lun, c->cdb[0], (size_t)c->len - moved, c->len,
			  residue);
		return -EIO;
	}
	if (status == 0) {
		if (residue != 0 && moved == c->len && !m->residue_noted) {
			m->residue_noted = true;
			log_info("usb_msc: %s: residue %u on a complete data stage ignored "
				 "(and from now on)",
				 m->udev->name, residue);
		}
		return 0;
	}
	err = msc_sense(m, c->lun, st);
	if (!quiet)
		log_error("usb_msc: %s LUN %u: command 0x%02x failed: sense key 0x%x, "
			  "ASC/ASCQ %02x/%02x%s",
			  m->udev->name, c->lun, c->cdb[0], st->key, st->code >> 8, st->code & 0xff,
			  err < 0 ? " (sense unreadable)" : "");
	return -EIO;
}

/*
 * Whether a failed command may pass when tried again: the device was
 * busy, reset, confused or not heard (a transport error, key 0), not
 * refusing the command or its medium.
 */
static bool msc_may_pass(const struct msc_status *st)
{
	switch (st->key) {
	case SENSE_NONE:
	case SENSE_UNIT_ATTENTION:
	case SENSE_ABORTED_COMMAND:
		return true;
	case SENSE_NOT_READY:
		return st->code >> 8 != ASC_MEDIUM_NOT_PRESENT;
	default:
		return false;
	}
}

/* The device was unplugged or went where its buffers cannot be taken back: see the top. */
static void msc_check_lost(struct msc *m)
{
	if (!msc_dead(m))
		return;
	for (unsigned i = 0; i < MSC_MAX_LUNS; i++)
		if (m->disks[i] != NULL)
			blk_set_offline(m->disks[i],
					m->udev->gone ? "usb_msc: the device was unplugged"
						      : "usb_msc: a transfer could not be stopped");
}

/*
 * A command that may be tried up to tries times while its failures may
 * pass (msc_may_pass); NOT READY waits a little first.  Stops early when
 * the device is lost or gone.
 */
static int msc_command_retry(struct msc *m, const struct msc_cmd *c, unsigned tries,
			     struct msc_status *st)
{
	int err = 0;

	for (unsigned t = 1; t <= tries; t++) {
		err = msc_command(m, c, false, st);
		msc_check_lost(m);
		if (err == 0 || msc_dead(m) || !msc_may_pass(st))
			break;
		if (t < tries && st->key == SENSE_NOT_READY)
			blk_wait_delay(MSC_READY_DELAY_US);
	}
	return err;
}

/* Sectors [lba, lba + count) of lun, in one command, tried again while it may pass. */
static int msc_rw(struct msc_lun *l, enum blk_op op, uint64_t lba, uint32_t count, void *buf)
{
	uint32_t len = count * l->dev.sector_size;
	struct msc_cmd c = {
	    .lun = l->lun, .in = op == BLK_READ, .buf = buf, .len = len, .need = len};
	struct msc_status st;

	if (lba + count > 0xffffffffull || count > 0xffff) {
		c.cdb[0] = op == BLK_READ ? SCSI_READ_16 : SCSI_WRITE_16;
		msc_put_be(c.cdb + 2, lba, 8);
		msc_put_be(c.cdb + 10, count, 4);
		c.cdb_len = 16;
	} else {
		c.cdb[0] = op == BLK_READ ? SCSI_READ_10 : SCSI_WRITE_10;
		msc_put_be(c.cdb + 2, lba, 4);
		msc_put_be(c.cdb + 7, count, 2);
		c.cdb_len = 10;
	}
	int err = msc_command_retry(l->msc, &c, MSC_RW_TRIES, &st);
	if (err < 0)
		log_error("usb_msc: %s: %s of sectors %llu+%u failed: %s", l->dev.name,
			  op == BLK_READ ? "read" : "write", (unsigned long long)lba, count,
			  err_name(err));
	return err;
}

static int msc_submit(struct blk_dev *dev, struct blk_req *reqs, size_t n)
{
	struct msc_lun *l = container_of(dev, struct msc_lun, dev);
	uint32_t max = MSC_MAX_BYTES / dev->sector_size;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct blk_req *r = &reqs[i];
		r->status = 0;
		for (uint32_t done = 0; done < r->count && r->status == 0 && !dev->offline;) {
			uint32_t cnt = MIN(r->count - done, max);
			r->status = msc_rw(l, r->op, r->lba + done, cnt,
					   (uint8_t *)r->buf + (size_t)done * dev->sector_size);
			done += cnt;
		}
		if (r->status == 0 && dev->offline)
			r->status = -EIO;
		if (err == 0)
			err = r->status;
	}
	return err;
}

/*
 * SYNCHRONIZE CACHE, until the device fails it once: sticks that have no
 * such command, or stall or hang on it, have written their data when the
 * write passed (USB sticks report no write cache that needs it), and
 * sending it again would only make every flush fail or wait.
 */
static int msc_flush(struct blk_dev *dev)
{
	struct msc_lun *l = container_of(dev, struct msc_lun, dev);
	struct msc_cmd c = {{SCSI_SYNC_CACHE_10}, 10, l->lun, false, NULL, 0, 0};
	struct msc_status st;

	if (l->msc->no_sync)
		return 0;
	int err = msc_command(l->msc, &c, true, &st);
	msc_check_lost(l->msc);
	if (msc_dead(l->msc))
		return -EIO;
	if (err < 0) {
		l->msc->no_sync = true;
		log_info(
		    "usb_msc: %s: SYNCHRONIZE CACHE failed (%s, sense key 0x%x): not sent again",
		    dev->name, err_name(err), st.key);
	}
	return 0;
}

static const struct blk_ops msc_ops = {msc_submit, msc_flush};

/*
 * Waits up to MSC_READY_US for lun to be ready: unit attentions (after
 * power-on or reset) are consumed, a medium coming up is waited for and
 * started when it asks to be, empty senses and transport errors are
 * tried again.  A device that does not know TEST UNIT READY is taken as
 * ready: READ CAPACITY tells.  -ENOENT: no medium.
 */
static int msc_wait_ready(struct msc *m, uint8_t lun)
{
	struct msc_cmd c = {{SCSI_TEST_UNIT_READY}, 6, lun, false, NULL, 0, 0};
	struct msc_cmd start = {{SCSI_START_STOP_UNIT, 0, 0, 0, 1, 0}, 6, lun, false, NULL, 0, 0};
	struct msc_status st;
	unsigned attentions = 0;
	bool started = false;
	struct blk_wait w;
	int err;

	for (blk_wait_start(&w, MSC_READY_US);;) {
		if ((err = msc_command(m, &c, true, &st)) == 0 || st.key == SENSE_ILLEGAL_REQUEST)
			return 0;
		if (msc_dead(m))
			break;
		if (st.key == SENSE_NOT_READY && st.code >> 8 == ASC_MEDIUM_NOT_PRESENT)
			return -ENOENT;
		if (st.key == SENSE_UNIT_ATTENTION && ++attentions <= MSC_ATTENTIONS)
			continue;
		if (st.key == SENSE_NOT_READY && st.code == ASCQ_NEEDS_START && !started) {
			started = true;
			msc_command(m, &start, true, &st);
			continue;
		}
		if (blk_wait_expired(&w))
			break;
		blk_wait_delay(MSC_READY_DELAY_US);
	}
	log_error("usb_msc: %s LUN %u: not ready (%s, sense key 0x%x, ASC/ASCQ %02x/%02x)",
		  m->udev->name, lun, err_name(err), st.key, st.code >> 8, st.code & 0xff);
	return err;
}

/* READ CAPACITY (10), and (16) when the disk is too big for it. */
static int msc_capacity(struct msc *m, uint8_t lun, uint64_t *sectors, uint32_t *size)
{
	struct msc_cmd c = {{SCSI_READ_CAPACITY_10}, 10, lun, true, m->io->data, 8, 8};
	struct msc_status st;
	int err = msc_command_retry(m, &c, MSC_SETUP_TRIES, &st);

	if (err < 0)
		return err;
	uint64_t last = msc_get_be(m->io->data, 4);
	*size = (uint32_t)msc_get_be(m->io->data + 4, 4);
	if (last != 0xffffffff) {
		*sectors = last + 1;
		return 0;
	}
	c = (struct msc_cmd){{SCSI_SERVICE_ACTION_IN_16, SCSI_SA_READ_CAPACITY_16},
			     16,
			     lun,
			     true,
			     m->io->data,
			     32,
			     12};
	msc_put_be(c.cdb + 10, 32, 4);
	if ((err = msc_command_retry(m, &c, MSC_SETUP_TRIES, &st)) < 0)
		return err;
	last = msc_get_be(m->io->data, 8);
	*size = (uint32_t)msc_get_be(m->io->data + 8, 4);
	*sectors = last + 1;
	return last == ~0ull ? -EIO : 0;
}

/* INQUIRY, readiness and capacity of lun; registers it when it holds a medium. */
static void msc_lun_attach(struct msc *m, uint8_t lun)
{
	/* sticks that answer fewer than the standard 36 bytes are common: the type byte will do */
	struct msc_cmd c = {{SCSI_INQUIRY, 0, 0, 0, 36, 0}, 6, lun, true, m->io->data, 36, 1};
	struct msc_status st;
	char product[25];
	uint64_t sectors;
	uint32_t size;

	memset(m->io->data, ' ', 36);
	if (msc_command_retry(m, &c, MSC_SETUP_TRIES, &st) < 0)
		return;
	/* qualifier 0 (connected) and type 0 (direct access) */
	if (m->io->data[0] != 0) {
		log_info("usb_msc: %s LUN %u: peripheral 0x%02x is not a disk", m->udev->name, lun,
			 m->io->data[0]);
		return;
	}
	for (int i = 0; i < 24; i++) {
		char ch = (char)m->io->data[8 + i];
		product[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	product[24] = '\0';
	int err = msc_wait_ready(m, lun);
	if (err == -ENOENT) {
		log_info("usb_msc: %s LUN %u (%s): no medium", m->udev->name, lun, product);
		return;
	}
	if (err < 0 || msc_capacity(m, lun, &sectors, &size) < 0)
		return;
	if ((size != 512 && size != 4096) || sectors == 0) {
		log_error("usb_msc: %s LUN %u: %u-byte sectors, %llu sectors: not used",
			  m->udev->name, lun, size, (unsigned long long)sectors);
		return;
	}
	struct msc_lun *l = NEW(struct msc_lun);
	if (l == NULL)
		return;
	l->msc = m;
	l->lun = lun;
	ksnprintf(l->dev.name, sizeof(l->dev.name), "usb%u", msc_disks++);
	l->dev.sector_size = size;
	l->dev.sectors = sectors;
	l->dev.ops = &msc_ops;
	l->dev.priv = l;
	m->disks[lun] = &l->dev;
	blk_register(&l->dev);
	log_info("usb_msc: %s is LUN %u of %s (%s), %u-byte sectors, %llu MiB", l->dev.name, lun,
		 m->udev->name, product, size, (unsigned long long)((sectors * size) >> 20));
}

/* GET MAX LUN; a device with one LUN may stall it (BOT 3.2). */
static unsigned msc_max_lun(struct msc *m)
{
	struct usb_setup s = {USB_DIR_IN | USB_TYPE_CLASS | USB_RECIP_INTERFACE, MSC_REQ_MAX_LUN, 0,
			      m->iface, 1};
	size_t got;

	m->io->data[0] = 0;
	int err = usb_control(m->udev, &s, m->io->data, &got);
	return err == 0 && got == 1 && m->io->data[0] < MSC_MAX_LUNS ? m->io->data[0] : 0;
}

int usb_msc_attach(struct usb_dev *d, size_t iface_off)
{
	const uint8_t *i = d->config + iface_off;
	struct usb_ep eps[4];

	/* class 8 (mass storage), SCSI transparent command set (6), bulk-only (0x50) */
	if (i[5] != 8 || i[6] != 6 || i[7] != 0x50)
		return -ENODEV;
	struct msc *m = NEW(struct msc);
	struct msc_io *io = NEW(struct msc_io);
	if (m == NULL || io == NULL) {
		DELETE(m);
		DELETE(io);
		return -ENOMEM;
	}
	*m = (struct msc){.udev = d, .iface = i[2], .io = io};
	unsigned n = usb_interface_eps(d, iface_off, eps, ARRAY_SIZE(eps));
	for (unsigned k = 0; k < n; k++)
		if ((eps[k].attr & 3) == USB_EP_XFER_BULK)
			*((eps[k].addr & USB_DIR_IN) ? &m->ep_in : &m->ep_out) = eps[k].addr;
	int err = m->ep_in == 0 || m->ep_out == 0 ? -ENODEV : usb_configure(d, eps, n, NULL);
	if (err < 0) {
		log_error("usb_msc: %s: %s", d->name,
			  err == -ENODEV ? "no bulk endpoint pair" : "configuration failed");
		DELETE(io);
		DELETE(m);
		return err == -ENODEV ? -EIO : err;
	}
	m->nluns = msc_max_lun(m) + 1;
	for (unsigned lun = 0; lun < m->nluns; lun++)
		msc_lun_attach(m, (uint8_t)lun);
	/* m and io stay: disks refer to them, and a device without one costs little */
	return 0;
}
