/* SPDX-License-Identifier: MIT */
/* Control-plane what-if checks (reference §3.5): would the parent, acting on what a provider
 * publishes now, break the delegation? C-3 (CDS/CDNSKEY as the DS set), C-4 (the CDS Signer
 * rule), C-7 (an apex NS set as the parent's NS set). */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

/* chain(CDNSKEY C, K, t): some zone key of C is in K and signs K validly at t */
static enum det_chain cdnskey_chain(struct det_ctx *d, const vers_t *C, const vers_t *K,
				    obs_usec_t t)
{
	size_t pos = 0, len;
	const uint8_t *it;
	while (vers_next(C->rdata, C->rdata_len, &pos, &it, &len, NULL)) {
		key_info_t ki;
		if (keys_parse_head(it, len, &ki) || !(ki.flags & KEY_F_ZONE) ||
		    (ki.flags & KEY_F_REVOKE))
			continue;
		size_t kp = 0, kl;
		const uint8_t *kit;
		while (vers_next(K->rdata, K->rdata_len, &kp, &kit, &kl, NULL)) {
			if (kl == len && memcmp(kit, it, len) == 0 &&
			    det_judge(d, K, K, t, kit, kl, NULL) == J_OK)
				return CH_SECURE;
		}
	}
	return CH_BOGUS;
}

/* Would the parent's DS set built from signalling version C (CDS or CDNSKEY) authenticate K? */
static bool signal_ok(struct det_ctx *d, const vers_t *C, const vers_t *K, obs_usec_t t)
{
	bool m;
	enum jres why;
	if (C->type == LDNS_RR_TYPE_CDNSKEY)
		return cdnskey_chain(d, C, K, t) == CH_SECURE;
	return det_chain_of(d, C, K, t, &m, &why) == CH_SECURE;
}

/* C-3 for signalling item c against provider p's DNSKEY RRsets: those served now (M0) and
 * those a resolver may still hold (M1: runs whose last poll is less than their TTL ago; the
 * last poll, not the next, so that a poll period of uncertainty never makes an ERROR) */
static void c3_provider(struct det_ctx *d, obs_usec_t t, const item_t *c, const char *p)
{
	const char *what = c->v->type == LDNS_RR_TYPE_CDNSKEY ? "CDNSKEY" : "CDS";
	const char *from = d->t[c->s->tgt].origin;
	for (size_t i = 0; i < d->sn; i++) {
		const struct ser *s = &d->s[i];
		const struct tgt *g = &d->t[s->tgt];
		if (s->cur == 0 || g->parent || strcmp(s->role, "dnskey") != 0 ||
		    strcmp(g->origin, p) != 0)
			continue;
		for (size_t k = 0; k < s->cur; k++) {
			const struct run *r = &s->runs[k];
			bool now = k == s->cur - 1;
			const vers_t *K = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
			if (K == NULL || K->kind != VK_ANSWER)
				continue;
			int64_t ttl = r->ttl > K->ttl_max_s ? r->ttl : K->ttl_max_s;
			obs_usec_t cached = r->next == INT64_MAX || ttl < 0
						? INT64_MAX
						: r->last + ttl * OBS_USEC_PER_SEC;
			if (!now && (r->next == INT64_MAX || cached <= t))
				continue;
			if (signal_ok(d, c->v, K, t))
				continue;
			item_t ki = {s, r, K};
			obs_usec_t lo, hi;
			if (now) {
				det_window(d, t, c, &ki, &lo, &hi);
			} else {
				det_window(d, t, c, NULL, &lo, &hi);
				if (cached < hi)
					hi = cached;
			}
			int64_t v[2] = {c->v->id, K->id};
			int64_t o[2] = {c->r->fobs, r->fobs};
			det_emit(
			    d, "C-3", SEV_ERROR, from, NULL, NULL, lo, hi, v, 2, o, 2,
			    "%s at provider %s (version %lld), if applied as the DS set, would "
			    "not authenticate provider %s's DNSKEY version %lld %s",
			    what, from, (long long)c->v->id, p, (long long)K->id,
			    now ? "(served now)" : "(still in caches: M1)");
		}
	}
}

/* C-4: the signalling RRset must validate through the current chain (RFC 7344 §4.1): signed by
 * a key of its provider's DNSKEY RRset that the served DS authenticates. The literal reading
 * (signed by a key the DS itself represents) is noted as INFO (reference §7 G-12). */
static void c4_item(struct det_ctx *d, obs_usec_t t, const item_t *c)
{
	const char *p = d->t[c->s->tgt].origin;
	const char *what = c->v->type == LDNS_RR_TYPE_CDNSKEY ? "CDNSKEY" : "CDS";
	item_t ds[DET_MAXI], ks[DET_MAXI];
	size_t dn = det_distinct(ds, det_served(d, "ds", NULL, ds, DET_MAXI));
	size_t kn = det_distinct(ks, det_served(d, "dnskey", p, ks, DET_MAXI));
	bool chain_ok = false, literal = false, any_ds = false;
	for (size_t i = 0; i < dn; i++) {
		const vers_t *D = ds[i].v;
		if (D == NULL || D->kind != VK_ANSWER)
			continue;
		any_ds = true;
		for (size_t k = 0; k < kn; k++) {
			const vers_t *K = ks[k].v;
			bool m;
			enum jres why;
			if (K == NULL || K->kind != VK_ANSWER ||
			    det_chain_of(d, D, K, t, &m, &why) != CH_SECURE ||
			    det_judge(d, K, c->v, t, NULL, 0, NULL) != J_OK)
				continue;
			chain_ok = true;
			/* literal: a key of K that some DS matches signs the signalling RRset */
			size_t kp = 0, kl;
			const uint8_t *kit;
			while (!literal &&
			       vers_next(K->rdata, K->rdata_len, &kp, &kit, &kl, NULL)) {
				size_t dp = 0, dl;
				const uint8_t *dit;
				bool rep = false;
				while (!rep &&
				       vers_next(D->rdata, D->rdata_len, &dp, &dit, &dl, NULL)) {
					ds_info_t dsi;
					rep = keys_ds_parse(dit, dl, &dsi) == OBS_EOK &&
					      keys_ds_matches(&dsi, d->zone, kit, kl);
				}
				literal = rep && det_judge(d, K, c->v, t, kit, kl, NULL) == J_OK;
			}
		}
	}
	if (!any_ds || literal)
		return; /* an unsigned delegation has no chain to judge by (V-5) */
	int64_t v[1] = {c->v->id};
	obs_usec_t lo, hi;
	det_window(d, t, c, NULL, &lo, &hi);
	if (!chain_ok)
		det_emit(d, "C-4", SEV_WARN, p, NULL, NULL, lo, hi, v, 1, &c->r->fobs, 1,
			 "%s at provider %s (version %lld) does not validate through the served DS "
			 "and the provider's DNSKEY RRset: the parent ignores it",
			 what, p, (long long)c->v->id);
	else
		det_emit(d, "C-4", SEV_INFO, p, NULL, NULL, lo, hi, v, 1, &c->r->fobs, 1,
			 "%s at provider %s (version %lld) validates through the chain but is not "
			 "signed by a key the DS set represents (literal RFC 7344 §4.1 reading; "
			 "reference §7 G-12)",
			 what, p, (long long)c->v->id);
}

/* C-7: the apex NS set of an NS-reachable provider, if the parent adopted it (CSYNC, or an
 * operator copying it), must not break the delegation: R-1a (every server it names lame), V-1
 * (a provider it names has no DNSKEY RRset the served DS authenticates), V-2 (the SOA of a
 * provider it names and the DNSKEY RRset of another provider it names or the delegation reaches
 * do not fit each other). NS names that map to no provider target cannot be judged. Under
 * NS reachability (nsr.h, ONESTEP) a provider the apex NS set names is already reachable, so
 * V-1b/V-2 report the same pairs; C-7 says that the parent update itself is unsafe. */
static void c7_item(struct det_ctx *d, obs_usec_t t, const item_t *a, const item_t *ref, size_t rn)
{
	for (size_t i = 0; i < rn; i++) {
		if (ref[i].v && vers_same_rdata(ref[i].v, a->v))
			return; /* the parent already has this set */
	}
	char names[32][256];
	size_t nn = det_ns_names(a->v, names, 32);
	const char *from = d->t[a->s->tgt].origin;
	char newp[16][64];
	size_t np = 0, servers = 0, lame = 0;
	for (size_t k = 0; k < nn; k++) {
		for (size_t j = 0; j < d->tn; j++) {
			const struct tgt *g = &d->t[j];
			if (g->parent || strcasecmp(g->host, names[k]) != 0)
				continue;
			obs_usec_t since;
			int64_t obs;
			servers++;
			lame += det_tgt_lame(g, &since, &obs);
			if (strcmp(g->origin, "?") == 0)
				continue;
			bool have = false;
			for (size_t q = 0; q < np; q++)
				have |= strcmp(newp[q], g->origin) == 0;
			if (!have && np < 16)
				snprintf(newp[np++], sizeof(newp[0]), "%s", g->origin);
		}
	}
	int64_t v[2] = {a->v->id, 0};
	obs_usec_t lo, hi;
	det_window(d, t, a, NULL, &lo, &hi);
	if (servers > 0 && lame == servers)
		det_emit(
		    d, "C-7", SEV_ERROR, from, NULL, NULL, lo, hi, v, 1, &a->r->fobs, 1,
		    "provider %s's apex NS set (version %lld), if the parent adopted it, would "
		    "name only lame servers (R-1a)",
		    from, (long long)a->v->id);
	item_t ds[DET_MAXI];
	size_t dn = det_distinct(ds, det_served(d, "ds", NULL, ds, DET_MAXI));
	for (size_t q = 0; q < np; q++) {
		item_t kq[DET_MAXI], sq[DET_MAXI];
		size_t kn = det_distinct(kq, det_served(d, "dnskey", newp[q], kq, DET_MAXI));
		size_t sn = det_distinct(sq, det_served(d, "soa", newp[q], sq, DET_MAXI));
		for (size_t k = 0; k < kn; k++) {
			const vers_t *K = kq[k].v;
			if (K == NULL || K->kind != VK_ANSWER)
				continue;
			bool secure = false, signed_parent = false;
			for (size_t i = 0; i < dn; i++) {
				bool m;
				enum jres why;
				if (ds[i].v == NULL || ds[i].v->kind != VK_ANSWER)
					continue;
				signed_parent = true;
				secure |= det_chain_of(d, ds[i].v, K, t, &m, &why) == CH_SECURE;
			}
			v[1] = K->id;
			if (signed_parent && !secure)
				det_emit(d, "C-7", SEV_ERROR, from, NULL, NULL, lo, hi, v, 2,
					 &a->r->fobs, 1,
					 "provider %s's apex NS set (version %lld), if the parent "
					 "adopted it, would delegate to provider %s whose DNSKEY "
					 "version %lld the served DS does not authenticate (V-1)",
					 from, (long long)a->v->id, newp[q], (long long)K->id);
		}
		/* V-2 both ways between the named provider and every provider the set or the
		 * current delegation reaches */
		for (size_t p = 0; p < d->pn; p++) {
			if (strcmp(d->prov[p], newp[q]) == 0)
				continue;
			bool named = det_reach(d, d->prov[p], t, NULL, NULL);
			for (size_t k = 0; k < nn && !named; k++) {
				for (size_t j = 0; j < d->tn; j++)
					named |= !d->t[j].parent &&
						 strcasecmp(d->t[j].host, names[k]) == 0 &&
						 strcmp(d->t[j].origin, d->prov[p]) == 0;
			}
			if (!named)
				continue;
			item_t kp[DET_MAXI], sp[DET_MAXI];
			size_t kpn =
			    det_distinct(kp, det_served(d, "dnskey", d->prov[p], kp, DET_MAXI));
			size_t spn =
			    det_distinct(sp, det_served(d, "soa", d->prov[p], sp, DET_MAXI));
			for (int dir = 0; dir < 2; dir++) {
				const item_t *K = dir ? kq : kp, *X = dir ? sp : sq;
				size_t kn2 = dir ? kn : kpn, xn = dir ? spn : sn;
				for (size_t k = 0; k < kn2; k++) {
					for (size_t x = 0; x < xn; x++) {
						if (K[k].v == NULL || K[k].v->kind != VK_ANSWER ||
						    X[x].v == NULL || X[x].v->rrsig_len == 0 ||
						    det_judge(d, K[k].v, X[x].v, t, NULL, 0,
							      NULL) != J_NOKEY)
							continue;
						int64_t v3[3] = {a->v->id, K[k].v->id, X[x].v->id};
						det_emit(d, "C-7", SEV_ERROR, from, NULL, NULL, lo,
							 hi, v3, 3, &a->r->fobs, 1,
							 "provider %s's apex NS set (version "
							 "%lld), if the "
							 "parent adopted it, would let resolvers "
							 "combine "
							 "provider %s's DNSKEY version %lld with "
							 "provider "
							 "%s's SOA version %lld, which it does not "
							 "authenticate (V-2)",
							 from, (long long)a->v->id,
							 d->t[K[k].s->tgt].origin,
							 (long long)K[k].v->id,
							 d->t[X[x].s->tgt].origin,
							 (long long)X[x].v->id);
					}
				}
			}
		}
	}
}

/* C-3, C-4 over the signalling RRsets of NS-reachable providers, C-7 over their apex NS sets */
void det_c_whatif(struct det_ctx *d, obs_usec_t t)
{
	static const char *const roles[] = {"cds", "cdnskey"};
	for (int r = 0; r < 2; r++) {
		item_t x[DET_MAXI];
		size_t xn = det_distinct(
		    x, det_reachable(d, t, x, det_served(d, roles[r], "", x, DET_MAXI)));
		for (size_t i = 0; i < xn; i++) {
			bool only;
			if (x[i].v == NULL || x[i].v->kind != VK_ANSWER)
				continue;
			if (x[i].v->rrsig_len > 0)
				c4_item(d, t, &x[i]);
			if (det_cds_has_delete(x[i].v, &only))
				continue; /* going insecure: C-5, V-5 */
			for (size_t p = 0; p < d->pn; p++) {
				if (det_reach(d, d->prov[p], t, NULL, NULL))
					c3_provider(d, t, &x[i], d->prov[p]);
			}
		}
	}
	item_t ref[DET_MAXI], a[DET_MAXI];
	size_t rn = det_distinct(ref, det_served(d, "referral", NULL, ref, DET_MAXI));
	size_t an = det_distinct(a, det_reachable(d, t, a, det_served(d, "ns", "", a, DET_MAXI)));
	for (size_t i = 0; i < an && rn > 0; i++) {
		if (a[i].v && a[i].v->kind == VK_ANSWER)
			c7_item(d, t, &a[i], ref, rn);
	}
}
