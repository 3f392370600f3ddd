/*
 * edge_snap.c - edge_snap_pick(): the edge's backend choice from the dataplane's published
 * snapshot, the same keyhash and Maglev table the workers use (issue 8 §4: "the same
 * health state"), and while a change's transition window is open the workers' rule for
 * in-dialog requests and their affinity records (dp_window_slot()): a call through the
 * edge is not split by a drain either. Control plane, edge thread. The snapshot is read under
 * dp_lock(), which snap_publish() waits for, and only copied from: the lock is never held across a
 * wait.
 */
#include <string.h>

#include "siphon/dp.h"
#include "siphon/keyhash.h"
#include "siphon/maglev.h"
#include "siphon/snap.h"
#include "edge_snap.h"

int
edge_snap_pick(void *arg, const char *group, const uint8_t *key, size_t len, unsigned how,
               struct cfg_addr *addr, uint16_t *port)
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
		uint64_t h = keyhash_calc(&s->kh, key, len);
		uint16_t i = sg->table != NULL ? maglev_lookup(sg->table, h) : MAGLEV_NONE;
		enum dp_window_how wh;

		/* A transition window: the workers' rule, their affinity records shared. */
		if (sg->prev != NULL)
			i = dp_window_slot(dp, s, sg, h, i, how & EDGE_PICK_FRESH,
			                   how & EDGE_PICK_DIALOG, &wh);
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
