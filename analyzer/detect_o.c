/* SPDX-License-Identifier: MIT */
/* Detectors of vantage and observation artifacts (reference §3.7): O-1 to O-4.
 * T-1 and T-2 from passive evidence (fetch.h): answers judged against the resolver's own
 * fetches; T-1 from the collector's polls alone is det_t_resolver's. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "obs_err.h"

void det_o_fetch(void *arg, const fetch_resolver_t *r)
{
	struct det_ctx *d = arg;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *f = &r->flags[i];
		if (strcmp(f->id, "T-1") == 0 && !f->passive && f->fetch_obs == 0)
			continue;
		int64_t obs[3] = {f->first_obs, f->last_obs, f->fetch_obs};
		char v[160];
		snprintf(v, sizeof(v), "passive/%s", r->name);
		det_emit(d, f->id, f->sev ? SEV_WARN : SEV_INFO, NULL, NULL, v, f->lo, f->hi + 1,
			 &f->version_id, 1, obs, 3,
			 "resolver %s (via %s) %s version %lld: %lld answers, TTL up to %lld, held "
			 "%lld s "
			 "from its fetch (profile %s)",
			 r->name, f->via,
			 f->id[2] == '1' ? "answers with a TTL beyond its fetch of"
					 : "serves past its fetch's TTL",
			 (long long)f->version_id, (long long)f->answers,
			 (long long)f->ttl_answer_s, (long long)f->held_s,
			 fetch_profile_names[r->profile]);
	}
}

void det_o_vantage(void *arg, const og_vantage_t *v)
{
	struct det_ctx *d = arg;
	if (v->broken || v->nonvalidating) {
		char(*n)[160] = realloc(d->novalid, (d->novalid_n + 1) * sizeof(*n));
		if (n == NULL) {
			d->err = OBS_ENOMEM;
			return;
		}
		d->novalid = n;
		snprintf(d->novalid[d->novalid_n++], sizeof(*n), "%s", v->vantage);
	}
	if (v->broken)
		det_emit(
		    d, "O-1", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, v->baseline_hi,
		    NULL, 0, &v->first_obs, 1,
		    "vantage failed %lld of %lld rounds in the healthy baseline: excluded from "
		    "glitch attribution",
		    (long long)v->baseline_fail, (long long)v->baseline_polls);
	if (v->nonvalidating)
		det_emit(
		    d, "O-3", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, INT64_MAX, NULL, 0,
		    NULL, 0,
		    "vantage does not validate (never AD, the bogus canary resolves): excluded "
		    "from V-glitches");
}

/* Is some V-3 finding (a served signature outside its validity) open at t? */
static bool v3_at(const struct det_ctx *d, obs_usec_t t)
{
	for (size_t i = 0; i < d->mn; i++) {
		const det_finding_t *f = &d->m[i].f;
		if (strncmp(f->id, "V-3", 3) == 0 && f->lo <= t && t < f->hi)
			return true;
	}
	return false;
}

/* ---- the resolver polls of A-5 and O-2: one pass over each resolver series ---- */

/* The zone's resolver series, vantage by vantage; their polls with an EDE or answered without
 * AD (outcome 2), up to ?2 in the collector's own clock, in (t, id) index order. */
static const char *const SQL_RSERIES =
    "SELECT tg.id, c.name, tg.host, c.clock_offset_us, s.id, s.flags, s.role IN ('canary', "
    "'soa', 'dnskey', 'nx') FROM series s JOIN target tg ON tg.id = s.target_id JOIN collector c "
    "ON c.id = tg.collector_id WHERE tg.kind = 'resolver' AND tg.zone = ?1 ORDER BY tg.id, s.id";
static const char *const SQL_RPOLLS =
    "SELECT o.t, o.id, o.ede, o.outcome FROM observation o WHERE o.series_id = ?1 AND o.t <= ?2 "
    "AND (o.ede IS NOT NULL OR o.outcome = 2) ORDER BY o.t, o.id";

static int cmp_rpoll(const void *a, const void *b)
{
	const struct rpoll *x = a, *y = b;
	if (x->van != y->van)
		return x->van < y->van ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void det_o_polls_free(struct rpolls *p)
{
	for (size_t i = 0; i < p->vn; i++)
		free(p->van[i]);
	free(p->van);
	free(p->p);
	memset(p, 0, sizeof(*p));
}

static int rp_vantage(struct rpolls *p, const char *coll, const char *host)
{
	char **n = realloc(p->van, (p->vn + 1) * sizeof(*n));
	if (n == NULL)
		return OBS_ENOMEM;
	p->van = n;
	size_t len = strlen(coll) + strlen(host) + 2;
	if ((p->van[p->vn] = malloc(len)) == NULL)
		return OBS_ENOMEM;
	snprintf(p->van[p->vn++], len, "%s/%s", coll, host);
	return OBS_EOK;
}

/* Read each resolver series of the zone once (series_id = ?, its polls with an EDE or without
 * AD) instead of one join over every resolver poll per detector; the few polls either detector
 * can report are kept with what it asks of them. */
int det_o_polls(struct det_ctx *d, struct rpolls *out)
{
	sqlite3 *sql = an_db_sql(d->db);
	sqlite3_stmt *ser = NULL, *st = NULL;
	int ret = OBS_ESQL, rc;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(sql, SQL_RSERIES, -1, &ser, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql, SQL_RPOLLS, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(ser, 1, d->zone, -1, SQLITE_STATIC);
	int64_t tgt = 0;
	while ((rc = sqlite3_step(ser)) == SQLITE_ROW) {
		if (out->vn == 0 || sqlite3_column_int64(ser, 0) != tgt) {
			tgt = sqlite3_column_int64(ser, 0);
			if ((ret = rp_vantage(out, (const char *)sqlite3_column_text(ser, 1),
					      (const char *)sqlite3_column_text(ser, 2))))
				goto done;
			ret = OBS_ESQL;
		}
		int64_t off = sqlite3_column_int64(ser, 3);
		bool a5 = (sqlite3_column_int(ser, 5) & 2) == 0 && sqlite3_column_int(ser, 6) != 0;
		sqlite3_bind_int64(st, 1, sqlite3_column_int64(ser, 4));
		sqlite3_bind_int64(st, 2, obs_usec_shift(d->at, off));
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *ede = (const char *)sqlite3_column_text(st, 2);
			unsigned bits = 0;
			if (det_ede_has(ede, 7))
				bits |= RP_O2_EDE7;
			if (det_ede_has(ede, 8))
				bits |= RP_O2_EDE8;
			if (a5 && det_ede_has(ede, 1))
				bits |= RP_A5_EDE1;
			if (a5 && det_ede_has(ede, 2))
				bits |= RP_A5_EDE2;
			if (a5 && sqlite3_column_type(st, 3) != SQLITE_NULL &&
			    sqlite3_column_int64(st, 3) == 2)
				bits |= RP_A5_NOAD;
			if (bits == 0)
				continue;
			if (out->n == out->cap) {
				size_t nc = out->cap ? out->cap * 2 : 64;
				struct rpoll *n = realloc(out->p, nc * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				out->p = n;
				out->cap = nc;
			}
			struct rpoll *r = &out->p[out->n];
			r->t = sqlite3_column_int64(st, 0) - off;
			r->id = sqlite3_column_int64(st, 1);
			r->van = out->vn - 1;
			r->seq = out->n++;
			r->bits = bits;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto done;
	}
	if (rc != SQLITE_DONE)
		goto done;
	if (out->n)
		qsort(out->p, out->n, sizeof(*out->p), cmp_rpoll);
	ret = OBS_EOK;
done:
	sqlite3_finalize(ser);
	sqlite3_finalize(st);
	return ret;
}

/* O-2 (clock skew): a vantage reports EDE 7 or 8 (signature expired, not yet valid) while no
 * authoritative server serves a signature outside its validity (no V-3 at that time): the
 * vantage's clock is off, and the interval is its own problem. The other half of O-2 (the
 * parent's good canary starting to fail) needs a known-good canary outside the zone, which the
 * collector does not poll. The polls are det_o_polls' (every resolver series). */
int det_o_skew(struct det_ctx *d, const struct rpolls *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct rpoll *r = &p->p[i];
		bool e7 = (r->bits & RP_O2_EDE7) != 0, e8 = (r->bits & RP_O2_EDE8) != 0;
		obs_usec_t t = r->t;
		if ((!e7 && !e8) || v3_at(d, t))
			continue;
		int64_t o = r->id;
		det_emit(d, "O-2", SEV_INFO, NULL, NULL, p->van[r->van], t, t + 1, NULL, 0, &o, 1,
			 "vantage reports EDE %s (signature %s) while every authoritative server "
			 "serves signatures inside their validity: its clock is off; the interval "
			 "is excluded",
			 e7 ? "7" : "8", e7 ? "expired" : "not yet valid");
	}
	return OBS_EOK;
}

/* O-4: a vantage returns a version of a question the collector asks the authoritative servers,
 * which no observed authoritative server ever served; or a version with more TTL left than any
 * copy fetched before the last authoritative server stopped serving it could have (it was
 * fetched from a server the observatory does not see). Answers at or below 30 s (the serve-stale
 * TTL, RFC 8767 §4), marked stale (EDE 3, 19), or above the authoritative TTL (T-1) are left
 * to T-1/T-2. Only positive answers: a resolver assembles its own negative proofs. The query
 * already leaves out the answers the numeric tests below pass (most of a day of polls); a NULL
 * TTL fails `o.ttl_s > 30` there as it fails `ttl <= 30` (0) here. The candidate versions
 * (positive, of a polled question) with their authoritative facts are found once (cand), not
 * joined again for every poll. The polls are reached through the resolver series' runs of a
 * candidate (an answered poll returning version v lies in a run of v of its series, between
 * its first and last sighting), and for a version the authoritative servers stopped serving
 * (late) only past hi + 1 s: `fetched > hi + 2 s` with ttl <= tmax + 1 needs o.t > hi + 1 s
 * (collector clock: + the offset). A version still served (hi the open end) is no candidate:
 * no poll passes the test. The ties in time are ordered as the series were read before. */
int det_o_coverage(struct det_ctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"WITH auth AS (SELECT r.version_id AS vid, max(coalesce(r.next_poll, "
		"9223372036854775807)) AS hi FROM run_ref r JOIN series s ON s.id = r.series_id "
		"JOIN "
		"target tg ON tg.id = s.target_id WHERE tg.kind IN ('parent', 'provider') AND "
		"tg.zone = ?1 GROUP BY r.version_id), polled AS (SELECT DISTINCT s2.qname, "
		"s2.qtype FROM series s2 JOIN target t2 ON t2.id = s2.target_id WHERE t2.zone = "
		"?1 AND t2.kind IN ('parent', 'provider')), cand AS MATERIALIZED (SELECT v.id AS "
		"vid, v.ttl_max_s AS tmax, a.hi AS hi, v.ttl_max_s IS NOT NULL AND a.hi IS NOT "
		"NULL AS late FROM version v JOIN polled p ON p.qname = v.owner AND p.qtype = "
		"v.type LEFT JOIN auth a ON a.vid = v.id WHERE v.kind = 1 AND (v.ttl_max_s IS NULL "
		"OR a.hi IS NULL OR a.hi != 9223372036854775807)) "
		"SELECT c.name || '/' || tg.host, o.t - c.clock_offset_us, o.id, o.ede, o.ttl_s, "
		"k.vid, k.tmax, k.hi FROM target tg JOIN collector c ON c.id = tg.collector_id "
		"JOIN series s ON s.target_id = tg.id JOIN run r ON r.series_id = s.id JOIN cand k "
		"ON k.vid = r.version_id JOIN observation o ON o.series_id = r.series_id AND o.t "
		">= "
		"r.first_seen AND o.t <= r.last_seen AND o.t > CASE WHEN k.late THEN k.hi + "
		"1000000 + c.clock_offset_us ELSE -9223372036854775807 - 1 END WHERE tg.kind = "
		"'resolver' AND tg.zone = ?1 AND o.version_id = r.version_id AND "
		"o.t - c.clock_offset_us <= ?2 AND (k.tmax IS NULL OR k.hi IS NULL OR (k.hi != "
		"9223372036854775807 AND o.ttl_s > 30 AND o.ttl_s <= k.tmax + 1 AND o.t - "
		"c.clock_offset_us - (k.tmax - o.ttl_s) * 1000000 > k.hi + 2000000)) ORDER BY "
		"tg.id, o.t, s.id, o.id",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *van = (const char *)sqlite3_column_text(st, 0);
		obs_usec_t t = sqlite3_column_int64(st, 1);
		int64_t o = sqlite3_column_int64(st, 2);
		const char *ede = (const char *)sqlite3_column_text(st, 3);
		int64_t ttl = sqlite3_column_int64(st, 4), vid = sqlite3_column_int64(st, 5);
		if (sqlite3_column_type(st, 6) == SQLITE_NULL ||
		    sqlite3_column_type(st, 7) == SQLITE_NULL) {
			det_emit(d, "O-4", SEV_WARN, NULL, NULL, van, t, t + 1, &vid, 1, &o, 1,
				 "vantage returned version %lld, which no observed authoritative "
				 "server served: an unobserved server or an observation gap",
				 (long long)vid);
			continue;
		}
		int64_t tmax = sqlite3_column_int64(st, 6);
		obs_usec_t hi = sqlite3_column_int64(st, 7);
		if (hi == INT64_MAX || ttl <= 30 || ttl > tmax + 1 || det_ede_has(ede, 3) ||
		    det_ede_has(ede, 19))
			continue;
		obs_usec_t fetched = t - (tmax - ttl) * OBS_USEC_PER_SEC; /* at the earliest */
		if (fetched <= hi + 2 * OBS_USEC_PER_SEC)
			continue;
		det_emit(d, "O-4", SEV_WARN, NULL, NULL, van, t, t + 1, &vid, 1, &o, 1,
			 "vantage returned version %lld with more TTL left than any copy fetched "
			 "before the last observed authoritative server stopped serving it could "
			 "have: an unobserved or lagging server",
			 (long long)vid);
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}
