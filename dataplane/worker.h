/*
 * worker.h - the dataplane context (struct dp) and its worker lcores (struct dp_worker).
 * struct dp is what every plane of the daemon shares: ports, the published snapshot,
 * the neighbour table, the learn ring, the quit flag. Each worker owns one RX queue
 * and one TX queue of every port, its TX buffers and its counters, and shares nothing
 * writable with other lcores: dp_worker_burst() takes no lock and never allocates.
 */
#ifndef SIPHON_DP_WORKER_H
#define SIPHON_DP_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "siphon/cfg.h"
#include "siphon/dp.h"
#include "siphon/neigh.h"
#include "siphon/snap.h"
#include "siphon/stats.h"
#include "frag.h"

#define DP_MAX_PORTS      8u    /**< ports one daemon serves */
#define DP_BURST          32u   /**< RX burst and TX buffer size */
#define DP_PREFETCH       4u    /**< packets prefetched ahead of the one processed */
#define DP_PREFETCH_BYTES 1024u /**< bytes of each frame prefetched: a SIP header section */
#define DP_DRAIN_US       100u  /**< longest a frame waits in a TX buffer */
#define DP_LEARN_RING     1024u /**< learnt neighbours in flight to the main lcore */
#define DP_EXC_RING       1024u /**< per port: datagrams in flight to the kernel interface */
#define DP_FRAG_RING      1024u /**< per worker: fragments other workers hand it */
#define DP_PORT_NONE      UINT8_MAX
/** The edge's listeners of every kind. */
#define DP_EDGE_SOCKS     (3u * CFG_EDGE_LISTEN_MAX)

/* Dialog affinity (docs/dialogs.md): Call-ID hashes of the new dialogs a transition moved,
 * in two banks of DP_AFF_ENTRIES 64-bit words each, probed DP_AFF_PROBE words deep. */
#define DP_AFF_ENTRIES (1u << 18)          /**< per bank, a power of two: 2 MiB a bank */
#define DP_AFF_PROBE   8u                  /**< words probed per bank: one cache line */
#define DP_AFF_TAG     (~(uint64_t)0xffff) /**< hash bits an entry keeps */
/* A forgotten entry (dp_aff_forget): not empty, so probes go on past it, and naming no
 * slot, so a lookup that meets its tag (one hash in 2^48) finds no record. */
#define DP_AFF_DEAD    DP_AFF_TAG

/** A TCP listener of the edge on a VIP, which the kernel holds through the exception path. */
struct dp_edge_sock {
	uint8_t family; /**< 4 or 6 */
	uint16_t port;  /**< host order */
	uint8_t addr[16];
};

/** A DPDK port as the dataplane uses it; set up by port_init(), then read-only. */
struct dp_port {
	uint16_t port_id;          /**< DPDK port id */
	uint8_t mac[6];            /**< its Ethernet address: l2dsr/ipip source, ARP/ND replies */
	bool accept_any;           /**< take unicast frames to any MAC (--promisc, pcap replay) */
	bool ipv4_cksum_offload;   /**< the NIC computes outer IPv4 header checksums */
	bool tx_multi_seg;         /**< the NIC sends chained mbufs (else: one segment each) */
	bool ctl_txq;              /**< TX queue nb_workers exists, for the main lcore */
	struct rte_ring *ctl_ring; /**< else: main lcore -> worker 0, frames to send (SP/SC) */
	uint16_t mtu;              /**< largest IP datagram it sends */
	char name[CFG_NAME_MAX];   /**< cfg port name */
	/* Exception path (port_exception_init): IP datagrams to the port's own addresses
	 * that the fast path does not handle go to a kernel TUN interface, and what the
	 * kernel sends there goes out this port. exc_ring is NULL without one. */
	struct rte_ring *exc_ring; /**< workers -> main lcore: mbufs holding IP datagrams (MP/SC) */
	uint16_t exc_port_id;      /**< the net_tun port; the main lcore alone uses its queues */
	bool exc_started;          /**< exc_port_id is a started port to stop at exit */
	char exc_ifname[CFG_IFNAME_MAX]; /**< its kernel interface, "" = none */
};

/** A learnt neighbour on its way to the main lcore (ring elements are multiples of 4). */
union dp_learn_rec {
	struct nd_learn l;
	uint32_t words[(sizeof(struct nd_learn) + 3) / 4];
};

struct dp_worker;
struct limit_table;
struct dp_hep;
struct dp_hep_worker;

/**
 * Dialog affinity: Call-ID hash -> counter slot of the backend a moved new dialog went to,
 * shared by every worker, lock-free. An entry is one 64-bit word, (hash & DP_AFF_TAG) |
 * (slot + 1), so a reader sees a whole entry or none; 0 is empty. Workers insert with a
 * compare-and-swap into bank[cur] (open addressing, DP_AFF_PROBE words from hash & mask;
 * no room: "full") and look up both banks. Entries are never removed one by one: the main
 * lcore empties a whole bank (dp_aff_rotate, every transition window while one is open;
 * dp_aff_clear, when it closes). Memory: 2 x DP_AFF_ENTRIES x 8 bytes, whatever the traffic.
 */
struct dp_affinity {
	uint32_t mask; /**< entries per bank - 1 */
	uint32_t cur;  /**< bank that takes inserts: workers __atomic_load_n */
	uint64_t *bank[2];
};

/** The dataplane. One per daemon; lives from start-up to exit. */
struct dp {
	struct snap *snap;             /**< published snapshot: workers __atomic_load_n(ACQUIRE) */
	struct rte_rcu_qsbr *qsbr;     /**< workers report quiescence; snap_publish() waits on it */
	struct nd_table *nd;           /**< neighbours: main lcore writes, workers read MACs */
	uint8_t nd_port[ND_TABLE_MAX]; /**< egress port of each nd entry (main lcore only) */
	struct rte_ring *learn;        /**< workers -> main lcore: union dp_learn_rec (MP/SC) */
	struct rte_mempool *pool;
	unsigned nb_ports;
	struct dp_port ports[DP_MAX_PORTS];
	uint8_t port_index[RTE_MAX_ETHPORTS]; /**< DPDK port id -> index, or DP_PORT_NONE */
	unsigned nb_workers;
	struct dp_worker *workers[RTE_MAX_LCORE];
	uint32_t quit;            /**< set by the main lcore: workers leave their loop */
	uint64_t drain_tsc;       /**< DP_DRAIN_US in TSC cycles */
	pthread_mutex_t ctl_lock; /**< serialises snapshot swaps and telemetry readers */
	struct dp_affinity *aff;  /**< dialog affinity, made by the first snap_build() */
	/** Dialogs an operator route rule sent to another group (slot: that group), so their
	 * later messages follow (rulecheck.c). Made by the first snapshot with a route rule;
	 * rotated hourly by the main lcore (dp_routed_rotate()). */
	struct dp_affinity *routed;
	uint32_t aff_entries;        /**< its entries per bank (power of two); 0: DP_AFF_ENTRIES */
	struct frag_limits frag_lim; /**< each worker's fragment table; entries 0: none */
	struct dp_hep *hep; /**< the HEP mirror (hep.h), NULL: off; workers __atomic_load_n */
	/** The edge's TCP listeners on VIPs: set at dp_open() from the start configuration,
	 * as the edge reads its block only then. */
	struct dp_edge_sock edge_socks[DP_EDGE_SOCKS];
	unsigned nb_edge_socks;
};

/**
 * Whether (family, dst, dport) is one of dp's edge listeners; dport 0: any of them on
 * dst. What is for them goes to the kernel, through the exception path, like what is
 * for a port's own address. Any lcore.
 */
static inline bool
dp_edge_sock_is(const struct dp *dp, uint8_t family, const uint8_t dst[16], uint16_t dport)
{
	for (unsigned i = 0; i < dp->nb_edge_socks; i++) {
		const struct dp_edge_sock *k = &dp->edge_socks[i];

		if (k->family == family && memcmp(k->addr, dst, 16) == 0 &&
		    (k->port == dport || dport == 0))
			return true;
	}
	return false;
}

/** A worker lcore's state; rte_zmalloc'd on its socket. */
struct dp_worker {
	struct dp *dp;
	unsigned id; /**< 0..nb_workers-1: its RX/TX queue and RCU thread id */
	unsigned lcore;
	uint16_t ip_id; /**< next outer IPv4 identification */
	struct rte_eth_dev_tx_buffer *tx[DP_MAX_PORTS];
	struct stats_worker *st;
	struct limit_table *lim;    /**< per-source rate limits of initial requests (limit.h) */
	struct frag_table *frag;    /**< its datagrams in reassembly; NULL: fragments dropped */
	struct rte_ring *frag_ring; /**< other workers -> it: fragments it owns (MP/SC) */
	struct dp_hep_worker *hep;  /**< its mirror state: marked calls, TX, counters */
} __rte_cache_aligned;

/**
 * Allocate worker id of dp, on lcore's socket, with TX buffers for every port of dp
 * (which must be set up). Main lcore, before launch. @return the worker, or NULL.
 */
struct dp_worker *dp_worker_create(struct dp *dp, unsigned id, unsigned lcore);

/** Free a worker that has stopped. */
void dp_worker_free(struct dp_worker *w);

/**
 * Process n received frames: answer ARP/ND, dispatch SIP to backends, hand what is
 * for the port's own addresses to its exception ring (when it has one), drop and count
 * the rest. Every mbuf is consumed (queued for TX or freed). Frames buffered for TX
 * go out when a buffer fills or at dp_worker_flush(). Reads the snapshot once.
 *
 * The worker's lcore only; the caller reports RCU quiescence after it returns.
 */
void dp_worker_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n);

/**
 * Expire the worker's timed-out fragments and take the ones other workers handed it
 * (the poll loop calls it every iteration). The worker's lcore.
 */
void dp_worker_frag_poll(struct dp_worker *w);

/** Send whatever the worker's TX buffers hold. The worker's lcore. */
void dp_worker_flush(struct dp_worker *w);

/** rte_eal_remote_launch() entry: poll every port until dp->quit. arg is the dp_worker. */
int dp_worker_main(void *arg);

/** Result of dp_aff_add(). */
enum dp_aff_rc { DP_AFF_ADDED = 0, DP_AFF_EXISTS, DP_AFF_FULL };

/** The counter slot + 1 recorded for Call-ID hash h, 0 when none. Any lcore, lock-free. */
static inline unsigned
dp_aff_find(const struct dp_affinity *a, uint64_t h)
{
	unsigned cur = __atomic_load_n(&a->cur, __ATOMIC_ACQUIRE);

	for (unsigned b = 0; b < 2; b++) {
		const uint64_t *bank = a->bank[cur ^ b];

		for (unsigned k = 0; k < DP_AFF_PROBE; k++) {
			uint64_t e = __atomic_load_n(&bank[(h + k) & a->mask], __ATOMIC_ACQUIRE);

			if (e == 0)
				break;
			if ((e & DP_AFF_TAG) == (h & DP_AFF_TAG))
				return (unsigned)(e & 0xffff);
		}
	}
	return 0;
}

/** Record h -> slot in the current bank. Workers; lock-free, allocation-free. */
enum dp_aff_rc dp_aff_add(struct dp_affinity *a, uint64_t h, uint16_t slot);

/** Make the affinity table of dp (dp->aff_entries per bank). Main lcore. @return 0, -1. */
int dp_aff_create(struct dp *dp);

/** Make dp->routed, the same shape. Main lcore. @return 0, -1. */
int dp_routed_create(struct dp *dp);

/** Free both. Only once no worker runs. */
void dp_aff_free(struct dp *dp);

/*
 * Set-up and tear-down on a caller-owned struct dp (zeroed, ctl_lock initialised): what
 * dp_open() and dp_close() do around an allocation, and what the replay bench and the
 * worker suite call directly, so that all three run the same steps. Telemetry
 * (stats_init) is the caller's. dp_setup() returns 0, or -1 with a one-line reason in
 * err; dp_teardown() undoes a partial set-up.
 */
int dp_setup(struct dp *dp, const struct sph_cfg *cfg, bool promisc, char *err, size_t errlen);
void dp_teardown(struct dp *dp);

#endif /* SIPHON_DP_WORKER_H */
