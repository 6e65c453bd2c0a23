/* SPDX-License-Identifier: MIT */
/* Detectors of the control plane (reference §3.5), consistency and staleness: C-1, C-2, C-5,
 * C-6, C-8. The what-if checks (C-3, C-4, C-7) are in detect_cw.c. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

/* C-1, C-2, C-5, C-6 over the servers of NS-reachable providers (the parental agent, like any
 * resolver, reaches only those) */
void det_c_signal(struct det_ctx *d, obs_usec_t t)
{
	static const char *const roles[] = {"cds", "cdnskey"};
	for (int r = 0; r < 2; r++) {
		item_t x[DET_MAXI];
		size_t xn = det_reachable(d, t, x, det_served(d, roles[r], "", x, DET_MAXI));
		size_t with = 0, dels = 0;
		for (size_t i = 0; i < xn; i++) {
			const vers_t *X = x[i].v;
			bool has = X && X->kind == VK_ANSWER;
			with += has;
			bool only = false;
			if (has && det_cds_has_delete(X, &only)) {
				dels++;
				if (!only) {
					int64_t v[1] = {X->id};
					obs_usec_t lo, hi;
					det_window(d, t, &x[i], NULL, &lo, &hi);
					det_emit(d, "C-5", SEV_ERROR, d->t[x[i].s->tgt].origin,
						 d->t[x[i].s->tgt].address, NULL, lo, hi, v, 1,
						 &x[i].r->fobs, 1,
						 "%s DELETE published together with other records",
						 r ? "CDNSKEY" : "CDS");
				}
			}
		}
		if (dels > 0 && dels < xn) {
			obs_usec_t lo, hi;
			det_window(d, t, &x[0], NULL, &lo, &hi);
			det_emit(d, "C-5", SEV_ERROR, NULL, NULL, NULL, lo, hi, NULL, 0, NULL, 0,
				 "only some servers publish a %s DELETE", r ? "CDNSKEY" : "CDS");
		}
		if (with == 0)
			continue;
		for (size_t i = 1; i < xn; i++) {
			bool a = x[0].v && x[0].v->kind == VK_ANSWER;
			bool b = x[i].v && x[i].v->kind == VK_ANSWER;
			if (a == b && (!a || vers_same_rdata(x[0].v, x[i].v)))
				continue;
			int64_t v[2] = {x[0].r->vid, x[i].r->vid};
			obs_usec_t lo, hi;
			det_window(d, t, &x[0], &x[i], &lo, &hi);
			det_emit(d, "C-2", SEV_WARN, d->t[x[i].s->tgt].origin,
				 d->t[x[i].s->tgt].address, NULL, lo, hi, v, 2, NULL, 0,
				 "%s at %s (%s) differs from %s at %s (%s)", r ? "CDNSKEY" : "CDS",
				 d->t[x[i].s->tgt].address, d->t[x[i].s->tgt].origin,
				 r ? "CDNSKEY" : "CDS", d->t[x[0].s->tgt].address,
				 d->t[x[0].s->tgt].origin);
		}
	}
	/* C-1: CDS and CDNSKEY of one server must match in content */
	item_t c[DET_MAXI], k[DET_MAXI];
	size_t cn = det_reachable(d, t, c, det_served(d, "cds", "", c, DET_MAXI));
	size_t kn = det_reachable(d, t, k, det_served(d, "cdnskey", "", k, DET_MAXI));
	for (size_t i = 0; i < cn; i++) {
		for (size_t j = 0; j < kn; j++) {
			if (c[i].s->tgt != k[j].s->tgt || !c[i].v || !k[j].v ||
			    c[i].v->kind != VK_ANSWER || k[j].v->kind != VK_ANSWER)
				continue;
			bool o1, o2;
			if (det_cds_has_delete(c[i].v, &o1) && det_cds_has_delete(k[j].v, &o2))
				continue;
			bool ok = true;
			size_t p = 0, l;
			const uint8_t *it;
			while (ok &&
			       vers_next(c[i].v->rdata, c[i].v->rdata_len, &p, &it, &l, NULL)) {
				ds_info_t ds;
				bool m = false;
				if (keys_ds_parse(it, l, &ds) == OBS_EOK) {
					size_t q = 0, kl;
					const uint8_t *kit;
					while (!m && vers_next(k[j].v->rdata, k[j].v->rdata_len, &q,
							       &kit, &kl, NULL))
						m = keys_ds_matches(&ds, d->zone, kit, kl);
				}
				ok = m;
			}
			p = 0;
			while (ok &&
			       vers_next(k[j].v->rdata, k[j].v->rdata_len, &p, &it, &l, NULL)) {
				bool m = false;
				size_t q = 0, dl;
				const uint8_t *dit;
				while (!m && vers_next(c[i].v->rdata, c[i].v->rdata_len, &q, &dit,
						       &dl, NULL)) {
					ds_info_t ds;
					m = keys_ds_parse(dit, dl, &ds) == OBS_EOK &&
					    keys_ds_matches(&ds, d->zone, it, l);
				}
				ok = m;
			}
			if (ok)
				continue;
			const struct tgt *g = &d->t[c[i].s->tgt];
			int64_t v[2] = {c[i].r->vid, k[j].r->vid};
			obs_usec_t lo, hi;
			det_window(d, t, &c[i], &k[j], &lo, &hi);
			det_emit(d, "C-1", SEV_WARN, g->origin, g->address, NULL, lo, hi, v, 2,
				 NULL, 0, "CDS and CDNSKEY differ in content at %s", g->address);
		}
	}
	/* C-6: CSYNC flags and type bitmap must agree among the servers that return one */
	item_t y[DET_MAXI];
	size_t yn = det_reachable(d, t, y, det_served(d, "csync", "", y, DET_MAXI));
	const item_t *first = NULL;
	for (size_t i = 0; i < yn; i++) {
		const vers_t *Y = y[i].v;
		if (Y == NULL || Y->kind != VK_ANSWER || Y->rdata_len < 8)
			continue;
		if (first == NULL) {
			first = &y[i];
			continue;
		}
		const vers_t *F = first->v;
		/* item: 2-byte length, serial (4), then flags and bitmap */
		if (F->rdata_len == Y->rdata_len &&
		    memcmp(F->rdata + 6, Y->rdata + 6, F->rdata_len - 6) == 0)
			continue;
		const struct tgt *g = &d->t[y[i].s->tgt];
		int64_t v[2] = {F->id, Y->id};
		obs_usec_t lo, hi;
		det_window(d, t, &y[i], first, &lo, &hi);
		det_emit(d, "C-6", SEV_WARN, g->origin, g->address, NULL, lo, hi, v, 2, NULL, 0,
			 "CSYNC flags or type bitmap at %s differ from %s", g->address,
			 d->t[first->s->tgt].address);
	}
}

/* Does signalling version C say exactly what DS version D holds? */
static bool signal_equals_ds(struct det_ctx *d, const vers_t *C, const vers_t *D)
{
	if (C->type == LDNS_RR_TYPE_CDS)
		return C->rdata_len == D->rdata_len &&
		       memcmp(C->rdata, D->rdata, C->rdata_len) == 0;
	/* CDNSKEY: every key matched by a DS, every DS matching a key */
	size_t dp = 0, dl, cp, cl;
	const uint8_t *dit, *cit;
	while (vers_next(D->rdata, D->rdata_len, &dp, &dit, &dl, NULL)) {
		ds_info_t dsi;
		bool m = false;
		if (keys_ds_parse(dit, dl, &dsi))
			return false;
		for (cp = 0; !m && vers_next(C->rdata, C->rdata_len, &cp, &cit, &cl, NULL);)
			m = keys_ds_matches(&dsi, d->zone, cit, cl);
		if (!m)
			return false;
	}
	for (cp = 0; vers_next(C->rdata, C->rdata_len, &cp, &cit, &cl, NULL);) {
		bool m = false;
		for (dp = 0; !m && vers_next(D->rdata, D->rdata_len, &dp, &dit, &dl, NULL);) {
			ds_info_t dsi;
			m = keys_ds_parse(dit, dl, &dsi) == OBS_EOK &&
			    keys_ds_matches(&dsi, d->zone, cit, cl);
		}
		if (!m)
			return false;
	}
	return true;
}

/* C-8: signalling records left published once the parent is in sync (INFO: allowed), or a
 * CDS/CDNSKEY published since before the parent's current DS set and still differing from it
 * (WARN: the parent moved on without it, and may re-apply it later). */
void det_c_stale(struct det_ctx *d, obs_usec_t t)
{
	static const char *const roles[] = {"cds", "cdnskey"};
	item_t ds[DET_MAXI];
	size_t dn = det_distinct(ds, det_served(d, "ds", NULL, ds, DET_MAXI));
	for (int r = 0; r < 2; r++) {
		item_t x[DET_MAXI];
		size_t xn = det_distinct(
		    x, det_reachable(d, t, x, det_served(d, roles[r], "", x, DET_MAXI)));
		for (size_t i = 0; i < xn; i++) {
			bool only;
			if (x[i].v == NULL || x[i].v->kind != VK_ANSWER ||
			    det_cds_has_delete(x[i].v, &only))
				continue;
			const char *p = d->t[x[i].s->tgt].origin;
			for (size_t k = 0; k < dn; k++) {
				if (ds[k].v == NULL || ds[k].v->kind != VK_ANSWER)
					continue;
				bool same = signal_equals_ds(d, x[i].v, ds[k].v);
				if (!same && x[i].r->first >= ds[k].r->first)
					continue; /* a pending change: the parent has not acted yet
						   */
				int64_t v[2] = {x[i].v->id, ds[k].v->id};
				obs_usec_t lo, hi;
				det_window(d, t, &x[i], &ds[k], &lo, &hi);
				det_emit(
				    d, "C-8", same ? SEV_INFO : SEV_WARN, p, NULL, NULL, lo, hi, v,
				    2, &x[i].r->fobs, 1,
				    same ? "%s at provider %s (version %lld) still published "
					   "though the parent's DS (version %lld) matches it "
					   "(allowed: RFC 7344 §5)"
					 : "%s at provider %s (version %lld) was published before "
					   "the parent's current DS (version %lld) and differs "
					   "from it: stale, a parent may re-apply it",
				    roles[r][1] == 'd' ? "CDNSKEY" : "CDS", p,
				    (long long)x[i].v->id, (long long)ds[k].v->id);
			}
		}
	}
	/* CSYNC kept while the parent's NS set already equals the provider's apex NS set */
	item_t y[DET_MAXI], ref[DET_MAXI], a[DET_MAXI];
	size_t yn =
	    det_distinct(y, det_reachable(d, t, y, det_served(d, "csync", "", y, DET_MAXI)));
	size_t rn = det_distinct(ref, det_served(d, "referral", NULL, ref, DET_MAXI));
	for (size_t i = 0; i < yn; i++) {
		if (y[i].v == NULL || y[i].v->kind != VK_ANSWER)
			continue;
		const char *p = d->t[y[i].s->tgt].origin;
		size_t an = det_distinct(a, det_served(d, "ns", p, a, DET_MAXI));
		for (size_t k = 0; k < an; k++) {
			for (size_t j = 0; j < rn; j++) {
				if (a[k].v == NULL || ref[j].v == NULL ||
				    !vers_same_rdata(a[k].v, ref[j].v))
					continue;
				int64_t v[2] = {y[i].v->id, ref[j].v->id};
				obs_usec_t lo, hi;
				det_window(d, t, &y[i], &ref[j], &lo, &hi);
				det_emit(
				    d, "C-8", SEV_INFO, p, NULL, NULL, lo, hi, v, 2, &y[i].r->fobs,
				    1,
				    "CSYNC at provider %s (version %lld) still published though "
				    "the parent's NS set (version %lld) already matches the apex "
				    "NS set (allowed: RFC 7477 §4.5)",
				    p, (long long)y[i].v->id, (long long)ref[j].v->id);
			}
		}
	}
}
