/*
 * worker_env.h - one real dataplane worker on a net_ring vdev, in this process, for the
 * fixture suite (tests/test_fixtures.c) and the whole-path fuzz target (fuzz_worker.c):
 * both hand frames to dp_worker_burst() the way an RX burst does and read what it sent
 * from the vdev's ring. Set up once per process (EAL cannot be initialised twice); every
 * call after wenv_setup() runs on the main lcore, which plays the worker.
 */
#ifndef SIPHON_TESTS_WORKER_ENV_H
#define SIPHON_TESTS_WORKER_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "worker.h"

#define WENV_DEVICE  "net_ring0"
#define WENV_TX_RING "ETH_RXTX0_" WENV_DEVICE /* net_ring's queue 0, RX and TX alike */
#define WENV_POOL_N  1023u                    /* mbufs: no cache, so the count is exact */

struct wenv {
	struct sph_cfg *cfg;
	struct dp dp;
	struct dp_worker *w;
	struct rte_ring *txr; /* what the worker sent: dequeue it (wenv_tx_take) */
	uint16_t port_id;
	uint8_t mac[6]; /* the port's */
};

/*
 * Bring up EAL (no hugepages, no shared configuration, one lcore floating over the CPUs
 * the process may use, a file prefix of name and the pid), the net_ring port with the
 * daemon's port_init(), one worker and the snapshot of the configuration file conf, with
 * the port's MAC set to mac first (net_ring has none of its own). What main_setup() does
 * for a daemon with one worker. @return 0, or -1 with a one-line reason in err.
 */
int wenv_setup(struct wenv *e, const char *name, const char *conf, const uint8_t mac[6], char *err,
               size_t errlen);

/* Undo wenv_setup(), EAL included; the process cannot set up again. */
void wenv_teardown(struct wenv *e);

/* Flush the worker's TX buffers and take up to max frames it sent, in order. */
unsigned wenv_tx_take(struct wenv *e, struct rte_mbuf **out, unsigned max);

/* Mbufs in the pool: WENV_POOL_N when none is held or leaked. */
unsigned wenv_pool_avail(const struct wenv *e);

#endif /* SIPHON_TESTS_WORKER_ENV_H */
