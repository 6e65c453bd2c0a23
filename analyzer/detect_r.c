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
			/* every pair of providers once, whatever order the servers were loaded in
			 * (several collectors interleave them), named in a fixed order */
			int o = strcmp(a->origin, b->origin);
			if (o == 0 || strcmp(x[i].s->qname, x[k].s->qname) ||
			    x[i].s->qtype != x[k].s->qtype)
				continue;
			if (o > 0) {
				const struct tgt *sw = a;
				a = b;
				b = sw;
			}
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

#define R4_LIMIT 1232 /* the DNS flag day 2020 EDNS buffer size */

/* The size of a DO=1 response carrying DNSKEY version K with its RRSIGs: header, question,
 * each record with a compressed owner (2 + type, class, TTL, length = 12 bytes before RDATA)
 * and the OPT record (11 bytes). A lower bound: servers may add more. */
static size_t dnskey_response_size(const vers_t *K)
{
	size_t n = 12 + strlen(K->owner) + 1 + 4 + 11;
	if (strcmp(K->owner, ".") == 0)
		n -= 1;
	size_t pos = 0, len;
	const uint8_t *it;
	while (vers_next(K->rdata, K->rdata_len, &pos, &it, &len, NULL))
		n += 12 + len;
	pos = 0;
	while (vers_next(K->rrsig, K->rrsig_len, &pos, &it, &len, NULL))
		n += 12 + len;
	return n;
}

/* R-4 (size): a DNSKEY response of an NS-reachable provider above 1232 bytes */
void det_r_size(struct det_ctx *d, obs_usec_t t)
{
	item_t k[DET_MAXI];
	size_t kn =
	    det_distinct(k, det_reachable(d, t, k, det_served(d, "dnskey", "", k, DET_MAXI)));
	for (size_t i = 0; i < kn; i++) {
		if (k[i].v == NULL || k[i].v->kind != VK_ANSWER)
			continue;
		size_t sz = dnskey_response_size(k[i].v);
		if (sz <= R4_LIMIT)
			continue;
		const char *p = d->t[k[i].s->tgt].origin;
		int64_t vid[1] = {k[i].v->id};
		obs_usec_t lo, hi;
		det_window(d, t, &k[i], NULL, &lo, &hi);
		det_emit(d, "R-4", SEV_WARN, p, NULL, NULL, lo, hi, vid, 1, &k[i].r->fobs, 1,
			 "provider %s's DNSKEY response (version %lld, %zu keys, %zu signatures) "
			 "takes at least %zu bytes, above %d: truncated over UDP on paths with "
			 "the recommended EDNS buffer size",
			 p, (long long)k[i].v->id, vers_count(k[i].v->rdata, k[i].v->rdata_len),
			 vers_count(k[i].v->rrsig, k[i].v->rrsig_len), sz, R4_LIMIT);
	}
}

/* R-4 (TC): a truncated UDP DNSKEY answer (status 3) whose TCP retry failed or never came, at a
 * provider server while the provider is NS-reachable */
int det_r_truncated(struct det_ctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"SELECT tg.origin, tg.address, o.t - c.clock_offset_us, o.id, (SELECT o2.status "
		"FROM "
		"observation o2 "
		"WHERE o2.series_id = o.series_id AND o2.transport = 1 AND o2.t >= o.t AND o2.t < "
		"o.t + "
		"10000000 AND o2.id <> o.id ORDER BY o2.t, o2.id LIMIT 1), (SELECT o2.id FROM "
		"observation o2 WHERE "
		"o2.series_id = o.series_id AND o2.transport = 1 AND o2.t >= o.t AND o2.t < o.t + "
		"10000000 "
		"AND o2.id <> o.id ORDER BY o2.t, o2.id LIMIT 1), (SELECT min(o3.t) - "
		"c.clock_offset_us FROM "
		"observation o3 WHERE "
		"o3.series_id = o.series_id AND o3.t > o.t AND o3.status = 0) FROM observation o "
		"JOIN series s ON s.id = o.series_id JOIN target tg ON tg.id = s.target_id JOIN "
		"collector c ON c.id = tg.collector_id WHERE tg.kind = 'provider' AND tg.zone = ? "
		"AND s.role = 'dnskey' AND o.status = 3 AND "
		"o.t - c.clock_offset_us <= ? ORDER BY o.t",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *prov = (const char *)sqlite3_column_text(st, 0);
		const char *addr = (const char *)sqlite3_column_text(st, 1);
		obs_usec_t t = sqlite3_column_int64(st, 2);
		bool tcp_ok =
		    sqlite3_column_type(st, 4) != SQLITE_NULL && sqlite3_column_int(st, 4) == 0;
		if (tcp_ok || !det_reach(d, prov, t, NULL, NULL))
			continue;
		int64_t o[2] = {sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 5)};
		obs_usec_t hi = sqlite3_column_type(st, 6) == SQLITE_NULL
				    ? INT64_MAX
				    : sqlite3_column_int64(st, 6);
		det_emit(
		    d, "R-4", SEV_WARN, prov, addr, NULL, t, hi, NULL, 0, o, 2,
		    "server %s of provider %s truncated its DNSKEY answer over UDP and the TCP "
		    "retry %s",
		    addr, prov,
		    sqlite3_column_type(st, 4) == SQLITE_NULL ? "never came" : "failed");
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}
