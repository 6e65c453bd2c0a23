/* SPDX-License-Identifier: MIT */
/* Detectors of TTL and timing problems (reference §3.3, §3.4): T-1, T-5, N-1. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

void det_t_state(struct det_ctx *d, obs_usec_t t)
{
	/* T-5 (iv): DNSKEY TTL differs between providers (legal; the waits use the largest) */
	item_t k[DET_MAXI];
	size_t kn = det_reachable(d, t, k, det_served(d, "dnskey", "", k, DET_MAXI));
	for (size_t i = 1; i < kn; i++) {
		if (k[i].r->ttl < 0 || k[0].r->ttl < 0 || k[i].r->ttl == k[0].r->ttl ||
		    strcmp(d->t[k[i].s->tgt].origin, d->t[k[0].s->tgt].origin) == 0)
			continue;
		int64_t v[2] = {k[0].r->vid, k[i].r->vid};
		obs_usec_t lo, hi;
		det_window(d, t, &k[0], &k[i], &lo, &hi);
		det_emit(d, "T-5", SEV_INFO, NULL, NULL, NULL, lo, hi, v, 2, NULL, 0,
			 "(iv) the DNSKEY TTL differs between providers %s and %s",
			 d->t[k[0].s->tgt].origin, d->t[k[i].s->tgt].origin);
	}
}

/* T-5 (iii) TTL above the original TTL, (v) TTL changed between consecutive runs */
void det_t_history(struct det_ctx *d)
{
	char ts[24];
	for (size_t i = 0; i < d->sn; i++) {
		const struct ser *s = &d->s[i];
		const struct tgt *g = &d->t[s->tgt];
		for (size_t k = 0; k < s->n; k++) {
			const struct run *r = &s->runs[k];
			const vers_t *v = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
			if (v == NULL)
				continue;
			det_typestr(v->type, ts, sizeof(ts));
			size_t pos = 0, len;
			const uint8_t *it;
			uint32_t orig = 0;
			while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
				const uint8_t *rd;
				size_t rl;
				sig_info_t si;
				if (sigv_rdata(v, it, len, &rd, &rl) == OBS_EOK &&
				    sigv_info(rd, rl, &si) == OBS_EOK && si.orig_ttl > orig)
					orig = si.orig_ttl;
			}
			item_t iv = {s, r, v};
			int64_t vid[1] = {v->id};
			if (orig > 0 && r->ttl > (int64_t)orig && v->kind == VK_ANSWER)
				det_emit(
				    d, "T-5", SEV_WARN, g->origin, g->address, NULL,
				    det_item_lo(&iv), det_item_hi(&iv), vid, 1, &r->fobs, 1,
				    "(iii) %s %s served with TTL %lld above its original TTL %u",
				    v->owner, ts, (long long)r->ttl, orig);
			if (k == 0 || r->ttl < 0)
				continue;
			const struct run *p = &s->runs[k - 1];
			if (p->ttl < 0 || p->vid <= 0 || p->ttl == r->ttl)
				continue;
			const vers_t *pv = vers_get(d->vc, p->vid);
			int64_t vv[2] = {p->vid, r->vid};
			int64_t big = pv && pv->ttl_max_s > p->ttl ? pv->ttl_max_s : p->ttl;
			det_emit(
			    d, "T-5", SEV_INFO, g->origin, g->address, NULL, r->first, r->first + 1,
			    vv, 2, &r->fobs, 1,
			    "(v) the TTL of %s %s changed from %lld to %lld s (version %lld to "
			    "%lld); waits use the largest TTL served of the old version: %lld s",
			    s->qname, ts, (long long)p->ttl, (long long)r->ttl, (long long)p->vid,
			    (long long)r->vid, (long long)big);
		}
	}
}

/* T-1: a resolver's answer TTL above the largest TTL any authoritative server served. Only the
 * runs whose largest TTL (run.ttl_max_s) is above it can hold such an answer (a version is set
 * on answered polls only, each in a run of its version): their polls are read, not the day. */
int det_t_resolver(struct det_ctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"SELECT c.name || '/' || tg.host, min(o.t) - c.clock_offset_us, max(o.t) - "
		"c.clock_offset_us, min(o.id), max(o.ttl_s - v.ttl_max_s), count(*) FROM target tg "
		"JOIN collector c ON c.id = tg.collector_id JOIN series s ON s.target_id = tg.id "
		"JOIN run r ON r.series_id = s.id JOIN version v ON v.id = r.version_id JOIN "
		"observation o ON o.series_id = r.series_id AND o.t >= r.first_seen AND o.t <= "
		"r.last_seen WHERE tg.kind = 'resolver' AND tg.zone = ? AND v.ttl_max_s IS NOT "
		"NULL AND r.ttl_max_s > v.ttl_max_s + 1 AND o.version_id = r.version_id AND o.t - "
		"c.clock_offset_us <= ? AND o.ttl_s > v.ttl_max_s + 1 GROUP BY tg.id",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t o = sqlite3_column_int64(st, 3);
		det_emit(
		    d, "T-1", SEV_WARN, NULL, NULL, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2) + 1, NULL, 0, &o, 1,
		    "resolver answers carry TTLs up to %lld s above the authoritative TTL "
		    "(%lld answers)",
		    (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

/* T-5 (i) the RRs of one RRset at one server carry different TTLs (RFC 2181 §5.2), (ii) the
 * RRSIG TTL differs from the TTL of the RRset it covers (RFC 4034 §3), from the collectors'
 * ttl_anomaly rows (one per observation that showed one). A resolver keeps the set for its
 * smallest TTL; the waits use the largest served (T-5 (v)), so both are WARN: the two ends
 * of a wait can disagree. One finding per server, question and TTL combination, its window
 * from the first to the last observation that showed it (times in the reference clock). */
int det_t_anomaly(struct det_ctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"SELECT tg.origin, tg.address, s.qname, s.qtype, a.ttl_min_s, a.ttl_max_s, "
		"a.sig_ttl_min_s, a.sig_ttl_max_s, min(a.t) - c.clock_offset_us, max(a.t) - "
		"c.clock_offset_us, min(a.observation_id), max(a.observation_id), "
		"min(a.version_id), max(a.version_id), count(*) FROM ttl_anomaly a JOIN series s "
		"ON s.id = a.series_id JOIN target tg ON tg.id = s.target_id JOIN collector c ON "
		"c.id = tg.collector_id WHERE tg.zone = ? AND tg.kind IN ('parent', 'provider') "
		"AND a.t - c.clock_offset_us <= ? GROUP BY tg.origin, tg.address, s.qname, "
		"s.qtype, a.ttl_min_s, a.ttl_max_s, a.sig_ttl_min_s, a.sig_ttl_max_s ORDER BY "
		"min(a.t - c.clock_offset_us)",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	char ts[24];
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *origin = (const char *)sqlite3_column_text(st, 0);
		const char *addr = (const char *)sqlite3_column_text(st, 1);
		const char *qname = (const char *)sqlite3_column_text(st, 2);
		det_typestr((uint16_t)sqlite3_column_int(st, 3), ts, sizeof(ts));
		int64_t mn = sqlite3_column_int64(st, 4), mx = sqlite3_column_int64(st, 5);
		bool sig = sqlite3_column_type(st, 6) != SQLITE_NULL;
		int64_t smn = sqlite3_column_int64(st, 6), smx = sqlite3_column_int64(st, 7);
		obs_usec_t lo = sqlite3_column_int64(st, 8), hi = sqlite3_column_int64(st, 9) + 1;
		int64_t obs[2] = {sqlite3_column_int64(st, 10), sqlite3_column_int64(st, 11)};
		int64_t vid[2] = {sqlite3_column_int64(st, 12), sqlite3_column_int64(st, 13)};
		int64_t n = sqlite3_column_int64(st, 14);
		const char *prov = strcmp(origin, "PARENT") == 0 ? NULL : origin;
		if (mn != mx)
			det_emit(
			    d, "T-5", SEV_WARN, prov, addr, NULL, lo, hi, vid, 2, obs, 2,
			    "(i) the RRs of %s %s at %s carry different TTLs, %lld to %lld s "
			    "(RFC 2181 §5.2; resolvers keep the set for %lld s; %lld answer%s)",
			    qname, ts, addr, (long long)mn, (long long)mx, (long long)mn,
			    (long long)n, n == 1 ? "" : "s");
		char sv[48];
		if (smn == smx)
			snprintf(sv, sizeof(sv), "%lld s", (long long)smn);
		else
			snprintf(sv, sizeof(sv), "%lld to %lld s", (long long)smn, (long long)smx);
		if (sig && (smn != mn || smx != mn))
			det_emit(d, "T-5", SEV_WARN, prov, addr, NULL, lo, hi, vid, 2, obs, 2,
				 "(ii) the RRSIG TTL of %s %s at %s is %s, the RRset's %lld s (RFC "
				 "4034 §3; %lld answer%s)",
				 qname, ts, addr, sv, (long long)mn, (long long)n,
				 n == 1 ? "" : "s");
	}
	int rc = sqlite3_finalize(st);
	return rc == SQLITE_OK ? OBS_EOK : OBS_ESQL;
}

/* the SOA.MINIMUM of the SOA record in negative proof v, and the SOA's signed TTL (the Original
 * TTL of its RRSIG; 0 when unsigned). Returns false when the proof holds no SOA. */
static bool neg_soa(const vers_t *v, uint32_t *minimum, uint32_t *soa_ttl)
{
	size_t pos = 0, len;
	const uint8_t *it;
	bool found = false;
	*soa_ttl = 0;
	while (!found && vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
		ldns_rr *rr = NULL;
		size_t p = 0;
		if (ldns_wire2rr(&rr, it, len, &p, LDNS_SECTION_AUTHORITY) != LDNS_STATUS_OK)
			continue;
		const ldns_rdf *m =
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ? ldns_rr_rdf(rr, 6) : NULL;
		if (m && ldns_rdf_size(m) == 4) {
			*minimum = ldns_rdf2native_int32(m);
			found = true;
		}
		ldns_rr_free(rr);
	}
	pos = 0;
	while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
		const uint8_t *rd;
		size_t rl;
		sig_info_t si;
		if (sigv_rdata(v, it, len, &rd, &rl) == OBS_EOK &&
		    sigv_info(rd, rl, &si) == OBS_EOK && si.covered == LDNS_RR_TYPE_SOA)
			*soa_ttl = si.orig_ttl;
	}
	return found;
}

/* N-1: the NSEC/NSEC3 TTL of a negative answer must be min(SOA.MINIMUM, SOA TTL) (RFC 9077).
 * The NSEC/NSEC3 TTL is read from the Original TTL of its RRSIG (the collector keeps the proof's
 * records with TTL 0), the SOA TTL likewise; the served negative TTL (min(SOA TTL, MINIMUM) as
 * served) stands in when the SOA is unsigned. */
void det_t_neg(struct det_ctx *d, obs_usec_t t)
{
	item_t x[DET_MAXI];
	size_t xn = det_distinct(x, det_reachable(d, t, x, det_served(d, "nx", "", x, DET_MAXI)));
	for (size_t i = 0; i < xn; i++) {
		const vers_t *v = x[i].v;
		if (v == NULL || (v->kind != VK_NXDOMAIN && v->kind != VK_NODATA))
			continue;
		uint32_t minimum = 0, soa_ttl = 0;
		if (!neg_soa(v, &minimum, &soa_ttl))
			continue;
		int64_t neg = soa_ttl ? (soa_ttl < minimum ? soa_ttl : minimum) : x[i].r->ttl;
		if (neg < 0)
			continue;
		size_t pos = 0, len;
		const uint8_t *it;
		while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
			const uint8_t *rd;
			size_t rl;
			sig_info_t si;
			if (sigv_rdata(v, it, len, &rd, &rl) || sigv_info(rd, rl, &si) ||
			    (si.covered != LDNS_RR_TYPE_NSEC && si.covered != LDNS_RR_TYPE_NSEC3) ||
			    (int64_t)si.orig_ttl == neg)
				continue;
			const struct tgt *g = &d->t[x[i].s->tgt];
			int64_t vid[1] = {v->id};
			obs_usec_t lo, hi;
			det_window(d, t, &x[i], NULL, &lo, &hi);
			det_emit(
			    d, "N-1", SEV_WARN, g->origin, NULL, NULL, lo, hi, vid, 1,
			    &x[i].r->fobs, 1,
			    "provider %s's negative answer for %s (version %lld): %s TTL %u s, "
			    "not min(SOA.MINIMUM %u, SOA TTL) = %lld s (RFC 9077)",
			    g->origin, x[i].s->qname, (long long)v->id,
			    si.covered == LDNS_RR_TYPE_NSEC ? "NSEC" : "NSEC3", si.orig_ttl,
			    minimum, (long long)neg);
		}
	}
}
