/* SPDX-License-Identifier: MIT */
/* Detectors of loss of validation (reference §3.1): V-1, V-2, V-3, V-4, V-5, with A-2 and T-4
 * found on the way. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

/* V-1, V-5, A-2 over the DNSKEY RRsets of NS-reachable providers. A provider no resolver can
 * reach gets its chain break reported as INFO (a readiness fact before it is delegated). */
void det_v_chain(struct det_ctx *d, obs_usec_t t)
{
	item_t ds[DET_MAXI], ks[DET_MAXI];
	size_t dn = det_distinct(ds, det_served(d, "ds", NULL, ds, DET_MAXI));
	size_t kn_all =
	    det_distinct(ks, det_reachable(d, t, ks, det_served(d, "dnskey", "", ks, DET_MAXI)));
	if (dn == 0 || kn_all == 0)
		return;
	for (size_t i = 0; i < dn; i++) {
		const vers_t *D = ds[i].v;
		bool insecure_any = D == NULL || D->kind != VK_ANSWER;
		size_t fails = 0, total = 0;
		bool m;
		enum jres why;
		if (!insecure_any && det_chain_of(d, D, NULL, t, &m, &why) == CH_INSECURE)
			insecure_any = true;
		if (insecure_any) {
			int64_t v[2] = {ds[i].r->vid, ks[0].r->vid};
			det_emit(d, "V-5", SEV_WARN, NULL, d->t[ds[i].s->tgt].address, NULL,
				 det_item_lo(&ds[i]), det_item_hi(&ds[i]), v, 2, &ds[i].r->fobs, 1,
				 "the parent serves no usable DS while providers serve DNSKEY: the "
				 "zone is insecure");
			continue;
		}
		for (size_t p = 0; p < d->pn; p++) {
			item_t kp[DET_MAXI];
			size_t kn =
			    det_distinct(kp, det_served(d, "dnskey", d->prov[p], kp, DET_MAXI));
			bool rp = det_reach(d, d->prov[p], t, NULL, NULL);
			for (size_t k = 0; k < kn; k++) {
				if (kp[k].v == NULL || kp[k].v->kind != VK_ANSWER)
					continue;
				total += rp;
				if (det_chain_of(d, D, kp[k].v, t, &m, &why) == CH_SECURE)
					continue;
				fails += rp;
				int64_t v[2] = {D->id, kp[k].v->id};
				obs_usec_t lo, hi;
				det_window(d, t, &ds[i], &kp[k], &lo, &hi);
				int64_t o[2] = {ds[i].r->fobs, kp[k].r->fobs};
				det_emit(
				    d, "V-1b", rp ? SEV_ERROR : SEV_INFO, d->prov[p], NULL, NULL,
				    lo, hi, v, 2, o, 2,
				    "DS version %lld does not authenticate provider %s's DNSKEY "
				    "version %lld: %s%s",
				    (long long)D->id, d->prov[p], (long long)kp[k].v->id,
				    m ? (why == J_EXPIRED  ? "the KSK signature has expired"
					 : why == J_NOTYET ? "the KSK signature is not yet valid"
					 : why == J_CRYPTO ? "the KSK signature fails verification"
							   : "no signature by a DS-matched key")
				      : "no DS matches a zone key of the set",
				    rp ? "" : DET_UNREACH_WHY);
			}
		}
		if (total > 0 && fails == total) {
			int64_t v[1] = {D->id};
			det_emit(
			    d, "V-1a", SEV_CRITICAL, NULL, NULL, NULL, det_item_lo(&ds[i]),
			    det_item_hi(&ds[i]), v, 1, &ds[i].r->fobs, 1,
			    "no served DNSKEY RRset of any NS-reachable provider is authenticated "
			    "by DS version %lld",
			    (long long)D->id);
		}
		/* V-1c dangling DS, A-2 DS algorithm without DNSKEY of that algorithm */
		size_t pos = 0, len;
		const uint8_t *it;
		while (vers_next(D->rdata, D->rdata_len, &pos, &it, &len, NULL)) {
			ds_info_t dsi;
			if (keys_ds_parse(it, len, &dsi))
				continue;
			bool matched = false;
			for (size_t k = 0; k < kn_all && !matched; k++) {
				if (ks[k].v == NULL || ks[k].v->kind != VK_ANSWER)
					continue;
				size_t kp = 0, kl;
				const uint8_t *kit;
				while (!matched && vers_next(ks[k].v->rdata, ks[k].v->rdata_len,
							     &kp, &kit, &kl, NULL))
					matched = keys_ds_matches(&dsi, d->zone, kit, kl);
			}
			int64_t v[1] = {D->id};
			if (!matched)
				det_emit(d, "V-1c", SEV_INFO, NULL, NULL, NULL, det_item_lo(&ds[i]),
					 det_item_hi(&ds[i]), v, 1, NULL, 0,
					 "DS %u/%u (digest type %u) matches no served DNSKEY of an "
					 "NS-reachable provider",
					 dsi.alg, dsi.tag, dsi.dtype);
			for (size_t p = 0; p < d->pn; p++) {
				if (!det_reach(d, d->prov[p], t, NULL, NULL))
					continue;
				item_t kp[DET_MAXI];
				size_t kn = det_distinct(
				    kp, det_served(d, "dnskey", d->prov[p], kp, DET_MAXI));
				for (size_t k = 0; k < kn; k++) {
					if (kp[k].v == NULL)
						continue;
					bool alg = false;
					size_t q = 0, kl;
					const uint8_t *kit;
					while (vers_next(kp[k].v->rdata, kp[k].v->rdata_len, &q,
							 &kit, &kl, NULL))
						alg |= kl >= 4 && kit[3] == dsi.alg;
					obs_usec_t lo, hi;
					det_window(d, t, &kp[k], NULL, &lo, &hi);
					if (!alg)
						det_emit(
						    d, "A-2", SEV_WARN, d->prov[p], NULL, NULL, lo,
						    hi, v, 1, NULL, 0,
						    "the DS set has algorithm %u but provider %s's "
						    "DNSKEY RRset has no key of it",
						    dsi.alg, d->prov[p]);
				}
			}
		}
	}
}

static const char *const data_roles[] = {"soa", "ns", "canary", "cds", "cdnskey", "csync", "nx"};

/* V-2, V-3, V-4, T-4: each provider's DNSKEY RRset against the data a resolver can combine it
 * with. A cross-provider pair counts only while both providers are NS-reachable; the findings
 * of an unreachable provider about itself are INFO. */
void det_v_sigs(struct det_ctx *d, obs_usec_t t)
{
	char ts[24];
	for (size_t p = 0; p < d->pn; p++) {
		item_t kp[DET_MAXI];
		size_t kn = det_distinct(kp, det_served(d, "dnskey", d->prov[p], kp, DET_MAXI));
		bool rp = det_reach(d, d->prov[p], t, NULL, NULL);
		for (size_t k = 0; k < kn; k++) {
			const vers_t *K = kp[k].v;
			if (K == NULL || K->kind != VK_ANSWER)
				continue;
			/* the DNSKEY RRset's own signatures (V-3, V-4) */
			enum jres self = det_judge(d, K, K, t, NULL, 0, NULL);
			if (self == J_EXPIRED || self == J_NOTYET || self == J_CRYPTO) {
				int64_t v[1] = {K->id};
				obs_usec_t lo, hi;
				det_window(d, t, &kp[k], NULL, &lo, &hi);
				det_emit(
				    d,
				    self == J_CRYPTO    ? "V-4"
				    : self == J_EXPIRED ? "V-3e"
							: "V-3f",
				    rp ? SEV_ERROR : SEV_INFO, d->prov[p], NULL, NULL, lo, hi, v, 1,
				    &kp[k].r->fobs, 1,
				    "provider %s's DNSKEY RRset (version %lld): signature %s%s",
				    d->prov[p], (long long)K->id, det_jres_text(self),
				    rp ? "" : DET_UNREACH_WHY);
			}
			for (size_t r = 0; r < sizeof(data_roles) / sizeof(data_roles[0]); r++) {
				item_t x[DET_MAXI];
				size_t xn =
				    det_distinct(x, det_served(d, data_roles[r], "", x, DET_MAXI));
				for (size_t i = 0; i < xn; i++) {
					const vers_t *X = x[i].v;
					if (X == NULL || X->rrsig_len == 0)
						continue;
					const char *q = d->t[x[i].s->tgt].origin;
					bool same = strcmp(q, d->prov[p]) == 0;
					/* a resolver holds K and X together only if it reaches both
					 */
					if (!same && (!rp || !det_reach(d, q, t, NULL, NULL)))
						continue;
					enum det_sev sev = rp ? SEV_ERROR : SEV_INFO;
					const char *why = rp ? "" : DET_UNREACH_WHY;
					obs_usec_t mexp;
					enum jres j = det_judge(d, K, X, t, NULL, 0, &mexp);
					det_typestr(X->type, ts, sizeof(ts));
					int64_t v[2] = {K->id, X->id};
					int64_t o[2] = {kp[k].r->fobs, x[i].r->fobs};
					obs_usec_t lo, hi;
					det_window(d, t, &kp[k], &x[i], &lo, &hi);
					if (j == J_NOKEY) {
						det_emit(
						    d, "V-2", sev, q, NULL, NULL, lo, hi, v, 2, o,
						    2,
						    "provider %s's DNSKEY RRset (version %lld) "
						    "does not "
						    "authenticate %s %s from provider %s (version "
						    "%lld): no key for its signatures%s",
						    d->prov[p], (long long)K->id, X->owner, ts, q,
						    (long long)X->id, why);
					} else if (!same && j == J_CRYPTO) {
						/* K has a key of the signature's tag and algorithm,
						 * but not the one that made it (a key-tag
						 * collision, or corrupted material): bogus for a
						 * resolver holding
						 * K */
						det_emit(
						    d, "V-4", sev, q, NULL, NULL, lo, hi, v, 2, o,
						    2,
						    "provider %s's DNSKEY RRset (version %lld) has "
						    "a "
						    "key of the tag and algorithm of %s %s from "
						    "provider %s (version %lld) but its signatures "
						    "fail verification with it%s",
						    d->prov[p], (long long)K->id, X->owner, ts, q,
						    (long long)X->id, why);
					} else if (same && j != J_OK) {
						det_emit(d,
							 j == J_CRYPTO    ? "V-4"
							 : j == J_EXPIRED ? "V-3e"
									  : "V-3f",
							 sev, q, NULL, NULL, lo, hi, v, 2, o, 2,
							 "%s %s at provider %s (version %lld): "
							 "signature %s%s",
							 X->owner, ts, q, (long long)X->id,
							 det_jres_text(j), why);
					} else if (same && rp && j == J_OK && x[i].r->ttl > 0 &&
						   mexp != INT64_MIN &&
						   x[i].r->ttl * OBS_USEC_PER_SEC > mexp - t) {
						det_emit(d, "T-4", SEV_WARN, q, NULL, NULL, lo, hi,
							 v, 2, o, 2,
							 "%s %s at provider %s (version %lld): TTL "
							 "%lld s "
							 "outlives its last signature",
							 X->owner, ts, q, (long long)X->id,
							 (long long)x[i].r->ttl);
					}
				}
			}
		}
	}
}
