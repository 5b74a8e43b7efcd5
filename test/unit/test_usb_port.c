/*
 * The boot-time port watch (core/dev/usb/usb_port.c) against simulated
 * ports, which QEMU's xHCI and usb-hub cannot play: a USB 3 link that
 * trains late, one stuck in SS.Inactive or Compliance until warm resets,
 * a stick that gives up on SuperSpeed and connects on its USB 2 port
 * later, a connect that bounces, a reset that fails, a port that never
 * settles.  Each port follows a script on the test's clock (a wait moves
 * it at once); the simulated reset checks that the connect had held for
 * the debounce time, and the attach that it comes once.  A last test runs
 * every combination of the faults and checks the outcome of each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/dev/usb/usb_port.h"
#include "test/host/clock_sim.h"

#define NEVER UINT64_MAX
#define MS 1000ull

struct sim_port {
	bool super;
	uint64_t connect_at;	   /* the device appears */
	uint64_t gone_at, back_at; /* it leaves in [gone_at, back_at) */
	uint64_t polling_until;	   /* the link trains (Polling) until then, without a connect */
	unsigned stuck;		   /* warm resets the link needs to leave stuck_link */
	uint8_t stuck_link;
	unsigned reset_fails; /* hot resets that fail */
	bool unreadable;
	/* seen */
	unsigned resets, warm_resets, attached;
	uint64_t attached_at;
};

static struct sim_port ports[USB_PORT_MAX + 1];

static bool sim_present(const struct sim_port *p)
{
	return clock_sim_now >= p->connect_at && !(clock_sim_now >= p->gone_at && clock_sim_now < p->back_at);
}

/* Since when the device has been there without a break. */
static uint64_t sim_present_since(const struct sim_port *p)
{
	return p->back_at != 0 && clock_sim_now >= p->back_at ? p->back_at : p->connect_at;
}

static int sim_status(void *ctx, unsigned n, struct usb_port_view *v)
{
	struct sim_port *p = &ports[n];
	bool stuck = sim_present(p) && p->warm_resets < p->stuck;

	assert_ptr_equal(ctx, ports);
	if (p->unreadable)
		return -EIO;
	v->super = p->super;
	v->connected = sim_present(p) && !stuck;
	v->link = stuck			       ? p->stuck_link
		  : v->connected	       ? USB_LINK_U0
		  : clock_sim_now < p->polling_until ? USB_LINK_POLLING
					       : USB_LINK_RX_DETECT;
	if (!p->super)
		v->link = 0;
	return 0;
}

static int sim_reset(void *ctx, unsigned n, bool warm, enum usb_speed *speed)
{
	struct sim_port *p = &ports[n];

	(void)ctx;
	if (warm) {
		assert_true(p->super);
		p->warm_resets++;
		clock_sim_now += 50 * MS;
		return 0;
	}
	/* USB 2.0 7.1.7.3: the connect has held for the debounce time */
	assert_true(sim_present(p));
	assert_true(clock_sim_now - sim_present_since(p) >= USB_PORT_DEBOUNCE_US);
	p->resets++;
	clock_sim_now += 20 * MS;
	if (p->reset_fails > 0) {
		p->reset_fails--;
		return -ETIMEDOUT;
	}
	*speed = p->super ? USB_SPEED_SUPER : USB_SPEED_HIGH;
	return 0;
}

static void sim_attach(void *ctx, unsigned n, enum usb_speed speed)
{
	struct sim_port *p = &ports[n];

	(void)ctx;
	assert_int_equal(speed, p->super ? USB_SPEED_SUPER : USB_SPEED_HIGH);
	assert_int_equal(p->attached, 0);
	p->attached++;
	p->attached_at = clock_sim_now;
	clock_sim_now += 30 * MS; /* the device's descriptors and driver */
}

static const struct usb_port_ops sim_ops = {sim_status, sim_reset, sim_attach};

/* Eight ports, 1-4 USB 2 and 5-8 USB 3 (as QEMU's xHCI has them), all empty. */
static int setup(void **state)
{
	(void)state;
	clock_sim_now = 0;
	memset(ports, 0, sizeof(ports));
	for (unsigned n = 1; n <= USB_PORT_MAX; n++) {
		ports[n].connect_at = NEVER;
		ports[n].super = n >= 5;
	}
	return 0;
}

static unsigned scan(void)
{
	return usb_port_scan(&sim_ops, ports, "sim", 8, 150 * MS);
}

/* The QEMU case: a stick there from the start costs no more than the old fixed 150 ms. */
static void test_present_at_once(void **state)
{
	ports[6].connect_at = 0;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[6].attached, 1);
	assert_int_equal(ports[6].resets, 1);
	assert_int_equal(ports[6].warm_resets, 0);
	assert_true(ports[6].attached_at <= 150 * MS);
	assert_true(clock_sim_now <= 200 * MS);
}

/* Nothing at all: the scan ends once min_us has passed. */
static void test_empty(void **state)
{
	assert_int_equal(scan(), 0);
	assert_true(clock_sim_now >= 150 * MS && clock_sim_now <= 170 * MS);
}

/* A USB 3 link still training after the controller reset is waited for. */
static void test_late_link(void **state)
{
	ports[5].polling_until = 1200 * MS;
	ports[5].connect_at = 1200 * MS;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[5].attached, 1);
	assert_true(ports[5].attached_at >= 1300 * MS && ports[5].attached_at < 1400 * MS);
}

/* Stuck in SS.Inactive (or Compliance): warm reset, then the usual hot reset and attach. */
static void test_warm_reset(void **state)
{
	ports[7].connect_at = 0;
	ports[7].stuck = 1;
	ports[7].stuck_link = USB_LINK_INACTIVE;
	ports[8].connect_at = 0;
	ports[8].stuck = 2;
	ports[8].stuck_link = USB_LINK_COMPLIANCE;
	assert_int_equal(scan(), 2);
	assert_int_equal(ports[7].warm_resets, 1);
	assert_int_equal(ports[8].warm_resets, 2);
	assert_int_equal(ports[7].attached + ports[8].attached, 2);
}

/* A link that stays stuck is given up after USB_PORT_WARM_RESETS, and the scan still ends. */
static void test_warm_reset_gives_up(void **state)
{
	ports[5].connect_at = 0;
	ports[5].stuck = 100;
	ports[5].stuck_link = USB_LINK_INACTIVE;
	ports[2].connect_at = 0;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[5].warm_resets, USB_PORT_WARM_RESETS);
	assert_int_equal(ports[5].attached, 0);
	assert_int_equal(ports[2].attached, 1);
	assert_true(clock_sim_now < USB_PORT_DEADLINE_US);
}

/* A reset that fails once is tried again after another debounce. */
static void test_reset_retry(void **state)
{
	ports[1].connect_at = 0;
	ports[1].reset_fails = 1;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[1].resets, 2);
	assert_int_equal(ports[1].attached, 1);
}

/* One that always fails is given up after USB_PORT_RESETS tries. */
static void test_reset_gives_up(void **state)
{
	ports[1].connect_at = 0;
	ports[1].reset_fails = 100;
	assert_int_equal(scan(), 0);
	assert_int_equal(ports[1].resets, USB_PORT_RESETS);
	assert_true(clock_sim_now < USB_PORT_DEADLINE_US);
}

/*
 * The stick trains on its USB 3 port for 800 ms, gives up, and connects
 * on its USB 2 port 200 ms later: the scan is still there to see it.
 */
static void test_usb2_fallback(void **state)
{
	ports[5].polling_until = 800 * MS;
	ports[1].connect_at = 1000 * MS;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[1].attached, 1);
	assert_int_equal(ports[5].resets + ports[5].warm_resets, 0);
}

/* A connect that bounces during the debounce starts it over (checked in sim_reset). */
static void test_bounce(void **state)
{
	ports[3].connect_at = 0;
	ports[3].gone_at = 50 * MS;
	ports[3].back_at = 300 * MS;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[3].resets, 1);
	assert_true(ports[3].attached_at >= 400 * MS);
}

/* A link that trains forever holds the scan to the deadline only; the others are attached. */
static void test_never_settles(void **state)
{
	ports[8].polling_until = NEVER;
	ports[4].connect_at = 0;
	ports[3].unreadable = true;
	assert_int_equal(scan(), 1);
	assert_int_equal(ports[4].attached, 1);
	assert_true(clock_sim_now >= USB_PORT_DEADLINE_US && clock_sim_now < USB_PORT_DEADLINE_US + 50 * MS);
}

/*
 * Every combination on one port: USB 2 or 3, a device there at once,
 * after 50 ms or after a long training, a stuck link needing 0-3 warm
 * resets, 0-3 failing resets, a bounce or none.  The device is attached
 * exactly when the limits allow it, and the scan ends within twice the
 * deadline.
 */
static void test_every_combination(void **state)
{
	static const uint64_t arrive[] = {0, 50 * MS, 1500 * MS};
	unsigned cases = 0;

	for (unsigned super = 0; super < 2; super++)
		for (unsigned a = 0; a < ARRAY_SIZE(arrive); a++)
			for (unsigned stuck = 0; stuck <= (super ? 3u : 0u); stuck++)
				for (unsigned fails = 0; fails <= 3; fails++)
					for (unsigned bounce = 0; bounce < 2; bounce++) {
						setup(state);
						unsigned n = super ? 6 : 2;
						struct sim_port *p = &ports[n];
						p->connect_at = arrive[a];
						/* a late USB 2 stick is seen while a link trains */
						ports[7].polling_until = arrive[a];
						p->polling_until = super ? arrive[a] : 0;
						p->stuck = stuck;
						p->stuck_link = stuck % 2 ? USB_LINK_INACTIVE
									  : USB_LINK_COMPLIANCE;
						p->reset_fails = fails;
						if (bounce) {
							p->gone_at = arrive[a] + 40 * MS;
							p->back_at = arrive[a] + 200 * MS;
						}
						bool ok = stuck <= USB_PORT_WARM_RESETS &&
							  fails < USB_PORT_RESETS;
						assert_int_equal(scan(), ok ? 1 : 0);
						assert_int_equal(p->attached, ok ? 1 : 0);
						assert_true(p->resets <= USB_PORT_RESETS);
						assert_true(p->warm_resets <= USB_PORT_WARM_RESETS);
						assert_true(clock_sim_now < 2 * USB_PORT_DEADLINE_US);
						cases++;
					}
	assert_int_equal(cases, 3 * 4 * 2 + 3 * 4 * 4 * 2); /* USB 2, USB 3 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_present_at_once, setup),
	    cmocka_unit_test_setup(test_empty, setup),
	    cmocka_unit_test_setup(test_late_link, setup),
	    cmocka_unit_test_setup(test_warm_reset, setup),
	    cmocka_unit_test_setup(test_warm_reset_gives_up, setup),
	    cmocka_unit_test_setup(test_reset_retry, setup),
	    cmocka_unit_test_setup(test_reset_gives_up, setup),
	    cmocka_unit_test_setup(test_usb2_fallback, setup),
	    cmocka_unit_test_setup(test_bounce, setup),
	    cmocka_unit_test_setup(test_never_settles, setup),
	    cmocka_unit_test_setup(test_every_combination, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
