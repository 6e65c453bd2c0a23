/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs_err.h"
#include "oglitch.h"

#define OUT_SECURE   1
#define OUT_INSECURE 2
#define OUT_BOGUS    3
#define OUT_LOST     4

struct vstate {
	int64_t target_id;
	og_vantage_t v;
	int64_t secure, bogus_insecure, bogus_bogus;
};

static const char *const SQL_STREAM =
    "SELECT tg.id, c.name, tg.host, tg.address, s.id, s.qname, s.qtype, s.role, o.id, o.t - "
    "c.clock_offset_us, o.outcome FROM observation o JOIN series s ON s.id = o.series_id JOIN "
    "target tg ON tg.id = s.target_id JOIN collector c ON c.id = tg.collector_id WHERE tg.kind = "
    "'resolver' AND tg.zone = ?1 AND (s.flags & 2) = 0 AND o.outcome IS NOT NULL AND o.t - "
    "c.clock_offset_us <= ?2 ORDER BY tg.id, s.id, o.t, o.id";

static const char *const SQL_CACHED =
    "SELECT o.version_id, s.role, max(o.ttl_s), min(o.id) FROM observation o JOIN series s ON "
    "s.id = o.series_id WHERE s.target_id = ?1 AND (s.flags & 2) != 0 AND o.t >= ?2 + (SELECT "
    "c.clock_offset_us FROM target tg JOIN collector c ON c.id = tg.collector_id WHERE tg.id = "
    "?1) AND o.t <= ?3 + (SELECT c.clock_offset_us FROM target tg JOIN collector c ON c.id = "
    "tg.collector_id WHERE tg.id = ?1) AND o.version_id IS NOT NULL AND ((s.qname = ?4 AND s.qtype "
    "= ?5) OR s.role IN "
    "('dnskey', 'ds')) GROUP BY o.version_id, s.role ORDER BY min(o.id) LIMIT 8";

static void attribute(sqlite3 *sql, int64_t target, og_glitch_t *g)
{
	sqlite3_stmt *st = NULL;
	g->cached_n = 0;
	if (sqlite3_prepare_v2(sql, SQL_CACHED, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, target);
	/* a CD=1 read is made in the same round, just after or before the CD=0 one */
	sqlite3_bind_int64(st, 2, g->first_bad - OBS_USEC_PER_SEC / 2);
	sqlite3_bind_int64(st, 3, g->last_bad + OBS_USEC_PER_SEC / 2);
	sqlite3_bind_text(st, 4, g->qname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, g->qtype);
	while (g->cached_n < OG_CACHED && sqlite3_step(st) == SQLITE_ROW) {
		og_cached_t *c = &g->cached[g->cached_n++];
		c->version_id = sqlite3_column_int64(st, 0);
		snprintf(c->role, sizeof(c->role), "%s", (const char *)sqlite3_column_text(st, 1));
		c->ttl_s = sqlite3_column_int64(st, 2);
		c->first_obs = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
}

struct stream {
	int64_t target, series;
	bool open;
	og_glitch_t g;
	obs_usec_t last_good;
	bool have_good;
};

struct glist {
	og_glitch_t *g;
	int64_t *target;
	size_t n, cap;
};

static int keep(struct glist *l, const og_glitch_t *g, int64_t target)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		og_glitch_t *ng = realloc(l->g, nc * sizeof(*ng));
		if (ng == NULL)
			return OBS_ENOMEM;
		l->g = ng;
		int64_t *nt = realloc(l->target, nc * sizeof(*nt));
		if (nt == NULL)
			return OBS_ENOMEM;
		l->target = nt;
		l->cap = nc;
	}
	l->g[l->n] = *g;
	l->target[l->n++] = target;
	return OBS_EOK;
}

int og_run(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t baseline, og_glitch_fn gcb,
	   og_vantage_fn vcb, void *arg)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *st = NULL;
	struct vstate *vs = NULL;
	size_t vn = 0, vcap = 0;
	struct glist gl = {0};
	int ret = OBS_ESQL;
	if (baseline <= 0)
		baseline = 60 * OBS_USEC_PER_SEC;
	int64_t t0 = 0;
	{
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(
			sql,
			"SELECT min(o.t - c.clock_offset_us) FROM observation o JOIN "
			"series s ON s.id = o.series_id JOIN target tg ON tg.id = "
			"s.target_id JOIN collector c ON c.id = tg.collector_id WHERE "
			"tg.kind = 'resolver' AND tg.zone = ? AND o.outcome IS NOT "
			"NULL",
			-1, &q, NULL) != SQLITE_OK)
			goto done;
		sqlite3_bind_text(q, 1, zone, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			t0 = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	if (sqlite3_prepare_v2(sql, SQL_STREAM, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	struct stream s = {0};
	struct vstate *cur = NULL;
	int rc;
	for (;;) {
		rc = sqlite3_step(st);
		bool row = rc == SQLITE_ROW;
		int64_t tid = row ? sqlite3_column_int64(st, 0) : 0;
		int64_t sid = row ? sqlite3_column_int64(st, 4) : 0;
		if (s.open && (!row || sid != s.series)) { /* stream ends with the glitch open */
			s.g.hi = INT64_MAX;
			if ((ret = keep(&gl, &s.g, s.target)))
				goto done;
			s.open = false;
		}
		if (!row)
			break;
		if (cur == NULL || cur->target_id != tid) {
			if (vn == vcap) {
				vcap = vcap ? vcap * 2 : 8;
				struct vstate *n = realloc(vs, vcap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				vs = n;
			}
			cur = &vs[vn++];
			memset(cur, 0, sizeof(*cur));
			cur->target_id = tid;
			snprintf(cur->v.resolver, sizeof(cur->v.resolver), "%s",
				 (const char *)sqlite3_column_text(st, 2));
			snprintf(cur->v.address, sizeof(cur->v.address), "%s",
				 (const char *)sqlite3_column_text(st, 3));
			snprintf(cur->v.vantage, sizeof(cur->v.vantage), "%s/%s",
				 (const char *)sqlite3_column_text(st, 1), cur->v.resolver);
			cur->v.baseline_lo = t0;
			cur->v.baseline_hi = t0 + baseline;
		}
		if (sid != s.series) {
			memset(&s, 0, sizeof(s));
			s.target = tid;
			s.series = sid;
		}
		const char *role = (const char *)sqlite3_column_text(st, 7);
		int64_t oid = sqlite3_column_int64(st, 8);
		obs_usec_t t = sqlite3_column_int64(st, 9);
		int out = sqlite3_column_int(st, 10);
		bool is_bogus_canary = strcmp(role, "bogus") == 0;
		if (is_bogus_canary) {
			cur->bogus_insecure += out == OUT_INSECURE;
			cur->bogus_bogus += out == OUT_BOGUS;
			continue;
		}
		cur->secure += out == OUT_SECURE;
		bool bad = out == OUT_BOGUS || out == OUT_LOST;
		if (t < t0 + baseline) {
			cur->v.baseline_polls++;
			cur->v.baseline_fail += bad;
			if (bad && cur->v.first_obs == 0)
				cur->v.first_obs = oid;
		}
		const char *kind = out == OUT_BOGUS ? "lost-validation" : "lost-resolution";
		if (s.open && (!bad || strcmp(kind, s.g.kind) != 0)) {
			s.g.hi = t;
			if ((ret = keep(&gl, &s.g, s.target)))
				goto done;
			s.open = false;
		}
		if (bad && !s.open) {
			memset(&s.g, 0, sizeof(s.g));
			snprintf(s.g.vantage, sizeof(s.g.vantage), "%s", cur->v.vantage);
			snprintf(s.g.resolver, sizeof(s.g.resolver), "%s", cur->v.resolver);
			snprintf(s.g.address, sizeof(s.g.address), "%s", cur->v.address);
			s.g.kind = kind;
			snprintf(s.g.qname, sizeof(s.g.qname), "%s",
				 (const char *)sqlite3_column_text(st, 5));
			s.g.qtype = (uint16_t)sqlite3_column_int(st, 6);
			snprintf(s.g.role, sizeof(s.g.role), "%s", role);
			s.g.lo = s.have_good ? s.last_good : t;
			s.g.first_bad = t;
			s.g.first_obs = oid;
			s.open = true;
		}
		if (bad) {
			s.g.last_bad = t;
			s.g.last_obs = oid;
			s.g.polls++;
		} else {
			s.last_good = t;
			s.have_good = true;
		}
	}
	if (rc != SQLITE_DONE)
		goto done;
	for (size_t i = 0; i < vn; i++) {
		og_vantage_t *v = &vs[i].v;
		v->broken = v->baseline_polls > 0 && v->baseline_fail * 5 >= v->baseline_polls * 4;
		v->nonvalidating = vs[i].secure == 0 && vs[i].bogus_insecure > 0;
		if (vcb)
			vcb(arg, v);
	}
	for (size_t i = 0; i < gl.n; i++) {
		og_glitch_t *g = &gl.g[i];
		for (size_t k = 0; k < vn; k++) {
			if (vs[k].target_id == gl.target[i]) {
				g->excluded = vs[k].v.broken;
				g->validating = !vs[k].v.nonvalidating;
			}
		}
		attribute(sql, gl.target[i], g);
		if (gcb)
			gcb(arg, g);
	}
	ret = OBS_EOK;
done:
	sqlite3_finalize(st);
	free(vs);
	free(gl.g);
	free(gl.target);
	return ret;
}
