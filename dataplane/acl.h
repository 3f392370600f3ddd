/*
 * acl.h - building and freeing a VIP's allowlist tables (struct snap_acl, snap.h), for
 * snap.c. Internal to the dataplane: control reaches them only through a snapshot.
 */
#ifndef SIPHON_DP_ACL_H
#define SIPHON_DP_ACL_H

#include <stddef.h>

#include "siphon/cfg.h"
#include "siphon/snap.h"

/**
 * Fill a with the LPM tables of cv's prefixes (rte_lpm6 on socket, each prefix with its
 * tier as next hop): the tables another snapshot built from the same list already uses,
 * else new ones. Main lcore; allocates. @return 0, or -1 with one line in err (a is
 * then zeroed).
 */
int acl_build(struct snap_acl *a, const struct cfg_vip *cv, int socket, char *err, size_t errlen);

/** Drop a's reference to its tables, freeing them with the last; a zeroed struct is a
 *  no-op. Only once no worker reads a (after the RCU grace period). */
void acl_free(struct snap_acl *a);

#endif /* SIPHON_DP_ACL_H */
