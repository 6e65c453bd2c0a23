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
 * or broken (O-1) are left out. */
int det_a_vantage(struct det_ctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"SELECT c.name || '/' || tg.host, o.t, o.id, o.ede, o.outcome FROM observation o "
		"JOIN series s ON s.id = o.series_id JOIN target tg ON tg.id = s.target_id JOIN "
		"collector c ON c.id = tg.collector_id WHERE tg.kind = 'resolver' AND tg.zone = ? "
		"AND o.t <= ? AND (s.flags & 2) = 0 AND s.role IN ('canary', 'soa', 'dnskey', "
		"'nx') AND (o.outcome = 2 OR o.ede IS NOT NULL) ORDER BY tg.id, o.t",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *van = (const char *)sqlite3_column_text(st, 0);
		obs_usec_t t = sqlite3_column_int64(st, 1);
		int64_t o = sqlite3_column_int64(st, 2);
		const char *ede = (const char *)sqlite3_column_text(st, 3);
		if (det_vantage_excluded(d, van))
			continue;
		bool e1 = det_ede_has(ede, 1), e2 = det_ede_has(ede, 2);
		if (e1 || e2)
			det_emit(
			    d, "A-5", SEV_INFO, NULL, NULL, van, t, t + 1, NULL, 0, &o, 1,
			    "vantage reports EDE %s (unsupported DNSKEY algorithm or DS digest "
			    "type): it treats the zone as insecure",
			    e1 && e2 ? "1 and 2"
			    : e1     ? "1"
				     : "2");
		else if (sqlite3_column_int(st, 4) == 2 && det_ds_served_at(d, t))
			det_emit(
			    d, "A-5", SEV_INFO, NULL, NULL, van, t, t + 1, NULL, 0, &o, 1,
			    "validating vantage answers without AD while the parent serves a DS "
			    "set: an unsupported algorithm or digest makes the zone insecure "
			    "for it");
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}
