/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "detect_int.h"
#include "fetch.h"
#include "keys.h"
#include "nsr.h"
#include "obs_err.h"
#include "oglitch.h"
#include "vers.h"

const char *const det_sev_names[4] = {"INFO", "WARN", "ERROR", "CRITICAL"};

const det_entry_t det_catalogue[] = {
    {"V-1a", SEV_CRITICAL, "no served DNSKEY RRset of any provider is authenticated by the DS"},
    {"V-1b", SEV_ERROR, "a provider's DNSKEY RRset is not authenticated by the served DS"},
    {"V-1c", SEV_INFO, "a DS matches no key in any served DNSKEY RRset (dangling)"},
    {"V-2", SEV_ERROR, "a DNSKEY RRset does not authenticate a data RRset (missing key)"},
    {"V-3e", SEV_ERROR, "an authoritative server serves an expired signature"},
    {"V-3f", SEV_ERROR, "an authoritative server serves a signature not yet valid"},
    {"V-4", SEV_ERROR, "a signature whose key is present fails verification"},
    {"V-5", SEV_WARN, "the zone is insecure at the parent while signed"},
    {"R-1p", SEV_WARN, "a listed server does not answer authoritatively"},
    {"R-1a", SEV_CRITICAL, "every server of the parent's NS set is lame"},
    {"R-2", SEV_INFO, "parent and provider NS sets differ (WARN after 10 minutes)"},
    {"R-3", SEV_WARN, "providers serve different content for a canary"},
    {"R-4", SEV_WARN, "a DNSKEY response exceeds 1232 bytes, or a truncated one's TCP retry fails"},
    {"T-1", SEV_WARN, "a resolver answer TTL exceeds the authoritative TTL"},
    {"T-2x", SEV_WARN, "a resolver serves a version past its fetch + TTL without refetching"},
    {"T-2s", SEV_INFO, "a resolver serves a stale version (EDE 3/19) past its fetch + TTL"},
    {"T-4", SEV_WARN, "a served TTL extends past the signature expiration"},
    {"T-5", SEV_WARN,
     "TTL inconsistency (i: RRs of a set, ii: RRSIG vs set, iii: TTL above original TTL; iv, v: "
     "INFO)"},
    {"N-1", SEV_WARN, "the NSEC/NSEC3 TTL of a negative answer is not min(SOA.MINIMUM, SOA TTL)"},
    {"C-1", SEV_WARN, "CDS and CDNSKEY differ at one server"},
    {"C-2", SEV_WARN, "CDS or CDNSKEY differs across the delegation's servers"},
    {"C-3", SEV_ERROR, "CDS/CDNSKEY, if applied as the DS set, would break a DNSKEY RRset"},
    {"C-4", SEV_WARN, "CDS/CDNSKEY does not validate through the current chain"},
    {"C-5", SEV_ERROR, "CDS/CDNSKEY DELETE misused"},
    {"C-6", SEV_WARN, "CSYNC differs across servers"},
    {"C-7", SEV_ERROR, "an apex NS set, if the parent adopted it, would break the delegation"},
    {"C-8", SEV_INFO, "signalling records stale (WARN: an old CDS differs from the DS)"},
    {"A-1", SEV_WARN, "providers sign with different algorithm sets"},
    {"A-2", SEV_WARN, "a DS algorithm has no DNSKEY of that algorithm at a provider"},
    {"A-3", SEV_WARN, "a DNSKEY algorithm has no RRSIG on an RRset (STRICT validators)"},
    {"A-4", SEV_WARN, "an algorithm rollover step taken before the previous one propagated"},
    {"A-5", SEV_INFO, "a vantage does not support the zone's algorithm or digest"},
    {"O-1", SEV_INFO, "vantage broken during the healthy baseline (excluded)"},
    {"O-2", SEV_INFO, "vantage clock skew (EDE 7/8 while served signatures are valid)"},
    {"O-3", SEV_INFO, "vantage does not validate"},
    {"O-4", SEV_WARN, "a vantage returns a version no observed server served (coverage gap)"},
};
const size_t det_catalogue_n = sizeof(det_catalogue) / sizeof(det_catalogue[0]);

/* ---- loading ---- */

static bool is_lame(int status, int rcode, int flags)
{
	return status != 0 || (rcode != 0 && rcode != 3) || !(flags & ANS_F_AA);
}

static int load(struct det_ctx *d)
{
	sqlite3 *sql = an_db_sql(d->db);
	sqlite3_stmt *st = NULL;
	int ret = OBS_ESQL;
	if (sqlite3_prepare_v2(sql,
			       "SELECT id, kind, origin, host, address FROM target WHERE zone = ? "
			       "AND kind IN ('parent', 'provider') ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct tgt *n = realloc(d->t, (d->tn + 1) * sizeof(*n));
		if (n == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		d->t = n;
		struct tgt *t = &d->t[d->tn++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		t->parent = strcmp((const char *)sqlite3_column_text(st, 1), "parent") == 0;
		snprintf(t->origin, sizeof(t->origin), "%s", sqlite3_column_text(st, 2));
		snprintf(t->host, sizeof(t->host), "%s", sqlite3_column_text(st, 3));
		snprintf(t->address, sizeof(t->address), "%s", sqlite3_column_text(st, 4));
		if (!t->parent && strcmp(t->origin, "?") != 0) {
			bool have = false;
			for (size_t i = 0; i < d->pn; i++)
				have |= strcmp(d->prov[i], t->origin) == 0;
			if (!have && d->pn >= sizeof(d->prov) / sizeof(d->prov[0])) {
				ret = OBS_ELIMIT; /* more providers than the table holds: say so */
				goto done;
			}
			if (!have)
				snprintf(d->prov[d->pn++], sizeof(d->prov[0]), "%s", t->origin);
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < d->tn; i++) {
		if (sqlite3_prepare_v2(sql,
				       "SELECT s.id, s.qname, s.qtype, s.role FROM series s WHERE "
				       "s.target_id = ? AND (s.flags & 1) = 0 ORDER BY s.id",
				       -1, &st, NULL) != SQLITE_OK)
			goto done;
		sqlite3_bind_int64(st, 1, d->t[i].id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct ser *n = realloc(d->s, (d->sn + 1) * sizeof(*n));
			if (n == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			d->s = n;
			struct ser *s = &d->s[d->sn++];
			memset(s, 0, sizeof(*s));
			s->id = sqlite3_column_int64(st, 0);
			s->tgt = (int)i;
			snprintf(s->qname, sizeof(s->qname), "%s", sqlite3_column_text(st, 1));
			s->qtype = (uint16_t)sqlite3_column_int(st, 2);
			snprintf(s->role, sizeof(s->role), "%s", sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	/* runs in the reference clock (run_ref: shifted by the collector's measured offset, the
	 * bounds widened by its uncertainty). Whether a run is still open as of `at` is decided
	 * by the offset itself (next_shifted: the next poll shifted, not widened): the widening
	 * must not make a run the collector saw end by `at` look open, nor push its end past the
	 * data the collector has (clamped to `at` below). */
	if (sqlite3_prepare_v2(
		sql,
		"SELECT r.id, r.version_id, r.first_seen, coalesce(r.prev_poll, "
		"-9223372036854775807 - 1), coalesce(r.next_poll, 9223372036854775807), "
		"coalesce(r.ttl_max_s, -1), r.first_obs_id, r.last_seen, coalesce(r.next_shifted, "
		"9223372036854775807) FROM run_ref r WHERE r.series_id = ? AND r.first_seen <= ? "
		"ORDER BY r.first_seen",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < d->sn; i++) {
		struct ser *s = &d->s[i];
		sqlite3_bind_int64(st, 1, s->id);
		sqlite3_bind_int64(st, 2, d->at);
		size_t cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (s->n == cap) {
				cap = cap ? cap * 2 : 8;
				struct run *n = realloc(s->runs, cap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				s->runs = n;
			}
			struct run *r = &s->runs[s->n++];
			r->id = sqlite3_column_int64(st, 0);
			r->vid = sqlite3_column_int64(st, 1);
			r->first = sqlite3_column_int64(st, 2);
			r->prev = sqlite3_column_int64(st, 3);
			r->next = sqlite3_column_int64(st, 4);
			if (sqlite3_column_int64(st, 8) > d->at)
				r->next = INT64_MAX; /* still served as of `at` */
			else if (r->next > d->at)
				r->next = d->at; /* ended by `at`: the widening stops there */
			r->ttl = sqlite3_column_int64(st, 5);
			r->fobs = sqlite3_column_int64(st, 6);
			r->last = sqlite3_column_int64(st, 7);
			if (r->last > d->at)
				r->last = d->at;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* lameness: the SOA polls of every provider server */
	if (sqlite3_prepare_v2(
		sql,
		"SELECT o.t - c.clock_offset_us, o.status, coalesce(o.rcode, -1), "
		"coalesce(o.flags, 0), o.id FROM observation o JOIN series s ON s.id = "
		"o.series_id JOIN target tg ON tg.id = s.target_id JOIN collector c ON c.id = "
		"tg.collector_id WHERE s.target_id = ? AND s.role = 'soa' AND (s.flags & 1) = 0 "
		"AND o.t - c.clock_offset_us <= ? ORDER BY o.t, o.id",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < d->tn; i++) {
		struct tgt *t = &d->t[i];
		if (t->parent)
			continue;
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, d->at);
		size_t cap = 0;
		int last = -1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			bool lame = is_lame(sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
					    sqlite3_column_int(st, 3));
			if ((int)lame == last)
				continue; /* only the changes */
			last = lame;
			if (t->lo_n == cap) {
				cap = cap ? cap * 2 : 8;
				struct lameobs *n = realloc(t->lo, cap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				t->lo = n;
			}
			t->lo[t->lo_n].t = sqlite3_column_int64(st, 0);
			t->lo[t->lo_n].lame = lame;
			t->lo[t->lo_n++].id = sqlite3_column_int64(st, 4);
		}
		sqlite3_reset(st);
	}
	ret = OBS_EOK;
done:
	sqlite3_finalize(st);
	return ret;
}

static void advance(struct det_ctx *d, obs_usec_t t)
{
	for (size_t i = 0; i < d->sn; i++) {
		struct ser *s = &d->s[i];
		while (s->cur < s->n && s->runs[s->cur].first <= t)
			s->cur++;
	}
	for (size_t i = 0; i < d->tn; i++) {
		struct tgt *g = &d->t[i];
		while (g->lo_cur < g->lo_n && g->lo[g->lo_cur].t <= t)
			g->lo_cur++;
	}
}

typedef void (*det_fn)(struct det_ctx *d, obs_usec_t t);

static const struct {
	const char *name;
	det_fn fn;
} state_detectors[] = {
    {"chain (V-1, V-5, A-2)", det_v_chain},
    {"signatures (V-2, V-3, V-4, T-4)", det_v_sigs},
    {"lameness (R-1)", det_r_lame},
    {"NS sets (R-2)", det_r_nsdiff},
    {"content (R-3)", det_r_content},
    {"signalling (C-1, C-2, C-5, C-6)", det_c_signal},
    {"algorithms (A-1)", det_a_sets},
    {"TTLs (T-5 iv)", det_t_state},
    {"negative TTL (N-1)", det_t_neg},
    {"response size (R-4)", det_r_size},
    {"what-if (C-3, C-4, C-7)", det_c_whatif},
    {"stale signalling (C-8)", det_c_stale},
    {"STRICT algorithms (A-3)", det_a_strict},
};

/* ---- driver ---- */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Does the zone have passive pairs? Without one, fetch_run finds no fetch and no passive
 * answer: every flag it could raise is a T-1 from the collector's own polls without a fetch,
 * which det_o_fetch leaves to det_t_resolver. Its scan of a day of resolver polls is then
 * skipped (the findings are the same). */
static int has_passive(struct det_ctx *d, bool *out)
{
	sqlite3_stmt *st = NULL;
	*out = true;
	if (sqlite3_prepare_v2(an_db_sql(d->db),
			       "SELECT EXISTS (SELECT 1 FROM passive_pair WHERE zone = ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? OBS_EOK : OBS_ESQL;
}

int det_run(an_db_t *db, const char *zone, obs_usec_t at, const det_opts_t *opts, sigv_t *sv,
	    det_report_fn cb, void *arg)
{
	struct det_ctx d = {.db = db, .zone = zone, .sv = sv, .at = at};
	bool passive = true;
	struct rpolls rp = {0};
	int64_t *ev = NULL;
	size_t en = 0, ecap = 0;
	int ret = vers_cache_new(db, &d.vc);
	if (ret || (ret = load(&d)) || (ret = nsr_build(db, zone, at, NSR_EPS_AUTO, &d.nsr)))
		goto done;
	/* every instant at which the served state changes, and `at` */
	for (size_t i = 0; i < d.sn; i++) {
		for (size_t k = 0; k <= d.s[i].n; k++) {
			if (en + 2 > ecap) {
				ecap = ecap ? ecap * 2 : 256;
				int64_t *n = realloc(ev, ecap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				ev = n;
			}
			if (k < d.s[i].n)
				ev[en++] = d.s[i].runs[k].first;
			/* signatures expire inside runs: look again at each expiration */
			if (k < d.s[i].n && d.s[i].runs[k].vid > 0) {
				const vers_t *v = vers_get(d.vc, d.s[i].runs[k].vid);
				size_t pos = 0, len;
				const uint8_t *it;
				while (v &&
				       vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
					const uint8_t *rd;
					size_t rl;
					sig_info_t si;
					if (sigv_rdata(v, it, len, &rd, &rl) ||
					    sigv_info(rd, rl, &si))
						continue;
					obs_usec_t e =
					    sigv_abs_time(si.exp_serial, d.s[i].runs[k].first) +
					    OBS_USEC_PER_SEC;
					if (e > d.s[i].runs[k].first && e <= at &&
					    e < d.s[i].runs[k].next) {
						if (en + 1 > ecap) {
							ecap *= 2;
							int64_t *n = realloc(ev, ecap * sizeof(*n));
							if (n == NULL) {
								ret = OBS_ENOMEM;
								goto done;
							}
							ev = n;
						}
						ev[en++] = e;
					}
				}
			}
		}
	}
	for (size_t i = 0; i < d.tn; i++) {
		for (size_t k = 0; k < d.t[i].lo_n; k++) {
			if (en + 1 > ecap) {
				ecap = ecap ? ecap * 2 : 256;
				int64_t *n = realloc(ev, ecap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				ev = n;
			}
			ev[en++] = d.t[i].lo[k].t;
		}
	}
	/* and every instant at which a provider's NS reachability changes */
	size_t nedge = nsr_edges(d.nsr, NULL, 0);
	if (en + nedge + 1 > ecap) {
		int64_t *n = realloc(ev, (en + nedge + 1) * sizeof(*n));
		if (n == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		ev = n;
	}
	en += nsr_edges(d.nsr, ev + en, nedge);
	ev[en++] = at;
	qsort(ev, en, sizeof(*ev), cmp64);
	for (size_t i = 0; i < en && d.err == OBS_EOK; i++) {
		if (ev[i] > at || (i > 0 && ev[i] == ev[i - 1]))
			continue;
		advance(&d, ev[i]);
		for (size_t k = 0; k < sizeof(state_detectors) / sizeof(state_detectors[0]); k++)
			state_detectors[k].fn(&d, ev[i]);
	}
	det_t_history(&d);
	det_a_order(&d);
	if ((ret = det_t_resolver(&d)) || (ret = det_t_anomaly(&d)))
		goto done;
	if ((ret = has_passive(&d, &passive)))
		goto done;
	if (passive && (ret = fetch_run(db, zone, at, NULL, det_o_fetch, NULL, &d)))
		goto done;
	if ((ret = det_r_truncated(&d)))
		goto done;
	if ((ret = og_run(db, zone, at, opts ? opts->baseline : 0, NULL, det_o_vantage, &d)))
		goto done;
	if ((ret = d.err) || (ret = det_o_polls(&d, &rp)) || (ret = det_a_vantage(&d, &rp)) ||
	    (ret = det_o_skew(&d, &rp)) || (ret = det_o_coverage(&d)))
		goto done;
	ret = d.err;
	for (size_t i = 0; i < d.mn && ret == OBS_EOK; i++) {
		det_finding_t *f = &d.m[i].f;
		obs_usec_t end = f->hi == INT64_MAX ? at : f->hi;
		if (strcmp(f->id, "R-2") == 0 && end - f->lo > 600 * OBS_USEC_PER_SEC)
			f->sev = SEV_WARN; /* persists beyond a change */
		cb(arg, f);
	}
done:
	for (size_t i = 0; i < d.sn; i++)
		free(d.s[i].runs);
	for (size_t i = 0; i < d.tn; i++)
		free(d.t[i].lo);
	free(d.s);
	free(d.t);
	free(d.m);
	free(d.novalid);
	free(ev);
	det_o_polls_free(&rp);
	det_judge_free(&d);
	vers_cache_free(d.vc);
	nsr_free(d.nsr);
	return ret;
}
