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

static const char *const strict_roles[] = {"dnskey", "soa",     "ns",    "canary",
					   "cds",    "cdnskey", "csync", "nx"};

/* A-3 (STRICT profile): a DNSKEY RRset a resolver holds signals an algorithm that some RRset it
 * combines with it (its own provider's, or another NS-reachable provider's) carries no RRSIG
 * of. Conservative validators (RFC 6781 §4.1.4) fail such RRsets; RFC 6840 §5.11 forbids
 * insisting, so WARN. */
void det_a_strict(struct det_ctx *d, obs_usec_t t)
{
	char ts[24];
	for (size_t p = 0; p < d->pn; p++) {
		if (!det_reach(d, d->prov[p], t, NULL, NULL))
			continue;
		item_t kp[DET_MAXI];
		size_t kn = det_distinct(kp, det_served(d, "dnskey", d->prov[p], kp, DET_MAXI));
		for (size_t k = 0; k < kn; k++) {
			const vers_t *K = kp[k].v;
			if (K == NULL || K->kind != VK_ANSWER)
				continue;
			uint32_t ka = det_key_algs(K);
			for (size_t r = 0; r < sizeof(strict_roles) / sizeof(strict_roles[0]);
			     r++) {
				item_t x[DET_MAXI];
				size_t xn = det_distinct(
				    x,
				    det_reachable(d, t, x,
						  det_served(d, strict_roles[r], "", x, DET_MAXI)));
				for (size_t i = 0; i < xn; i++) {
					const vers_t *X = x[i].v;
					if (X == NULL || X->rrsig_len == 0)
						continue;
					const char *q = d->t[x[i].s->tgt].origin;
					if (r == 0 && strcmp(q, d->prov[p]) != 0)
						continue; /* a DNSKEY RRset is judged against itself
							   */
					uint32_t miss = ka & ~det_algs_of(X);
					if (miss == 0)
						continue;
					det_typestr(X->type, ts, sizeof(ts));
					int64_t v[2] = {K->id, X->id};
					int64_t o[2] = {kp[k].r->fobs, x[i].r->fobs};
					obs_usec_t lo, hi;
					det_window(d, t, &kp[k], &x[i], &lo, &hi);
					det_emit(
					    d, "A-3", SEV_WARN, q, NULL, NULL, lo, hi, v, 2, o, 2,
					    "provider %s's DNSKEY RRset (version %lld) signals "
					    "algorithms (mask 0x%x) that %s %s from provider %s "
					    "(version %lld) has no RRSIG of (mask 0x%x): bogus "
					    "for validators that insist on every algorithm",
					    d->prov[p], (long long)K->id, ka, X->owner, ts, q,
					    (long long)X->id, miss);
				}
			}
		}
	}
}

/* a validating vantage that says it does not support the zone's algorithm or digest
 * (EDE 1 or 2), or answers without AD for the zone's data while the parent serves a DS set
 * (it treats the zone as insecure: RFC 6840 §5.2). Vantages og_run found non-validating (O-3)
 * or broken (O-1) are left out. The polls are det_o_polls' (CD=0 canary, soa, dnskey and nx
 * series). */
int det_a_vantage(struct det_ctx *d, const struct rpolls *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct rpoll *r = &p->p[i];
		if ((r->bits & (RP_A5_EDE1 | RP_A5_EDE2 | RP_A5_NOAD)) == 0)
			continue;
		const char *van = p->van[r->van];
		obs_usec_t t = r->t;
		int64_t o = r->id;
		if (det_vantage_excluded(d, van))
			continue;
		bool e1 = (r->bits & RP_A5_EDE1) != 0, e2 = (r->bits & RP_A5_EDE2) != 0;
		if (e1 || e2)
			det_emit(
			    d, "A-5", SEV_INFO, NULL, NULL, van, t, t + 1, NULL, 0, &o, 1,
			    "vantage reports EDE %s (unsupported DNSKEY algorithm or DS digest "
			    "type): it treats the zone as insecure",
			    e1 && e2 ? "1 and 2"
			    : e1     ? "1"
				     : "2");
		else if ((r->bits & RP_A5_NOAD) != 0 && det_ds_served_at(d, t))
			det_emit(
			    d, "A-5", SEV_INFO, NULL, NULL, van, t, t + 1, NULL, 0, &o, 1,
			    "validating vantage answers without AD while the parent serves a DS "
			    "set: an unsupported algorithm or digest makes the zone insecure "
			    "for it");
	}
	return OBS_EOK;
}

/* ---- order of an algorithm rollover (RFC 6781 §4.1.4), from the served histories ---- */

enum a4_mask { A4_KEYS, A4_SIGS, A4_DS };

static uint32_t a4_algs(struct det_ctx *d, const struct run *r, enum a4_mask m)
{
	const vers_t *v = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
	if (v == NULL || v->kind != VK_ANSWER)
		return 0;
	uint32_t x = 0;
	if (m == A4_KEYS) {
		x = det_key_algs(v);
	} else if (m == A4_SIGS) {
		x = det_algs_of(v);
	} else {
		size_t pos = 0, len;
		const uint8_t *it;
		while (vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
			ds_info_t ds;
			if (keys_ds_parse(it, len, &ds) == OBS_EOK && ds.alg < 32)
				x |= 1u << ds.alg;
		}
	}
	return x;
}

static bool a4_has(struct det_ctx *d, const struct run *r, enum a4_mask m, int a)
{
	return (a4_algs(d, r, m) >> a) & 1u;
}

static int64_t a4_ttl(struct det_ctx *d, const struct run *r)
{
	const vers_t *v = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
	return v && v->ttl_max_s > r->ttl ? v->ttl_max_s : r->ttl;
}

/* index of the last run of s that started at or before t, or -1 */
static long a4_at(const struct ser *s, obs_usec_t t)
{
	long k = -1;
	for (size_t i = 0; i < s->n && s->runs[i].first <= t; i++)
		k = (long)i;
	return k;
}

/* the latest instant a cache may still hold a version of run r: its last poll + its TTL */
static obs_usec_t a4_drain(struct det_ctx *d, const struct run *r)
{
	if (r->next == INT64_MAX)
		return INT64_MAX;
	int64_t ttl = a4_ttl(d, r);
	return r->last + (ttl > 0 ? ttl : 0) * OBS_USEC_PER_SEC;
}

/* When could caches hold only algorithm-a versions of series s, as seen at t? The stretch of
 * runs with a that answers at t (or, when the run at t lacks a, the next one) replaced runs
 * without a; *due: when the last of those drained (INT64_MAX: no stretch with a yet). False
 * when s has no run at t, or nothing without a before the stretch (nothing replaced). */
static bool a4_since(struct det_ctx *d, const struct ser *s, obs_usec_t t, enum a4_mask m, int a,
		     obs_usec_t *due, const struct run **run)
{
	long k = a4_at(s, t);
	if (k < 0)
		return false;
	long f = k;
	if (a4_has(d, &s->runs[k], m, a)) {
		while (f > 0 && a4_has(d, &s->runs[f - 1], m, a))
			f--;
	} else {
		f = k + 1;
		while (f < (long)s->n && !a4_has(d, &s->runs[f], m, a))
			f++;
	}
	*due = INT64_MIN;
	for (long b = f - 1; b >= 0 && !a4_has(d, &s->runs[b], m, a); b--) {
		obs_usec_t x = a4_drain(d, &s->runs[b]);
		if (x > *due)
			*due = x;
	}
	if (f >= (long)s->n)
		*due = INT64_MAX; /* never with a up to `at` */
	*run = &s->runs[f < (long)s->n ? f : k];
	return *due != INT64_MIN;
}

/* When did caches drop the algorithm-a listing of series s that answers at t (or the last one
 * before t)? *due: the last poll of each of its runs + its TTL, the latest (INT64_MAX while
 * served). False when s never had a up to t. */
static bool a4_until(struct det_ctx *d, const struct ser *s, obs_usec_t t, enum a4_mask m, int a,
		     obs_usec_t *due, const struct run **run)
{
	long k = a4_at(s, t);
	while (k >= 0 && !a4_has(d, &s->runs[k], m, a))
		k--;
	if (k < 0)
		return false;
	long f = k, l = k;
	while (f > 0 && a4_has(d, &s->runs[f - 1], m, a))
		f--;
	while (l + 1 < (long)s->n && a4_has(d, &s->runs[l + 1], m, a))
		l++;
	*due = INT64_MIN;
	for (long b = f; b <= l; b++) {
		obs_usec_t x = a4_drain(d, &s->runs[b]);
		if (x > *due)
			*due = x;
	}
	*run = &s->runs[l];
	return true;
}

static void a4_emit(struct det_ctx *d, const char *p, obs_usec_t t, obs_usec_t due,
		    const struct run *r1, const struct run *r2, const char *what)
{
	if (due <= t + OBS_USEC_PER_SEC || !det_reach(d, p, t, NULL, NULL))
		return; /* within a poll period, or no resolver reaches p */
	int64_t v[2] = {r1 ? r1->vid : 0, r2 ? r2->vid : 0};
	int64_t o[2] = {r1 ? r1->fobs : 0, r2 ? r2->fobs : 0};
	char when[64];
	if (due == INT64_MAX)
		snprintf(when, sizeof(when), "while those are still served");
	else
		snprintf(when, sizeof(when), "%lld s before those could have left caches",
			 (long long)((due - t + OBS_USEC_PER_SEC - 1) / OBS_USEC_PER_SEC));
	det_emit(d, "A-4", SEV_WARN, p, NULL, NULL, t, due, v, 2, o, 2,
		 "provider %s: %s, %s (RFC 6781 §4.1.4; conservative validators fail in between)",
		 p, what, when);
}

static bool a4_is(const struct det_ctx *d, const struct ser *s, const char *role, const char *p)
{
	const struct tgt *g = &d->t[s->tgt];
	return strcmp(s->role, role) == 0 && !g->parent && strcmp(g->origin, p) == 0;
}

/* A-4, the three orders of RFC 6781 §4.1.4, at every change of a served RRset, per algorithm:
 *  (a) provider p's DNSKEY RRset starts listing algorithm a before p's data (its SOA) signed
 *      with a could be in every cache: the signed stretch's start + the TTL of what it replaced;
 *  (b) the parent's DS set starts holding algorithm a before the DNSKEY RRset of an NS-reachable
 *      provider p signed with a could be in every cache;
 *  (c) p's SOA stops carrying algorithm-a signatures before the DNSKEY RRsets of the providers
 *      reachable then that list a have left caches (their last poll + TTL).
 * The event is taken at its first poll, the condition at its earliest, so one poll period of
 * uncertainty never makes a finding. WARN: the glitch is the STRICT one; V-1 and V-2
 * report what breaks for every validator. */
void det_a_order(struct det_ctx *d)
{
	char what[160];
	for (size_t i = 0; i < d->sn; i++) {
		const struct ser *e = &d->s[i];
		const struct tgt *g = &d->t[e->tgt];
		bool ds = g->parent && strcmp(e->role, "ds") == 0;
		bool key = !g->parent && strcmp(e->role, "dnskey") == 0;
		bool soa = !g->parent && strcmp(e->role, "soa") == 0;
		if (!ds && !key && !soa)
			continue;
		enum a4_mask m = ds ? A4_DS : key ? A4_KEYS : A4_SIGS;
		for (size_t k = 1; k < e->n; k++) {
			const struct run *r = &e->runs[k], *pr = &e->runs[k - 1];
			uint32_t mn = a4_algs(d, r, m), mb = a4_algs(d, pr, m);
			for (int a = 1; a < 32 && mn != mb; a++) {
				bool now = (mn >> a) & 1u, before = (mb >> a) & 1u;
				if (now == before || (soa && now) || (!soa && !now))
					continue;
				for (size_t j = 0; j < d->sn; j++) {
					const struct ser *c = &d->s[j];
					obs_usec_t x;
					const struct run *cr = NULL;
					if (key && a4_is(d, c, "soa", g->origin) &&
					    a4_since(d, c, r->first, A4_SIGS, a, &x, &cr)) {
						snprintf(
						    what, sizeof(what),
						    "a DNSKEY of algorithm %d was published before "
						    "the data signed with it had propagated",
						    a);
						a4_emit(d, g->origin, r->first, x, r, cr, what);
					}
					if (ds && !d->t[c->tgt].parent &&
					    strcmp(c->role, "dnskey") == 0 &&
					    det_reach(d, d->t[c->tgt].origin, r->first, NULL,
						      NULL) &&
					    a4_since(d, c, r->first, A4_SIGS, a, &x, &cr)) {
						snprintf(
						    what, sizeof(what),
						    "the parent published a DS of algorithm %d "
						    "before this provider's DNSKEY RRset signed "
						    "with it had propagated",
						    a);
						a4_emit(d, d->t[c->tgt].origin, r->first, x, r, cr,
							what);
					}
					if (soa && !d->t[c->tgt].parent &&
					    strcmp(c->role, "dnskey") == 0 &&
					    det_reach(d, d->t[c->tgt].origin, r->first, NULL,
						      NULL) &&
					    a4_until(d, c, r->first, A4_KEYS, a, &x, &cr)) {
						snprintf(
						    what, sizeof(what),
						    "the signatures of algorithm %d were removed "
						    "before the DNSKEY RRsets listing it (provider "
						    "%s's) had left caches",
						    a, d->t[c->tgt].origin);
						a4_emit(d, g->origin, r->first, x, r, cr, what);
					}
				}
			}
		}
	}
}
