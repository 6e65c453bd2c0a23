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

/* The zone's resolver series, grouped by target (a vantage), in the order the vantages and
 * their questions are reported. */
static const char *const SQL_SERIES =
    "SELECT tg.id, c.name, tg.host, tg.address, c.clock_offset_us, s.id, s.qname, s.qtype, "
    "s.role, s.flags FROM series s JOIN target tg ON tg.id = s.target_id JOIN collector c ON "
    "c.id = tg.collector_id WHERE tg.kind = 'resolver' AND tg.zone = ?1 ORDER BY tg.id, s.id";

/* A series' first poll with an outcome (for the start of the healthy baseline). */
static const char *const SQL_FIRST =
    "SELECT o.t FROM observation o WHERE o.series_id = ?1 AND o.outcome IS NOT NULL ORDER BY "
    "o.t LIMIT 1";

/* A series' polls with an outcome up to ?2 (in the collector's own clock), in time order. */
static const char *const SQL_POLLS =
    "SELECT o.id, o.t, o.outcome FROM observation o WHERE o.series_id = ?1 AND o.outcome IS NOT "
    "NULL AND o.t <= ?2 ORDER BY o.t, o.id";

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

/* one resolver series of the zone (SQL_SERIES) */
struct oser {
	int64_t target, id, off;
	int flags;
	char coll[64], host[128], address[80], qname[256], role[16];
	uint16_t qtype;
	bool polls; /* has a poll with an outcome (first_poll) */
};

struct octx {
	sqlite3 *sql;
	sqlite3_stmt *polls;
	obs_usec_t at, t0, baseline;
	bool glitches; /* track the glitches (false: only the vantages are asked for) */
	struct vstate *vs;
	size_t vn, vcap;
	struct glist gl;
};

static int load_series(sqlite3 *sql, const char *zone, struct oser **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int ret = OBS_ESQL, rc;
	if (sqlite3_prepare_v2(sql, SQL_SERIES, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			struct oser *m = realloc(*out, cap * sizeof(*m));
			if (m == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			*out = m;
		}
		struct oser *s = &(*out)[(*n)++];
		s->target = sqlite3_column_int64(st, 0);
		snprintf(s->coll, sizeof(s->coll), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(s->host, sizeof(s->host), "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(s->address, sizeof(s->address), "%s",
			 (const char *)sqlite3_column_text(st, 3));
		s->off = sqlite3_column_int64(st, 4);
		s->id = sqlite3_column_int64(st, 5);
		snprintf(s->qname, sizeof(s->qname), "%s",
			 (const char *)sqlite3_column_text(st, 6));
		s->qtype = (uint16_t)sqlite3_column_int(st, 7);
		snprintf(s->role, sizeof(s->role), "%s", (const char *)sqlite3_column_text(st, 8));
		s->flags = sqlite3_column_int(st, 9);
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(st);
	return ret;
}

/* The start of the healthy baseline: the first resolver poll with an outcome (any flags, no
 * `at` bound), in the reference clock; 0 when there is none. Each series' first poll is one
 * index step; a series without one (no outcome: not a CD=0/CD=1 pair) is not read again. */
static int first_poll(sqlite3 *sql, struct oser *ser, size_t n, int64_t *t0)
{
	sqlite3_stmt *st = NULL;
	bool have = false;
	*t0 = 0;
	if (sqlite3_prepare_v2(sql, SQL_FIRST, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	int ret = OBS_EOK;
	for (size_t i = 0; i < n && ret == OBS_EOK; i++) {
		sqlite3_bind_int64(st, 1, ser[i].id);
		int rc = sqlite3_step(st);
		ser[i].polls = rc == SQLITE_ROW;
		if (rc == SQLITE_ROW) {
			int64_t t = sqlite3_column_int64(st, 0) - ser[i].off;
			if (!have || t < *t0)
				*t0 = t;
			have = true;
		} else if (rc != SQLITE_DONE) {
			ret = OBS_ESQL;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

static struct vstate *vantage_of(struct octx *c, const struct oser *s)
{
	if (c->vn && c->vs[c->vn - 1].target_id == s->target)
		return &c->vs[c->vn - 1];
	if (c->vn == c->vcap) {
		size_t nc = c->vcap ? c->vcap * 2 : 8;
		struct vstate *n = realloc(c->vs, nc * sizeof(*n));
		if (n == NULL)
			return NULL;
		c->vs = n;
		c->vcap = nc;
	}
	struct vstate *cur = &c->vs[c->vn++];
	memset(cur, 0, sizeof(*cur));
	cur->target_id = s->target;
	snprintf(cur->v.resolver, sizeof(cur->v.resolver), "%s", s->host);
	snprintf(cur->v.address, sizeof(cur->v.address), "%s", s->address);
	snprintf(cur->v.vantage, sizeof(cur->v.vantage), "%s/%s", s->coll, cur->v.resolver);
	cur->v.baseline_lo = c->t0;
	cur->v.baseline_hi = c->t0 + c->baseline;
	return cur;
}

/* The polls of one CD=0 series in time order: the vantage's counts and, when asked for, the
 * series' glitches. Without glitches the scan stops as soon as nothing more can change what is
 * reported of the vantage: past the baseline once a secure answer is seen (a bogus canary's
 * series is only read while the vantage has none). */
static int scan_series(struct octx *c, const struct oser *ser, bool bogus_pass)
{
	struct stream s = {.target = ser->target, .series = ser->id};
	bool is_bogus_canary = strcmp(ser->role, "bogus") == 0;
	int ret = OBS_EOK, rc;
	sqlite3_bind_int64(c->polls, 1, ser->id);
	sqlite3_bind_int64(c->polls, 2, obs_usec_shift(c->at, ser->off));
	struct vstate *cur = NULL;
	while ((rc = sqlite3_step(c->polls)) == SQLITE_ROW) {
		if (cur == NULL && (cur = vantage_of(c, ser)) == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		int64_t oid = sqlite3_column_int64(c->polls, 0);
		obs_usec_t t = sqlite3_column_int64(c->polls, 1) - ser->off;
		int out = sqlite3_column_int(c->polls, 2);
		if (is_bogus_canary) {
			cur->bogus_insecure += out == OUT_INSECURE;
			cur->bogus_bogus += out == OUT_BOGUS;
			if (bogus_pass && cur->bogus_insecure > 0)
				break;
			continue;
		}
		cur->secure += out == OUT_SECURE;
		bool bad = out == OUT_BOGUS || out == OUT_LOST;
		if (t < c->t0 + c->baseline) {
			cur->v.baseline_polls++;
			cur->v.baseline_fail += bad;
			if (bad && cur->v.first_obs == 0)
				cur->v.first_obs = oid;
		} else if (!c->glitches && cur->secure > 0) {
			break;
		}
		if (!c->glitches)
			continue;
		const char *kind = out == OUT_BOGUS ? "lost-validation" : "lost-resolution";
		if (s.open && (!bad || strcmp(kind, s.g.kind) != 0)) {
			s.g.hi = t;
			if ((ret = keep(&c->gl, &s.g, s.target)))
				goto done;
			s.open = false;
		}
		if (bad && !s.open) {
			memset(&s.g, 0, sizeof(s.g));
			snprintf(s.g.vantage, sizeof(s.g.vantage), "%s", cur->v.vantage);
			snprintf(s.g.resolver, sizeof(s.g.resolver), "%s", cur->v.resolver);
			snprintf(s.g.address, sizeof(s.g.address), "%s", cur->v.address);
			s.g.kind = kind;
			snprintf(s.g.qname, sizeof(s.g.qname), "%s", ser->qname);
			s.g.qtype = ser->qtype;
			snprintf(s.g.role, sizeof(s.g.role), "%s", ser->role);
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
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = OBS_ESQL;
		goto done;
	}
	if (s.open) { /* the series ends with the glitch open */
		s.g.hi = INT64_MAX;
		ret = keep(&c->gl, &s.g, s.target);
	}
done:
	sqlite3_reset(c->polls);
	return ret;
}

int og_run(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t baseline, og_glitch_fn gcb,
	   og_vantage_fn vcb, void *arg)
{
	struct octx c = {.sql = an_db_sql(db), .at = at, .glitches = gcb != NULL};
	struct oser *ser = NULL;
	size_t sn = 0;
	int ret;
	c.baseline = baseline > 0 ? baseline : 60 * OBS_USEC_PER_SEC;
	if ((ret = load_series(c.sql, zone, &ser, &sn)) ||
	    (ret = first_poll(c.sql, ser, sn, &c.t0)))
		goto done;
	if (sqlite3_prepare_v2(c.sql, SQL_POLLS, -1, &c.polls, NULL) != SQLITE_OK) {
		ret = OBS_ESQL;
		goto done;
	}
	/* vantage by vantage (target id order), its CD=0 series in id order */
	for (size_t i = 0; i < sn;) {
		size_t k = i;
		while (k < sn && ser[k].target == ser[i].target)
			k++;
		for (size_t j = i; j < k; j++) {
			if ((ser[j].flags & 2) != 0 || !ser[j].polls)
				continue;
			if (!c.glitches && strcmp(ser[j].role, "bogus") == 0)
				continue; /* below, once the secure answers are counted */
			if ((ret = scan_series(&c, &ser[j], false)))
				goto done;
		}
		for (size_t j = i; j < k && !c.glitches; j++) {
			if ((ser[j].flags & 2) != 0 || !ser[j].polls ||
			    strcmp(ser[j].role, "bogus") != 0)
				continue;
			struct vstate *cur = c.vn && c.vs[c.vn - 1].target_id == ser[i].target
						 ? &c.vs[c.vn - 1]
						 : NULL;
			if (cur && (cur->secure > 0 || cur->bogus_insecure > 0))
				continue; /* decided: O-3 needs no secure answer and one insecure */
			if ((ret = scan_series(&c, &ser[j], true)))
				goto done;
		}
		i = k;
	}
	for (size_t i = 0; i < c.vn; i++) {
		og_vantage_t *v = &c.vs[i].v;
		v->broken = v->baseline_polls > 0 && v->baseline_fail * 5 >= v->baseline_polls * 4;
		v->nonvalidating = c.vs[i].secure == 0 && c.vs[i].bogus_insecure > 0;
		if (vcb)
			vcb(arg, v);
	}
	for (size_t i = 0; i < c.gl.n; i++) {
		og_glitch_t *g = &c.gl.g[i];
		for (size_t k = 0; k < c.vn; k++) {
			if (c.vs[k].target_id == c.gl.target[i]) {
				g->excluded = c.vs[k].v.broken;
				g->validating = !c.vs[k].v.nonvalidating;
			}
		}
		attribute(c.sql, c.gl.target[i], g);
		gcb(arg, g);
	}
	ret = OBS_EOK;
done:
	sqlite3_finalize(c.polls);
	free(ser);
	free(c.vs);
	free(c.gl.g);
	free(c.gl.target);
	return ret;
}
