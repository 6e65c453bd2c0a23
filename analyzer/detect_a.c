/* SPDX-License-Identifier: MIT */
/* Detectors of algorithm problems (reference §3.6). */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

void det_a_sets(struct det_ctx *d, obs_usec_t t)
{
	uint32_t m[16] = {0};
	item_t ref[16];
	size_t pi[16], rn = 0;
	for (size_t p = 0; p < d->pn; p++) {
		if (!det_reach(d, d->prov[p], t, NULL, NULL))
			continue;
		item_t x[DET_MAXI];
		size_t xn = det_served(d, "soa", d->prov[p], x, DET_MAXI);
		if (xn == 0)
			continue;
		for (size_t i = 0; i < xn; i++)
			m[rn] |= det_algs_of(x[i].v);
		pi[rn] = p;
		ref[rn++] = x[0];
	}
	for (size_t p = 1; p < rn; p++) {
		if (m[p] == m[0] || m[p] == 0 || m[0] == 0)
			continue;
		obs_usec_t lo, hi;
		det_window(d, t, &ref[0], &ref[p], &lo, &hi);
		int64_t v[2] = {ref[0].r->vid, ref[p].r->vid};
		det_emit(
		    d, "A-1", SEV_WARN, d->prov[pi[p]], NULL, NULL, lo, hi, v, 2, NULL, 0,
		    "providers %s and %s sign with different algorithm sets (mask 0x%x vs 0x%x)",
		    d->prov[pi[0]], d->prov[pi[p]], m[0], m[p]);
	}
}
