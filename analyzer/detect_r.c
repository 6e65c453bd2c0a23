/* SPDX-License-Identifier: MIT */
/* Detectors of loss of resolution and delegation problems (reference §3.2). */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

void det_r_lame(struct det_ctx *d, obs_usec_t t)
{
	item_t ref[DET_MAXI];
	size_t rn = det_distinct(ref, det_served(d, "referral", NULL, ref, DET_MAXI));
	char names[64][256];
	size_t parent_n = 0;
	for (size_t i = 0; i < rn; i++)
		parent_n += det_ns_names(ref[i].v, names + parent_n, 64 - parent_n);
	size_t parent_servers = 0, parent_lame = 0;
	obs_usec_t plo = INT64_MIN;
	for (size_t i = 0; i < d->tn; i++) {
		const struct tgt *g = &d->t[i];
		if (g->parent)
			continue;
		bool by_parent = false;
		for (size_t k = 0; k < parent_n; k++)
			by_parent |= strcasecmp(names[k], g->host) == 0;
		obs_usec_t since = 0;
		int64_t obs = 0;
		bool lame = det_tgt_lame(g, &since, &obs);
		if (by_parent) {
			parent_servers++;
			parent_lame += lame;
			if (lame && since > plo)
				plo = since;
		}
		/* R-1 holds at t in NSR(p) & lame(s) (reference §5.3): a server no resolver can
		 * reach is not lame for anyone */
		obs_usec_t lo = since, hi = INT64_MAX;
		if (lame && det_reach(d, g->origin, t, &lo, &hi))
			det_emit(
			    d, "R-1p", SEV_WARN, g->origin, g->address, NULL, lo, hi, NULL, 0, &obs,
			    1,
			    "server %s (%s) of provider %s is NS-reachable (named by an NS set "
			    "resolvers may hold) but does not answer authoritatively",
			    g->address, g->host, g->origin);
	}
	if (parent_servers > 0 && parent_lame == parent_servers)
		det_emit(d, "R-1a", SEV_CRITICAL, NULL, NULL, NULL, plo, INT64_MAX, NULL, 0, NULL,
			 0, "every server of the parent's NS set is lame");
}

void det_r_nsdiff(struct det_ctx *d, obs_usec_t t)
{
	item_t ref[DET_MAXI], apex[DET_MAXI];
	size_t rn = det_distinct(ref, det_served(d, "referral", NULL, ref, DET_MAXI));
	/* an apex NS set no resolver can fetch widens nothing (reference §3.2 R-2, §5.3) */
	size_t an =
	    det_distinct(apex, det_reachable(d, t, apex, det_served(d, "ns", "", apex, DET_MAXI)));
	for (size_t i = 0; i < rn; i++) {
		for (size_t k = 0; k < an; k++) {
			if (ref[i].v == NULL || apex[k].v == NULL ||
			    vers_same_rdata(ref[i].v, apex[k].v))
				continue;
			int64_t v[2] = {ref[i].r->vid, apex[k].r->vid};
			const char *q = d->t[apex[k].s->tgt].origin;
			obs_usec_t lo, hi;
			det_window(d, t, &ref[i], &apex[k], &lo, &hi);
			det_emit(
			    d, "R-2", SEV_INFO, q, NULL, NULL, lo, hi, v, 2, NULL, 0,
			    "the parent's NS set (version %lld) differs from provider %s's apex NS "
			    "set (version %lld)",
			    (long long)ref[i].r->vid, q, (long long)apex[k].r->vid);
		}
	}
}

void det_r_content(struct det_ctx *d, obs_usec_t t)
{
	item_t x[DET_MAXI];
	size_t xn = det_reachable(d, t, x, det_served(d, "canary", "", x, DET_MAXI));
	char ts[24];
	for (size_t i = 0; i < xn; i++) {
		for (size_t k = i + 1; k < xn; k++) {
			const struct tgt *a = &d->t[x[i].s->tgt], *b = &d->t[x[k].s->tgt];
			if (strcmp(a->origin, b->origin) >= 0 ||
			    strcmp(x[i].s->qname, x[k].s->qname) || x[i].s->qtype != x[k].s->qtype)
				continue;
			bool same = x[i].v && x[k].v ? x[i].v->kind == x[k].v->kind &&
							   (x[i].v->kind != VK_ANSWER ||
							    vers_same_rdata(x[i].v, x[k].v))
						     : x[i].v == x[k].v;
			if (same)
				continue;
			det_typestr(x[i].s->qtype, ts, sizeof(ts));
			int64_t v[2] = {x[i].r->vid, x[k].r->vid};
			obs_usec_t lo, hi;
			det_window(d, t, &x[i], &x[k], &lo, &hi);
			det_emit(d, "R-3", SEV_WARN, NULL, NULL, NULL, lo, hi, v, 2, NULL, 0,
				 "providers %s and %s serve different content for %s %s", a->origin,
				 b->origin, x[i].s->qname, ts);
		}
	}
}
