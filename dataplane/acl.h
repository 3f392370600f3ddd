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
 * Fill a with the LPM tables of cv's prefixes (rte_lpm / rte_lpm6 on socket, each prefix
 * with its tier as next hop). Main lcore; allocates. @return 0, or -1 with one line in
 * err (a is then left for acl_free()).
 */
int acl_build(struct snap_acl *a, const struct cfg_vip *cv, int socket, char *err, size_t errlen);

/** Free a's tables; a zeroed struct is a no-op. */
void acl_free(struct snap_acl *a);

#endif /* SIPHON_DP_ACL_H */
