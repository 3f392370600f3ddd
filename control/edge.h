/*
 * edge.h - the SIP-over-TLS/TCP edge proxy (issue 8, docs/edge.md): listens on the
 * configuration's edge addresses, terminates TLS (OpenSSL 3), frames SIP over each stream
 * (edge_frame.h) and relays between client connections and the UDP backends of one group,
 * as an RFC 5626 edge proxy with RFC 3327 Path.
 * Control plane, one thread of its own with epoll, never on a worker core: nothing it does
 * can stop or slow UDP forwarding. edge_start() and edge_stop() are called by one thread
 * (main.c); edge_get_stats() from any thread.
 */
#ifndef SIPHON_CTL_EDGE_H
#define SIPHON_CTL_EDGE_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "siphon/cfg.h"

/**
 * The edge's counters, X(field, meaning). Connections closed by the edge are counted once,
 * by the first reason; messages refused without closing are counted by theirs.
 */
#define EDGE_STATS(X)                                                                              \
	X(conns_accepted, "connections accepted")                                                  \
	X(conns_open, "connections open now, handshaking or established (a gauge)")                \
	X(conns_handshake, "connections in their TLS handshake now (a gauge)")                     \
	X(flows, "open connections that registered: their flow is in a Path (a gauge)")            \
	X(handshakes_ok, "TLS handshakes completed")                                               \
	X(handshakes_resumed, "of those, sessions resumed (a ticket)")                             \
	X(refused_total, "connections refused: max_conns reached")                                 \
	X(refused_per_ip, "connections refused: max_conns_per_ip of their source reached")         \
	X(refused_hs_per_ip,                                                                       \
	  "connections refused: handshakes_per_sec_per_ip of their source spent")                  \
	X(accept_paused,                                                                           \
	  "times accepting stopped, handshakes_per_sec spent (the storm waits in the backlog)")    \
	X(closed_peer, "connections the client closed or reset")                                   \
	X(closed_handshake,                                                                        \
	  "TLS handshakes that failed (plaintext on a TLS port, bad certificate)")                 \
	X(closed_handshake_timeout, "TLS handshakes not done within handshake_timeout_ms")         \
	X(hs_fail_not_tls, "of closed_handshake: no TLS record (plaintext on a TLS port)")         \
	X(hs_fail_client_cert, "of closed_handshake: client certificate missing or not verified")  \
	X(hs_fail_proto, "of closed_handshake: no common version, suite, group or algorithm")      \
	X(hs_fail_peer, "of closed_handshake: the client closed during the handshake")             \
	X(closed_idle, "connections closed after idle_timeout_s without a byte")                   \
	X(closed_slow, "connections closed: a message not whole within message_timeout_ms")        \
	X(closed_header_size, "connections closed: a header section over max_header")              \
	X(closed_msg_size, "connections closed: a message over max_message")                       \
	X(closed_no_length, "connections closed: a message without Content-Length")                \
	X(closed_parse, "connections closed: bytes the SIP scanner refused")                       \
	X(closed_rate, "connections closed: over max_msgs_per_sec")                                \
	X(closed_write, "connections closed: a write failed")                                      \
	X(closed_out_full,                                                                         \
	  "connections closed: unsent output over its bound (a client not reading)")               \
	X(closed_tls, "connections closed: TLS error after the handshake")                         \
	X(keepalives, "double-CRLF pings answered")                                                \
	X(msgs_in, "messages received from clients")                                               \
	X(bytes_in, "octets received from clients (after TLS)")                                    \
	X(bytes_out, "octets handed to client connections (before TLS)")                           \
	X(to_backend, "messages sent to a backend")                                                \
	X(to_backend_failed, "messages to a backend the kernel refused (over a datagram's size)")  \
	X(no_backend, "client requests dropped: no usable backend or no AOR")                      \
	X(too_big,                                                                                 \
	  "client requests dropped: too big for the output buffer with the edge's headers")        \
	X(from_backend, "datagrams received from backends")                                        \
	X(to_client, "messages sent down a client connection")                                     \
	X(flow_failed, "requests from backends answered 430 Flow Failed (dead or forged flow)")    \
	X(backend_drop, "datagrams from backends dropped: unparseable or not routable")            \
	X(rtx_sent, "client requests sent again to a backend: no response within T1, 2 T1, ...")   \
	X(rtx_timeout, "client requests no backend answered within 64 T1")                         \
	X(rtx_408, "of those, answered 408 down their client's connection (still open)")           \
	X(rtx_untracked, "client requests sent once only: the retransmission table was full")      \
	X(rtx_pending, "client requests waiting for a backend's response now (a gauge)")           \
	X(client_resp_drop,                                                                        \
	  "responses from clients dropped: no Via of this flow's, or a next hop "                  \
	  "that is no backend")                                                                    \
	X(tls_reloads, "certificate reloads done")                                                 \
	X(tls_reload_failed, "certificate reloads refused (a bad file; the old ones stayed)")      \
	X(register_503, "REGISTERs answered 503 + Retry-After: over registers_per_sec")            \
	X(too_many_hops, "requests answered 483 Too Many Hops (Max-Forwards 0) or 400 "            \
	                 "(malformed)")

/** A consistent-enough copy of the counters (each one read atomically). */
struct edge_stats {
#define EDGE_X_FIELD_(f, d) uint64_t f;
	EDGE_STATS(EDGE_X_FIELD_)
#undef EDGE_X_FIELD_
	uint64_t mem_allocated; /**< octets the edge holds in its jemalloc arena */
	uint64_t mem_resident;  /**< octets of that arena in RAM */
};

struct edge;

/** What a picked message is, for a group in a transition window (docs/dialogs.md). */
#define EDGE_PICK_FRESH  0x1u /**< a request without To tag, not ACK or CANCEL */
#define EDGE_PICK_DIALOG 0x2u /**< INVITE, SUBSCRIBE, REFER or an unknown method */

/**
 * Choose the backend of group for a key (a normalised AOR, or a Call-ID): hashed with
 * keyhash, looked up in the group's Maglev table; how (EDGE_PICK_*) says what the message
 * is, so that while a change's transition window is open an in-dialog request follows its
 * dialog as the workers' do. Called on the edge thread for every request from a client;
 * must not block for long.
 * @return 0 with *addr and *port (its SIP port), or -1 when no backend is usable.
 */
typedef int (*edge_pick_fn)(void *arg, const char *group, const uint8_t *key, size_t len,
                            unsigned how, struct cfg_addr *addr, uint16_t *port);

/**
 * The picker of a configuration alone (arg: the struct edge): the table edge_start() built
 * from cfg's group, backends in their configured states, cfg's hash_key. The daemon
 * passes edge_snap_pick() (edge_snap.h) instead, which follows health and changes.
 */
int edge_pick_cfg(void *arg, const char *group, const uint8_t *key, size_t len, unsigned how,
                  struct cfg_addr *addr, uint16_t *port);

/**
 * Open every listener and the backend-facing socket, load the certificates, build the
 * configuration's backend table, and start the edge thread (named "sph-edge"). cfg->edge
 * must have a listener. Nothing of cfg is kept: it may be freed once this returns.
 * The thread runs on cfg->edge.cpu; by default (CFG_EDGE_CPU_AUTO) on every CPU not in
 * workers, or where the caller runs when workers is NULL or leaves no CPU.
 * @param pick      How backends are chosen; NULL: edge_pick_cfg().
 * @param pick_arg  Its argument; must outlive the edge.
 * @param workers   The CPUs of the worker lcores, which the edge must leave alone; NULL:
 *                  none known.
 * @param err       One line on failure, naming the file, address or CPU at fault.
 * @return 0 and *out, or -1 (nothing left open).
 */
int edge_start(const struct sph_cfg *cfg, edge_pick_fn pick, void *pick_arg,
               const cpu_set_t *workers, struct edge **out, char *err, size_t errlen);

/** Stop the thread, close every connection and free everything. NULL is a no-op. */
void edge_stop(struct edge *e);

/** Copy the counters. Any thread. */
void edge_get_stats(struct edge *e, struct edge_stats *st);

/** Print every counter as "name value" lines (tests and the daemon's exit summary). */
void edge_print_stats(struct edge *e, FILE *f);

/** One generation of TLS contexts (certificates, chains, keys, SNI names, client CA). */
struct edge_tls;

/**
 * Build the TLS contexts of c (its certs, keys, client_ca, ciphers; the listeners stay
 * those of the start) without touching the running ones. Any thread but the edge's,
 * one at a time: OpenSSL reads the files here, off the edge thread.
 * @return 0 and *out, or -1 with one line in err naming the file at fault (missing,
 *         not PEM, a key not matching its certificate); the running contexts stay.
 */
int edge_tls_prepare(struct edge *e, const struct cfg_edge *c, struct edge_tls **out, char *err,
                     size_t errlen);

/**
 * Hand prepared contexts to the edge thread, which swaps them in between two events:
 * new handshakes get them, established connections keep theirs. Returns once swapped
 * (at most 2 s). Takes ownership of t.
 */
void edge_tls_commit(struct edge *e, struct edge_tls *t);

/** Free prepared contexts never committed. NULL is a no-op. */
void edge_tls_abort(struct edge_tls *t);

/** Whether the edge serves TLS (has tls or mtls listeners): whether there is anything to reload. */
int edge_tls_on(const struct edge *e);

/** edge_tls_prepare() then edge_tls_commit(): `siphonctl tls reload`. */
int edge_tls_reload(struct edge *e, const struct cfg_edge *c, char *err, size_t errlen);

#endif /* SIPHON_CTL_EDGE_H */
