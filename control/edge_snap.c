/*
 * edge_snap.c - edge_snap_pick(): the edge's backend choice from the dataplane's published
 * snapshot, the same keyhash and Maglev table the workers use (issue 8 §4: "the same
 * health state"). Control plane, edge thread. The snapshot is read under dp_lock(), which
 * snap_publish() waits for, and only copied from: the lock is never held across a wait.
 */
#include <string.h>

#include "siphon/dp.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/snap.h"
#include "edge_snap.h"

int
edge_snap_pick(void *arg, const char *group, const uint8_t *key, size_t len, struct cfg_addr *addr,
               uint16_t *port)
{
	struct dp *dp = arg;
	char where[CFG_ADDR_STRLEN];
	int rc = -1;

	dp_lock(dp);
	const struct snap *s = dp_snap(dp);
	for (uint32_t g = 0; s != NULL && g < s->nb_groups; g++) {
		const struct snap_group *sg = &s->groups[g];
		if (strcmp(sg->name, group) != 0)
			continue;
		uint16_t i = sg->table != NULL
		                     ? maglev_lookup(sg->table, keyhash_calc(&s->kh, key, len))
		                     : MAGLEV_NONE;
		if (i != MAGLEV_NONE && i < sg->nb && sg->base + i < s->nb_backends) {
			/* info holds "address:port" as the configuration gave them */
			memcpy(where, s->info[sg->base + i].addr, sizeof(where));
			where[sizeof(where) - 1] = '\0';
			rc = 0;
		}
		break;
	}
	dp_unlock(dp);
	if (rc == 0 && (cfg_addr_parse(where, addr, port) != 0 || *port == 0))
		rc = -1;
	return rc;
}
