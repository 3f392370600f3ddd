/*
 * edge_snap.h - the daemon's backend picker for the edge: the published snapshot's group
 * table (include/siphon/snap.h), read under dp_lock() as metrics does, so the edge
 * follows health, siphonctl changes and reloads exactly as the dataplane dispatches.
 * Control plane; called on the edge thread. Needs the dataplane (DPDK): linked into the
 * daemon only, not into the edge library.
 */
#ifndef SIPHON_CTL_EDGE_SNAP_H
#define SIPHON_CTL_EDGE_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "siphon/cfg.h"
#include "edge.h" /* EDGE_PICK_* */

/**
 * An edge_pick_fn (edge.h) over the published snapshot. arg: the struct dp.
 * Holds dp_lock() for the lookup only (no system call inside).
 * @return 0 with the backend's address and SIP port, or -1: no such group, or no usable
 *         backend in its table.
 */
int edge_snap_pick(void *arg, const char *group, const uint8_t *key, size_t len, unsigned how,
                   struct cfg_addr *addr, uint16_t *port);

#endif /* SIPHON_CTL_EDGE_SNAP_H */
