/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "ingest.h"
#include "ochunk.h"
#include "keys.h"
#include "obs_err.h"

int ing_known_collector_schema(void)
{
	return (int)obs_collector_migrations_n;
}

/* file: URI for ATTACH ... mode=ro, percent-encoding what a URI path may not hold raw */
static int uri_of(const char *path, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (o + 4 >= len)
			return OBS_ETOOBIG;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-~", *p))
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, len - o, "%%%02X", *p);
	}
	int n = snprintf(buf + o, len - o, "?mode=ro");
	return n < 0 || (size_t)n >= len - o ? OBS_ETOOBIG : OBS_EOK;
}

/* Open the collector file read-only, check its schema, read its name. */
static int check_collector(const char *path, char *name, size_t namelen, int64_t *version,
			   char *err, size_t errlen)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int ret = OBS_ESCHEMA;
	if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, c ? sqlite3_errmsg(c) : "?");
		ret = OBS_ESQL;
		goto done;
	}
	sqlite3_exec(c, "PRAGMA query_only=1", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(c, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: not a collector database (no schema_version: %s)", path,
			 sqlite3_errmsg(c));
		goto done;
	}
	*version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (*version < 1 || *version > ing_known_collector_schema()) {
		snprintf(err, errlen,
			 "%s: collector schema version %lld is unknown (this analyzer reads "
			 "versions 1 to %d)",
			 path, (long long)*version, ing_known_collector_schema());
		goto done;
	}
	if (sqlite3_prepare_v2(c, "SELECT value FROM meta WHERE key = 'collector'", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: collector database without a collector name", path);
		goto done;
	}
	snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 0));
	ret = OBS_EOK;
done:
	sqlite3_finalize(st);
	sqlite3_close(c);
	return ret;
}

struct ctx {
	an_db_t *db;
	sqlite3 *sql;
	int64_t cid;
	char *err;
	size_t errlen;
};

static int sqlfail(struct ctx *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s", what, sqlite3_errmsg(c->sql));
	return OBS_ESQL;
}

/* Prepare sql and bind (cid, a, b) to the parameters it has. */
static int prep3(struct ctx *c, const char *sql, int64_t a, int64_t b, sqlite3_stmt **st)
{
	*st = NULL;
	if (sqlite3_prepare_v2(c->sql, sql, -1, st, NULL) != SQLITE_OK)
		return sqlfail(c, sql);
	int n = sqlite3_bind_parameter_count(*st);
	if (n >= 1)
		sqlite3_bind_int64(*st, 1, c->cid);
	if (n >= 2)
		sqlite3_bind_int64(*st, 2, a);
	if (n >= 3)
		sqlite3_bind_int64(*st, 3, b);
	return OBS_EOK;
}

/* Prepare, bind (cid, a, b), step to completion. *changes (may be NULL) gets the rows changed. */
static int run2(struct ctx *c, const char *sql, int64_t a, int64_t b, int64_t *changes)
{
	sqlite3_stmt *st;
	int ret = prep3(c, sql, a, b, &st);
	if (ret)
		return ret;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlfail(c, sql);
	if (changes)
		*changes = sqlite3_changes(c->sql);
	return OBS_EOK;
}

static int hwm_get(struct ctx *c, const char *tbl, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	*out = 0;
	if (sqlite3_prepare_v2(c->sql, "SELECT last_id FROM hwm WHERE collector_id = ? AND tbl = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return sqlfail(c, "hwm");
	sqlite3_bind_int64(st, 1, c->cid);
	sqlite3_bind_text(st, 2, tbl, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return OBS_EOK;
}

static int hwm_set(struct ctx *c, const char *tbl, int64_t v)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->sql,
			       "INSERT INTO hwm (collector_id, tbl, last_id) VALUES (?,?,?) ON "
			       "CONFLICT DO UPDATE SET last_id = excluded.last_id WHERE last_id != "
			       "excluded.last_id",
			       -1, &st, NULL) != SQLITE_OK)
		return sqlfail(c, "hwm");
	sqlite3_bind_int64(st, 1, c->cid);
	sqlite3_bind_text(st, 2, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, v);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OBS_EOK : sqlfail(c, "hwm");
}

static int max_id(struct ctx *c, const char *sql, int64_t *out)
{
	if (an_db_int(c->db, sql, out))
		return sqlfail(c, sql);
	return OBS_EOK;
}

static const char *const SQL_TARGET =
    "INSERT INTO target (collector_id, src_id, kind, zone, origin, host, address, pinned, "
    "first_seen) SELECT ?1, id, kind, zone, origin, host, address, pinned, first_seen FROM "
    "c.target WHERE id > ?2 AND id <= ?3 ORDER BY id ON CONFLICT DO NOTHING";
static const char *const SQL_SERIES =
    "INSERT INTO series (collector_id, src_id, target_id, qname, qtype, flags, role) SELECT ?1, "
    "s.id, t.id, s.qname, s.qtype, s.flags, s.role FROM c.series s JOIN main.target t ON "
    "t.collector_id = ?1 AND t.src_id = s.target_id WHERE s.id > ?2 AND s.id <= ?3 ORDER BY "
    "s.id ON CONFLICT DO NOTHING";
static const char *const SQL_VERSION =
    "INSERT INTO version (hash, kind, owner, type, rr_count, sig_count, rdata, rrsig) SELECT "
    "hash, kind, owner, type, rr_count, sig_count, rdata, rrsig FROM c.version WHERE id > ?2 "
    "AND id <= ?3 AND ?1 > 0 ORDER BY id ON CONFLICT (hash) DO NOTHING";
static const char *const SQL_VMAP =
    "INSERT INTO version_map (collector_id, src_id, version_id) SELECT ?1, cv.id, v.id FROM "
    "c.version cv JOIN main.version v ON v.hash = cv.hash WHERE cv.id > ?2 AND cv.id <= ?3 ON "
    "CONFLICT DO NOTHING";
static const char *const SQL_NSL =
    "INSERT INTO ns_listing (collector_id, src_id, zone, source_target_id, ns, ttl_s, "
    "first_listed, last_listed) SELECT ?1, l.id, l.zone, t.id, l.ns, l.ttl_s, l.first_listed, "
    "l.last_listed FROM c.ns_listing l JOIN main.target t ON t.collector_id = ?1 AND t.src_id = "
    "l.source_target_id WHERE ?2 = ?2 AND ?3 = ?3 ON CONFLICT DO UPDATE SET ttl_s = "
    "excluded.ttl_s, last_listed = excluded.last_listed WHERE ttl_s != excluded.ttl_s OR "
    "last_listed != excluded.last_listed";
static const char *const SQL_NSA =
    "INSERT INTO ns_address (collector_id, src_id, zone, ns, address, source, first_seen, "
    "last_seen) SELECT ?1, id, zone, ns, address, source, first_seen, last_seen FROM "
    "c.ns_address WHERE ?2 = ?2 AND ?3 = ?3 ON CONFLICT DO UPDATE SET last_seen = "
    "excluded.last_seen WHERE last_seen != excluded.last_seen";

/* passive capture (collector migration 2; analysis migration 2): the pairs beside their
 * observations, the capture sources, and the windows with drops */
static const char *const SQL_PPAIR =
    "INSERT INTO passive_pair (collector_id, src_id, observation_id, zone, client, client_port, "
    "server, server_port, t_query, t_response, transport, qname, qtype, qflags, status, rcode, "
    "rflags, ede, version_id, ttl_s) SELECT ?1, p.observation_id, mo.id, t.zone, t.origin, "
    "p.client_port, t.address, p.server_port, o.t, p.t_response, p.transport, s.qname, "
    "s.qtype, s.flags, o.status, o.rcode, o.flags, o.ede, mo.version_id, o.ttl_s FROM "
    "c.passive_packet p JOIN c.observation o ON o.id = p.observation_id JOIN c.series s ON s.id "
    "= o.series_id JOIN c.target t ON t.id = s.target_id JOIN temp.ing_idmap mo ON mo.src_id "
    "= o.id WHERE p.observation_id > ?2 AND "
    "p.observation_id <= ?3 ORDER BY p.observation_id ON CONFLICT DO NOTHING";
/* the last capture ingested may have ended or gained windows since: rescan from it */
static const char *const SQL_CAPTURE =
    "INSERT INTO capture (collector_id, src_id, source, linktype, snaplen, started, ended) "
    "SELECT ?1, id, source, linktype, snaplen, started, ended FROM c.capture WHERE id >= ?2 AND "
    "id <= ?3 ORDER BY id ON CONFLICT DO UPDATE SET ended = excluded.ended WHERE ended IS NOT "
    "excluded.ended";
static const char *const SQL_CDROP =
    "INSERT INTO capture_drop (collector_id, capture_src_id, t_start, t_end, received, dropped, "
    "ifdropped) SELECT ?1, capture_id, t_start, t_end, received, dropped, ifdropped FROM "
    "c.capture_stats WHERE capture_id >= ?2 AND capture_id <= ?3 AND dropped + ifdropped > 0 "
    "ORDER BY capture_id, t_start ON CONFLICT DO UPDATE SET t_end = excluded.t_end, received = "
    "excluded.received, dropped = excluded.dropped, ifdropped = excluded.ifdropped WHERE "
    "(t_end, received, dropped, ifdropped) IS NOT (excluded.t_end, excluded.received, "
    "excluded.dropped, excluded.ifdropped)";

/* Copy the passive tables above their high-water marks (a collector database of schema 1 has
 * none: nothing to do). */
static int ingest_passive(struct ctx *c, int64_t *pairs)
{
	int64_t have = 0, old_p, neu_p, old_c, neu_c, dummy;
	int ret;
	*pairs = 0;
	if ((ret = max_id(c,
			  "SELECT count(*) FROM c.sqlite_master WHERE type = 'table' AND name IN "
			  "('passive_packet', 'capture', 'capture_stats')",
			  &have)) ||
	    have != 3)
		return ret;
	if ((ret = hwm_get(c, "passive_packet", &old_p)) ||
	    (ret = max_id(c, "SELECT coalesce(max(observation_id), 0) FROM c.passive_packet",
			  &neu_p)) ||
	    (ret = hwm_get(c, "capture", &old_c)) ||
	    (ret = max_id(c, "SELECT coalesce(max(id), 0) FROM c.capture", &neu_c)))
		return ret;
	if (neu_p < old_p || neu_c < old_c) {
		snprintf(c->err, c->errlen,
			 "passive rows went back (%lld < %lld, %lld < %lld ingested): a different "
			 "database under the same name?",
			 (long long)neu_p, (long long)old_p, (long long)neu_c, (long long)old_c);
		return OBS_ESCHEMA;
	}
	if ((ret = run2(c, SQL_PPAIR, old_p, neu_p, pairs)) ||
	    (ret = run2(c, SQL_CAPTURE, old_c, neu_c, &dummy)) ||
	    (ret = run2(c, SQL_CDROP, old_c, neu_c, &dummy)))
		return ret;
	if (neu_p != old_p && (ret = hwm_set(c, "passive_packet", neu_p)))
		return ret;
	if (neu_c != old_c && (ret = hwm_set(c, "capture", neu_c)))
		return ret;
	return OBS_EOK;
}

/* TTL anomalies (collector migration 3; analysis migration 6): T-5 (i), (ii) */
static const char *const SQL_TTLA =
    "INSERT INTO ttl_anomaly (observation_id, collector_id, src_id, series_id, t, version_id, "
    "ttl_min_s, ttl_max_s, sig_ttl_min_s, sig_ttl_max_s) SELECT mo.id, ?1, a.observation_id, "
    "mo.series_id, mo.t, mo.version_id, a.ttl_min_s, a.ttl_max_s, a.sig_ttl_min_s, "
    "a.sig_ttl_max_s FROM c.ttl_anomaly a JOIN temp.ing_idmap mo ON mo.src_id = "
    "a.observation_id WHERE a.observation_id > ?2 AND a.observation_id <= ?3 ORDER "
    "BY a.observation_id ON CONFLICT DO NOTHING";

/* Copy the rows of the collector table tbl above its high-water mark with sql (bound cid and
 * the key range (old, neu]; key: the table's growing key column). A collector database whose
 * schema predates the table has none: nothing to do. Runs after the observations are copied. */
static int copy_above_hwm(struct ctx *c, const char *tbl, const char *key, const char *sql,
			  int64_t *rows)
{
	int64_t have = 0, old, neu;
	char q[200];
	int ret;
	*rows = 0;
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM c.sqlite_master WHERE type = 'table' AND name = '%s'", tbl);
	if ((ret = max_id(c, q, &have)) || have != 1)
		return ret;
	snprintf(q, sizeof(q), "SELECT coalesce(max(%s), 0) FROM c.%s", key, tbl);
	if ((ret = hwm_get(c, tbl, &old)) || (ret = max_id(c, q, &neu)))
		return ret;
	if (neu < old) {
		snprintf(c->err, c->errlen,
			 "%s rows went back (%lld < %lld ingested): a different database under the "
			 "same name?",
			 tbl, (long long)neu, (long long)old);
		return OBS_ESCHEMA;
	}
	if ((ret = run2(c, sql, old, neu, rows)))
		return ret;
	return neu != old ? hwm_set(c, tbl, neu) : OBS_EOK;
}

/* Wall-clock steps (collector migration 4; analysis migration 10): E4 */
static const char *const SQL_CSTEP =
    "INSERT INTO clock_step (collector_id, src_id, t_before, t_after, mono_before, mono_after, "
    "step_us) SELECT ?1, k.id, k.t_before, k.t_after, k.mono_before, k.mono_after, k.step_us "
    "FROM c.clock_step k WHERE k.id > ?2 AND k.id <= ?3 ORDER BY k.id ON CONFLICT DO NOTHING";

static const struct {
	const char *tbl;
	const char *max_sql;
} copies[] = {
    {"target", "SELECT coalesce(max(id), 0) FROM c.target"},
    {"series", "SELECT coalesce(max(id), 0) FROM c.series"},
    {"version", "SELECT coalesce(max(id), 0) FROM c.version"},
    {"observation", "SELECT coalesce(max(id), 0) FROM c.observation"},
};

/* One pass over the observations just copied, in the order they were made (row id): the runs
 * of every series they touch (resumed from its open run, as ing_rebuild_runs does) and the TTL
 * range and first/last sighting of every version authoritative servers served (parent and
 * provider polls, captured iterative queries). A collector writes a series' polls in time
 * order; a series whose answers go back in time (t below the last answer's, this ingest's or
 * an earlier one's) has all its runs rebuilt from every observation by ing_rebuild_runs,
 * which sorts by (t, id). */
struct run_state {
	bool open, ttl_set, have_prev;
	int64_t v, first, last, count, ttl, fobs, lobs, prev;
};

struct ser_info {
	bool known, auth, touched, fallback;
	struct run_state r; /* the run being extended (at first the open run) */
};

struct ver_agg {
	bool seen, ttl_seen;
	int64_t mx, mn, first, last;
};

static int run_insert(sqlite3_stmt *ins, int64_t sid, const struct run_state *r, bool closed,
		      int64_t next)
{
	sqlite3_bind_int64(ins, 1, sid);
	sqlite3_bind_int64(ins, 2, r->v);
	sqlite3_bind_int64(ins, 3, r->first);
	sqlite3_bind_int64(ins, 4, r->last);
	sqlite3_bind_int64(ins, 5, r->count);
	if (r->have_prev)
		sqlite3_bind_int64(ins, 6, r->prev);
	else
		sqlite3_bind_null(ins, 6);
	if (closed)
		sqlite3_bind_int64(ins, 7, next);
	else
		sqlite3_bind_null(ins, 7);
	if (r->ttl_set)
		sqlite3_bind_int64(ins, 8, r->ttl);
	else
		sqlite3_bind_null(ins, 8);
	sqlite3_bind_int64(ins, 9, r->fobs);
	sqlite3_bind_int64(ins, 10, r->lobs);
	int rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	return rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
}

/* Start series sid: take over its open run (deleted here, written again when it closes or at
 * the end). *r is reset. */
static int run_resume(sqlite3_stmt *open_q, sqlite3_stmt *del, int64_t sid, struct run_state *r)
{
	memset(r, 0, sizeof(*r));
	sqlite3_bind_int64(open_q, 1, sid);
	int rc = sqlite3_step(open_q);
	int64_t open_id = 0;
	if (rc == SQLITE_ROW) {
		open_id = sqlite3_column_int64(open_q, 0);
		r->open = true;
		r->first = sqlite3_column_int64(open_q, 1);
		r->last = sqlite3_column_int64(open_q, 2);
		r->count = sqlite3_column_int64(open_q, 3);
		r->have_prev = sqlite3_column_type(open_q, 4) != SQLITE_NULL;
		r->prev = sqlite3_column_int64(open_q, 4);
		r->v = sqlite3_column_int64(open_q, 5);
		r->ttl_set = sqlite3_column_type(open_q, 6) != SQLITE_NULL;
		r->ttl = sqlite3_column_int64(open_q, 6);
		r->fobs = sqlite3_column_int64(open_q, 7);
		r->lobs = sqlite3_column_int64(open_q, 8);
	}
	sqlite3_reset(open_q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return OBS_ESQL;
	if (open_id) {
		sqlite3_bind_int64(del, 1, open_id);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		if (rc != SQLITE_DONE)
			return OBS_ESQL;
	}
	return OBS_EOK;
}

static int grow_zero(void **p, size_t *n, size_t need, size_t size)
{
	if (need <= *n)
		return OBS_EOK;
	void *q = realloc(*p, need * size);
	if (q == NULL)
		return OBS_ENOMEM;
	memset((char *)q + *n * size, 0, (need - *n) * size);
	*p = q;
	*n = need;
	return OBS_EOK;
}

static const char *const SQL_SER_INFO =
    "SELECT s.id, tg.kind IN ('parent', 'provider') OR (tg.kind = 'passive' AND (s.flags & 1) "
    "= 0) FROM series s JOIN target tg ON tg.id = s.target_id WHERE s.collector_id = ?";
static const char *const SQL_OPEN_RUN =
    "SELECT id, first_seen, last_seen, count, prev_poll, version_id, ttl_max_s, first_obs_id, "
    "last_obs_id FROM run WHERE series_id = ? AND next_poll IS NULL ORDER BY first_seen DESC "
    "LIMIT 1";
static const char *const SQL_RUN_INS =
    "INSERT INTO run (series_id, version_id, first_seen, last_seen, count, prev_poll, "
    "next_poll, ttl_max_s, first_obs_id, last_obs_id) VALUES (?,?,?,?,?,?,?,?,?,?)";
static const char *const SQL_VER_UPD =
    "UPDATE version SET ttl_max_s = max(coalesce(ttl_max_s, ?2), ?2), ttl_min_s = "
    "min(coalesce(ttl_min_s, ?3), ?3), first_seen = min(coalesce(first_seen, ?4), ?4), "
    "last_seen = max(coalesce(last_seen, ?5), ?5) WHERE id = ?1";

/* The run builder: fed every poll of this ingest in the order it was made. */
struct runb {
	struct ctx *c;
	sqlite3_stmt *open_q, *del, *ins, *upd, *undo;
	struct ser_info *ser;
	struct ver_agg *ver;
	size_t ser_n, ver_n;
	int64_t nseries;
};

static void runb_free(struct runb *b)
{
	sqlite3_finalize(b->open_q);
	sqlite3_finalize(b->del);
	sqlite3_finalize(b->undo);
	sqlite3_finalize(b->ins);
	sqlite3_finalize(b->upd);
	free(b->ser);
	free(b->ver);
	memset(b, 0, sizeof(*b));
}

/* the collector's series: which are authoritative (their versions' TTLs and sightings) */
static int runb_open(struct ctx *c, struct runb *b)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	sqlite3_stmt *q = NULL;
	int ret = OBS_ESQL;
	if (sqlite3_prepare_v2(c->sql, SQL_SER_INFO, -1, &q, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, c->cid);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t sid = sqlite3_column_int64(q, 0);
		if (sid < 0 || (ret = grow_zero((void **)&b->ser, &b->ser_n, (size_t)sid + 1,
						sizeof(*b->ser))) != OBS_EOK)
			goto fail;
		b->ser[sid].known = true;
		b->ser[sid].auth = sqlite3_column_int(q, 1) != 0;
	}
	sqlite3_finalize(q);
	q = NULL;
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(c->sql, SQL_OPEN_RUN, -1, &b->open_q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->sql, "DELETE FROM run WHERE id = ?", -1, &b->del, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(c->sql, "DELETE FROM run WHERE series_id = ?", -1, &b->undo, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(c->sql, SQL_RUN_INS, -1, &b->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->sql, SQL_VER_UPD, -1, &b->upd, NULL) != SQLITE_OK)
		goto fail;
	return OBS_EOK;
fail:
	sqlite3_finalize(q);
	if (c->err[0] == '\0')
		sqlfail(c, "runs");
	runb_free(b);
	return ret;
}

static int runb_row(struct runb *b, const oc_poll_t *p)
{
	int64_t sid = p->series_id;
	int ret;
	if (sid < 0 || (size_t)sid >= b->ser_n || !b->ser[sid].known) {
		snprintf(b->c->err, b->c->errlen, "observation of unknown series %lld",
			 (long long)sid);
		return OBS_ESQL;
	}
	struct ser_info *si = &b->ser[sid];
	struct run_state *r = &si->r;
	if (!si->touched) {
		si->touched = true;
		b->nseries++;
		if ((ret = run_resume(b->open_q, b->del, sid, r)) != OBS_EOK)
			return ret;
	}
	if (p->status != 0)
		return OBS_EOK; /* not answered: neither extends nor closes a run */
	int64_t oid = p->id, t = p->t;
	bool vnull = !p->has_version;
	int64_t v = vnull ? 0 : p->version_id;
	bool ttl_null = !p->has_ttl;
	int64_t ttl = p->ttl_s;
	if (!vnull && si->auth) {
		if (v < 0 || (ret = grow_zero((void **)&b->ver, &b->ver_n, (size_t)v + 1,
					      sizeof(*b->ver))) != OBS_EOK)
			return v < 0 ? OBS_ERANGE : ret;
		struct ver_agg *a = &b->ver[v];
		if (!ttl_null) {
			if (!a->ttl_seen || ttl > a->mx)
				a->mx = ttl;
			if (!a->ttl_seen || ttl < a->mn)
				a->mn = ttl;
			a->ttl_seen = true;
		}
		if (!a->seen || t < a->first)
			a->first = t;
		if (!a->seen || t > a->last)
			a->last = t;
		a->seen = true;
	}
	if (si->fallback)
		return OBS_EOK;
	if (r->open && t < r->last) { /* back in time: rebuilt after the pass */
		si->fallback = true;
		return OBS_EOK;
	}
	if (r->open && v == r->v) {
		r->last = t;
		r->lobs = oid;
		r->count++;
		if (!ttl_null && (!r->ttl_set || ttl > r->ttl)) {
			r->ttl = ttl;
			r->ttl_set = true;
		}
		return OBS_EOK;
	}
	if (r->open) { /* this poll closes it */
		if ((ret = run_insert(b->ins, sid, r, true, t)) != OBS_EOK)
			return ret;
		r->prev = r->last;
		r->have_prev = true;
	}
	r->open = true;
	r->v = v;
	r->first = r->last = t;
	r->count = 1;
	r->fobs = r->lobs = oid;
	r->ttl = ttl;
	r->ttl_set = !ttl_null;
	return OBS_EOK;
}

/* After the pass (the observations are readable): the open runs written, the series that went
 * back in time rebuilt, the versions' TTLs and sightings updated. */
static int runb_finish(struct runb *b)
{
	int ret, rc;
	/* the last run of each series stays open */
	for (size_t sid = 0; sid < b->ser_n; sid++) {
		const struct ser_info *si = &b->ser[sid];
		if (si->touched && !si->fallback && si->r.open &&
		    (ret = run_insert(b->ins, (int64_t)sid, &si->r, false, 0)) != OBS_EOK)
			return ret;
	}
	for (size_t sid = 0; sid < b->ser_n; sid++) {
		if (!b->ser[sid].fallback)
			continue;
		sqlite3_bind_int64(b->undo, 1, (int64_t)sid);
		rc = sqlite3_step(b->undo);
		sqlite3_reset(b->undo);
		if (rc != SQLITE_DONE)
			return OBS_ESQL;
		if ((ret = ing_rebuild_runs(b->c->db, (int64_t)sid)) != OBS_EOK)
			return ret;
	}
	for (size_t v = 0; v < b->ver_n; v++) {
		const struct ver_agg *a = &b->ver[v];
		if (!a->seen)
			continue;
		sqlite3_stmt *upd = b->upd;
		sqlite3_bind_int64(upd, 1, (int64_t)v);
		if (a->ttl_seen) {
			sqlite3_bind_int64(upd, 2, a->mx);
			sqlite3_bind_int64(upd, 3, a->mn);
		} else {
			sqlite3_bind_null(upd, 2);
			sqlite3_bind_null(upd, 3);
		}
		sqlite3_bind_int64(upd, 4, a->first);
		sqlite3_bind_int64(upd, 5, a->last);
		rc = sqlite3_step(upd);
		sqlite3_reset(upd);
		if (rc != SQLITE_DONE)
			return OBS_ESQL;
	}
	return OBS_EOK;
}

/* ---- the observations ----
 * One pass over the collector's new rows in the order they were made: each gets the next
 * observation id, goes into its series' chunk (ochunk.h) and through the run builder. The
 * rows that passive pairs and TTL anomalies point at are remembered in temp.ing_idmap, which
 * their copies join. */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct i64v {
	int64_t *v;
	size_t n, cap;
};

static int i64v_push(struct i64v *a, int64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		int64_t *v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			return OBS_ENOMEM;
		a->v = v, a->cap = cap;
	}
	a->v[a->n++] = x;
	return OBS_EOK;
}

/* the rows of sql (one integer column, bound ?1 = cid, ?2 = lo, ?3 = hi) appended to a */
static int i64v_query(struct ctx *c, struct i64v *a, const char *sql, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st;
	int rc, ret = prep3(c, sql, lo, hi, &st);
	if (ret)
		return ret;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = i64v_push(a, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = sqlfail(c, sql);
	return ret;
}

static bool c_has_table(struct ctx *c, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool have = false;
	if (sqlite3_prepare_v2(c->sql,
			       "SELECT 1 FROM c.sqlite_master WHERE type = 'table' AND name = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		have = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return have;
}

/* Resolver outcomes are set once both answers of a round are in (collector.c pair_done): a
 * resolver poll of the last SETTLE_WINDOW collector rows ingested without one is listed in
 * obs_unsettled, and gets it at a later ingest. */
#define SETTLE_WINDOW 100000

static int settle_outcomes(struct ctx *c, int64_t old, int64_t *updated)
{
	struct i64v ids = {0}, outs = {0};
	sqlite3_stmt *st = NULL;
	int ret, rc;
	*updated = 0;
	if ((ret = run2(c, "DELETE FROM obs_unsettled WHERE collector_id = ?1 AND src_id <= ?2",
			old - SETTLE_WINDOW, 0, NULL)))
		return ret;
	if ((ret = prep3(c,
			 "SELECT u.id, co.outcome FROM obs_unsettled u JOIN c.observation co ON "
			 "co.id = u.src_id WHERE u.collector_id = ?1 AND co.outcome IS NOT NULL",
			 0, 0, &st)))
		return ret;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = i64v_push(&ids, sqlite3_column_int64(st, 0))) == OBS_EOK)
			ret = i64v_push(&outs, sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = sqlfail(c, "outcomes");
	for (size_t i = 0; ret == OBS_EOK && i < ids.n; i++) {
		ret = oc_set_outcome(c->sql, ids.v[i], outs.v[i]);
		if (ret == OBS_EOK)
			(*updated)++;
		else if (c->err[0] == '\0')
			snprintf(c->err, c->errlen, "outcome of observation %lld: %s",
				 (long long)ids.v[i],
				 ret == OBS_ESQL ? sqlite3_errmsg(c->sql) : obs_strerror(ret));
	}
	if (ret == OBS_EOK && ids.n > 0)
		ret = run2(c,
			   "DELETE FROM obs_unsettled WHERE collector_id = ?1 AND EXISTS (SELECT 1 "
			   "FROM c.observation co WHERE co.id = obs_unsettled.src_id AND "
			   "co.outcome IS NOT NULL)",
			   0, 0, NULL);
	free(ids.v);
	free(outs.v);
	return ret;
}

struct smap {
	int64_t id;
	bool known, recursive;
};

static const char *const SQL_C_OBS =
    "SELECT id, t, series_id, attempt, transport, status, rtt, rcode, flags, ede, outcome, "
    "version_id, ttl_s, wire_id FROM c.observation WHERE id > ?1 AND id <= ?2 ORDER BY id";

/* A map from the collector's row ids to this database's: sql gives (src_id, id, flag) for the
 * collector ?1. */
static int load_smap(struct ctx *c, const char *sql, struct smap **map, size_t *n)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(c->sql, sql, -1, &q, NULL) != SQLITE_OK)
		return sqlfail(c, sql);
	sqlite3_bind_int64(q, 1, c->cid);
	int rc, ret = OBS_EOK;
	while (ret == OBS_EOK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t src = sqlite3_column_int64(q, 0);
		if (src < 0 || src > INT32_MAX)
			ret = OBS_ERANGE;
		else if ((ret = grow_zero((void **)map, n, (size_t)src + 1, sizeof(**map))) ==
			 OBS_EOK)
			(*map)[src] = (struct smap){.id = sqlite3_column_int64(q, 1),
						    .known = true,
						    .recursive = sqlite3_column_int(q, 2) != 0};
	}
	sqlite3_finalize(q);
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = sqlfail(c, sql);
	return ret;
}

/* Copy the collector rows (old, neu]; the first gets observation id first_id + 1. */
static int copy_observations(struct ctx *c, int64_t old, int64_t neu, int64_t first_id,
			     struct runb *rb, int64_t *copied)
{
	struct smap *ser = NULL, *ver = NULL;
	size_t ser_n = 0, ver_n = 0;
	struct i64v want = {0};
	sqlite3_stmt *q = NULL, *map = NULL, *unsettled = NULL;
	oc_writer_t *w = NULL;
	int ret, rc;
	*copied = 0;
	if ((ret = load_smap(c,
			     "SELECT src_id, id, (flags & 1) != 0 FROM series WHERE "
			     "collector_id = ?",
			     &ser, &ser_n)) ||
	    (ret = load_smap(c,
			     "SELECT src_id, version_id, 0 FROM version_map WHERE collector_id "
			     "= ?",
			     &ver, &ver_n)))
		goto done;
	/* the rows passive pairs and TTL anomalies point at */
	if (c_has_table(c, "passive_packet") &&
	    (ret = i64v_query(c, &want,
			      "SELECT observation_id FROM c.passive_packet WHERE observation_id > "
			      "?2 AND observation_id <= ?3 AND ?1 = ?1",
			      old, neu)))
		goto done;
	if (c_has_table(c, "ttl_anomaly") &&
	    (ret = i64v_query(c, &want,
			      "SELECT observation_id FROM c.ttl_anomaly WHERE observation_id > ?2 "
			      "AND observation_id <= ?3 AND ?1 = ?1",
			      old, neu)))
		goto done;
	if (want.n > 1)
		qsort(want.v, want.n, sizeof(*want.v), cmp_i64);
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(c->sql, SQL_C_OBS, -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->sql,
			       "INSERT OR IGNORE INTO temp.ing_idmap (src_id, id, series_id, t, "
			       "version_id) VALUES (?, ?, ?, ?, ?)",
			       -1, &map, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		c->sql,
		"INSERT OR IGNORE INTO obs_unsettled (collector_id, src_id, id) VALUES "
		"(?, ?, ?)",
		-1, &unsettled, NULL) != SQLITE_OK)
		goto done;
	if ((ret = oc_writer_new(c->sql, &w)))
		goto done;
	sqlite3_bind_int64(q, 1, old);
	sqlite3_bind_int64(q, 2, neu);
	int64_t next_id = first_id;
	size_t wi = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t src = sqlite3_column_int64(q, 0), csid = sqlite3_column_int64(q, 2);
		if (csid < 0 || (size_t)csid >= ser_n || !ser[csid].known)
			continue; /* a series this analyzer does not have: as the former join */
		oc_poll_t p = {
		    .id = ++next_id,
		    .src_id = src,
		    .t = sqlite3_column_int64(q, 1),
		    .series_id = ser[csid].id,
		    .collector_id = c->cid,
		    .attempt = sqlite3_column_int(q, 3),
		    .transport = sqlite3_column_int(q, 4),
		    .status = sqlite3_column_int(q, 5),
		    .recursive = ser[csid].recursive,
		};
		p.has_rtt = sqlite3_column_type(q, 6) != SQLITE_NULL;
		p.rtt = sqlite3_column_int64(q, 6);
		p.has_rcode = sqlite3_column_type(q, 7) != SQLITE_NULL;
		p.rcode = sqlite3_column_int64(q, 7);
		p.has_flags = sqlite3_column_type(q, 8) != SQLITE_NULL;
		p.flags = sqlite3_column_int64(q, 8);
		p.ede = (const char *)sqlite3_column_text(q, 9);
		p.has_outcome = sqlite3_column_type(q, 10) != SQLITE_NULL;
		p.outcome = sqlite3_column_int64(q, 10);
		if (sqlite3_column_type(q, 11) != SQLITE_NULL) {
			int64_t cv = sqlite3_column_int64(q, 11);
			if (cv >= 0 && (size_t)cv < ver_n && ver[cv].known) {
				p.has_version = true;
				p.version_id = ver[cv].id;
			}
		}
		p.has_ttl = sqlite3_column_type(q, 12) != SQLITE_NULL;
		p.ttl_s = sqlite3_column_int64(q, 12);
		p.has_wire = sqlite3_column_type(q, 13) != SQLITE_NULL;
		p.wire_src_id = sqlite3_column_int64(q, 13);
		if ((ret = oc_writer_add(w, &p)) == OBS_ERANGE) {
			snprintf(c->err, c->errlen,
				 "observation %lld: outcome %lld out of range (0 to 126)",
				 (long long)src, (long long)p.outcome);
			goto done;
		}
		if (ret || (ret = runb_row(rb, &p)))
			goto done;
		(*copied)++;
		if (p.recursive && !p.has_outcome && src > neu - SETTLE_WINDOW) {
			sqlite3_bind_int64(unsettled, 1, c->cid);
			sqlite3_bind_int64(unsettled, 2, src);
			sqlite3_bind_int64(unsettled, 3, p.id);
			rc = sqlite3_step(unsettled);
			sqlite3_reset(unsettled);
			if (rc != SQLITE_DONE) {
				ret = OBS_ESQL;
				goto done;
			}
		}
		while (wi < want.n && want.v[wi] < src)
			wi++;
		if (wi < want.n && want.v[wi] == src) {
			sqlite3_bind_int64(map, 1, src);
			sqlite3_bind_int64(map, 2, p.id);
			sqlite3_bind_int64(map, 3, p.series_id);
			sqlite3_bind_int64(map, 4, p.t);
			if (p.has_version)
				sqlite3_bind_int64(map, 5, p.version_id);
			else
				sqlite3_bind_null(map, 5);
			rc = sqlite3_step(map);
			sqlite3_reset(map);
			if (rc != SQLITE_DONE) {
				ret = OBS_ESQL;
				goto done;
			}
		}
	}
	ret = rc == SQLITE_DONE ? oc_writer_flush(w) : OBS_ESQL;
done:
	if (ret == OBS_ESQL && c->err[0] == '\0')
		sqlfail(c, "observations");
	oc_writer_free(w);
	sqlite3_finalize(q);
	sqlite3_finalize(map);
	sqlite3_finalize(unsettled);
	free(ser);
	free(ver);
	free(want.v);
	return ret;
}

/* Passive pairs and TTL anomalies may point at rows ingested before this ingest (their
 * high-water marks run behind): those rows' ids are read back (lo, hi] of the collector's
 * row ids. */
static int idmap_backfill(struct ctx *c, const char *tbl, int64_t lo, int64_t hi)
{
	if (lo >= hi || !c_has_table(c, tbl))
		return OBS_EOK;
	char sql[600];
	int64_t any = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT EXISTS (SELECT 1 FROM c.%s WHERE observation_id > %lld AND observation_id "
		 "<= %lld)",
		 tbl, (long long)lo, (long long)hi);
	int ret = max_id(c, sql, &any);
	if (ret || !any)
		return ret; /* the usual case: they came with their observations */
	snprintf(sql, sizeof(sql),
		 "INSERT OR IGNORE INTO temp.ing_idmap (src_id, id, series_id, t, version_id) "
		 "SELECT o.src_id, o.id, o.series_id, o.t, o.version_id FROM main.observation o "
		 "WHERE o.collector_id = ?1 AND o.src_id > ?2 AND o.src_id <= ?3 AND o.src_id IN "
		 "(SELECT observation_id FROM c.%s WHERE observation_id > ?2 AND "
		 "observation_id <= ?3)",
		 tbl);
	return run2(c, sql, lo, hi, NULL);
}

int ing_collector(an_db_t *db, const char *path, obs_usec_t now, ing_stats_t *stats, char *err,
		  size_t errlen)
{
	ing_stats_t local;
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	int64_t version = 0;
	int ret = check_collector(path, stats->collector, sizeof(stats->collector), &version, err,
				  errlen);
	if (ret)
		return ret;
	struct ctx cx = {.db = db, .sql = an_db_sql(db), .err = err, .errlen = errlen};
	struct ctx *c = &cx;
	char uri[4200];
	if (uri_of(path, uri, sizeof(uri))) {
		snprintf(err, errlen, "%s: path too long", path);
		return OBS_ETOOBIG;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->sql, "ATTACH ? AS c", -1, &st, NULL) != SQLITE_OK)
		return sqlfail(c, "attach");
	sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: attach: %s", path, sqlite3_errmsg(c->sql));
		return OBS_ESQL;
	}
	bool in_txn = false;
	struct runb rb = {0};
	an_db_exec(db, "PRAGMA c.cache_size=-131072; PRAGMA c.mmap_size=1073741824", NULL, 0);
	if ((ret = an_db_exec(db, "BEGIN IMMEDIATE", err, errlen)))
		goto done;
	in_txn = true;
	/* the schema again, inside the read snapshot we copy from */
	int64_t v2 = 0;
	if (an_db_int(db, "SELECT coalesce(max(version), 0) FROM c.schema_version", &v2) ||
	    v2 != version) {
		snprintf(err, errlen, "%s: collector schema changed during ingest (%lld -> %lld)",
			 path, (long long)version, (long long)v2);
		ret = OBS_ESCHEMA;
		goto done;
	}
	if (sqlite3_prepare_v2(c->sql,
			       "INSERT INTO collector (name, path, schema_version, first_ingest, "
			       "last_ingest) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO "
			       "UPDATE SET path = excluded.path, schema_version = "
			       "excluded.schema_version WHERE path != excluded.path OR "
			       "schema_version != excluded.schema_version",
			       -1, &st, NULL) != SQLITE_OK) {
		ret = sqlfail(c, "collector");
		goto done;
	}
	sqlite3_bind_text(st, 1, stats->collector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		ret = sqlfail(c, "collector");
		goto done;
	}
	if (sqlite3_prepare_v2(c->sql, "SELECT id FROM collector WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		ret = sqlfail(c, "collector");
		goto done;
	}
	sqlite3_bind_text(st, 1, stats->collector, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		c->cid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;

	int64_t old[4], neu[4];
	for (size_t i = 0; i < 4; i++) {
		if ((ret = hwm_get(c, copies[i].tbl, &old[i])) ||
		    (ret = max_id(c, copies[i].max_sql, &neu[i])))
			goto done;
		if (neu[i] < old[i]) {
			snprintf(err, errlen,
				 "%s: %s rows went back (%lld < %lld ingested): a different "
				 "database under the name '%s'?",
				 path, copies[i].tbl, (long long)neu[i], (long long)old[i],
				 stats->collector);
			ret = OBS_ESCHEMA;
			goto done;
		}
	}
	int64_t vmax_before = 0, obs_before = 0;
	if ((ret = max_id(c, "SELECT coalesce(max(id), 0) FROM version", &vmax_before)) ||
	    (ret = max_id(c, "SELECT coalesce(max(id_last), 0) FROM obs_chunk", &obs_before)))
		goto done;
	int64_t dummy, old_pp = 0, old_ta = 0;
	if ((ret = run2(c, SQL_TARGET, old[0], neu[0], &stats->targets)) ||
	    (ret = run2(c, SQL_SERIES, old[1], neu[1], &stats->series)) ||
	    (ret = run2(c, SQL_VERSION, old[2], neu[2], &stats->versions)) ||
	    (ret = run2(c, SQL_VMAP, old[2], neu[2], &dummy)) ||
	    (ret = settle_outcomes(c, old[3], &stats->outcomes_updated)) ||
	    (ret = an_db_exec(db,
			      "DROP TABLE IF EXISTS temp.ing_idmap; CREATE TEMP TABLE ing_idmap "
			      "(src_id INTEGER PRIMARY KEY, id INTEGER NOT NULL, series_id INTEGER "
			      "NOT NULL, t INTEGER NOT NULL, version_id INTEGER)",
			      err, errlen)) ||
	    (ret = runb_open(c, &rb)) ||
	    (ret = copy_observations(c, old[3], neu[3], obs_before, &rb, &stats->observations)) ||
	    (ret = hwm_get(c, "passive_packet", &old_pp)) ||
	    (ret = hwm_get(c, "ttl_anomaly", &old_ta)) ||
	    (ret = idmap_backfill(c, "passive_packet", old_pp, old[3])) ||
	    (ret = idmap_backfill(c, "ttl_anomaly", old_ta, old[3])) ||
	    (ret = run2(c, SQL_NSL, 0, 0, &dummy)) || (ret = run2(c, SQL_NSA, 0, 0, &dummy)))
		goto done;
	for (size_t i = 0; i < 4; i++) {
		if (neu[i] != old[i] && (ret = hwm_set(c, copies[i].tbl, neu[i])))
			goto done;
	}
	if ((ret = ingest_passive(c, &stats->passive_pairs)))
		goto done;
	if ((ret = copy_above_hwm(c, "ttl_anomaly", "observation_id", SQL_TTLA, &dummy)))
		goto done;
	if ((ret = copy_above_hwm(c, "clock_step", "id", SQL_CSTEP, &dummy)))
		goto done;
	if ((ret = runb_finish(&rb)))
		goto done;
	stats->runs_series = rb.nseries;
	if ((ret = keys_ingest_versions(db, vmax_before, &stats->keys))) {
		sqlfail(c, "keys");
		goto done;
	}
	if (stats->observations > 0 || stats->targets > 0) {
		if ((ret = run2(c, "UPDATE collector SET last_ingest = ?2 WHERE id = ?1", now, 0,
				NULL)) ||
		    (ret = ing_clock_offsets(db))) {
			sqlfail(c, "clock offsets");
			goto done;
		}
	}
	if (sqlite3_prepare_v2(c->sql,
			       "SELECT clock_offset_us, offset_samples FROM collector WHERE id = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, c->cid);
		if (sqlite3_step(st) == SQLITE_ROW) {
			stats->clock_offset_us = sqlite3_column_int64(st, 0);
			stats->offset_samples = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	ret = an_db_exec(db, "COMMIT", err, errlen);
	in_txn = ret != OBS_EOK;
done:
	runb_free(&rb);
	an_db_exec(db, "DROP TABLE IF EXISTS temp.ing_idmap", NULL, 0);
	if (in_txn)
		an_db_exec(db, "ROLLBACK", NULL, 0);
	an_db_exec(db, "DETACH c", NULL, 0);
	return ret;
}

/* ---- runs ---- */

int ing_rebuild_runs(an_db_t *db, int64_t series_id)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *st = NULL, *ins = NULL;
	int ret = OBS_ESQL;
	/* resume from the open run (the only one later observations can change) */
	int64_t from = INT64_MIN, prev = 0, open_id = 0;
	bool have_prev = false;
	if (sqlite3_prepare_v2(sql,
			       "SELECT id, first_seen, prev_poll FROM run WHERE series_id = ? AND "
			       "next_poll IS NULL ORDER BY first_seen DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, series_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		open_id = sqlite3_column_int64(st, 0);
		from = sqlite3_column_int64(st, 1);
		have_prev = sqlite3_column_type(st, 2) != SQLITE_NULL;
		prev = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (open_id) {
		if (sqlite3_prepare_v2(sql, "DELETE FROM run WHERE id = ?", -1, &st, NULL) !=
		    SQLITE_OK)
			goto done;
		sqlite3_bind_int64(st, 1, open_id);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto done;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(sql,
			       "SELECT id, t, coalesce(version_id, 0), ttl_s FROM observation "
			       "WHERE series_id = ? AND status = 0 AND t >= ? ORDER BY t, id",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql,
			       "INSERT INTO run (series_id, version_id, first_seen, last_seen, "
			       "count, prev_poll, next_poll, ttl_max_s, first_obs_id, last_obs_id) "
			       "VALUES (?,?,?,?,?,?,?,?,?,?)",
			       -1, &ins, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, series_id);
	sqlite3_bind_int64(st, 2, from);
	struct {
		bool open;
		int64_t v, first, last, count, ttl, fobs, lobs;
		bool ttl_set;
	} r = {0};
	int rc;
	for (;;) {
		rc = sqlite3_step(st);
		bool row = rc == SQLITE_ROW;
		int64_t oid = 0, t = 0, v = 0, ttl = 0;
		bool ttl_null = true;
		if (row) {
			oid = sqlite3_column_int64(st, 0);
			t = sqlite3_column_int64(st, 1);
			v = sqlite3_column_int64(st, 2);
			ttl_null = sqlite3_column_type(st, 3) == SQLITE_NULL;
			ttl = sqlite3_column_int64(st, 3);
		}
		if (r.open && row && v == r.v) {
			r.last = t;
			r.lobs = oid;
			r.count++;
			if (!ttl_null && (!r.ttl_set || ttl > r.ttl)) {
				r.ttl = ttl;
				r.ttl_set = true;
			}
			continue;
		}
		if (r.open) { /* close (row: next poll) or leave open (end) */
			sqlite3_bind_int64(ins, 1, series_id);
			sqlite3_bind_int64(ins, 2, r.v);
			sqlite3_bind_int64(ins, 3, r.first);
			sqlite3_bind_int64(ins, 4, r.last);
			sqlite3_bind_int64(ins, 5, r.count);
			if (have_prev)
				sqlite3_bind_int64(ins, 6, prev);
			else
				sqlite3_bind_null(ins, 6);
			if (row)
				sqlite3_bind_int64(ins, 7, t);
			else
				sqlite3_bind_null(ins, 7);
			if (r.ttl_set)
				sqlite3_bind_int64(ins, 8, r.ttl);
			else
				sqlite3_bind_null(ins, 8);
			sqlite3_bind_int64(ins, 9, r.fobs);
			sqlite3_bind_int64(ins, 10, r.lobs);
			if (sqlite3_step(ins) != SQLITE_DONE)
				goto done;
			sqlite3_reset(ins);
			sqlite3_clear_bindings(ins);
			prev = r.last;
			have_prev = true;
		}
		if (!row)
			break;
		r.open = true;
		r.v = v;
		r.first = r.last = t;
		r.count = 1;
		r.fobs = r.lobs = oid;
		r.ttl = ttl;
		r.ttl_set = !ttl_null;
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	return ret;
}

/* ---- clock offsets ---- */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Offset of collector b against reference a from transitions both saw at the same server
 * address and question: the change happened in (prev, first] in each clock, so
 * offset(b - a) lies in (prev_b - first_a, first_b - prev_a). */
static int offset_pair(sqlite3 *sql, int64_t a, int64_t b)
{
	static const char *const q =
	    "SELECT rb.prev_poll - ra.first_seen, rb.first_seen - ra.prev_poll FROM run ra JOIN "
	    "series sa ON sa.id = ra.series_id JOIN target ta ON ta.id = sa.target_id JOIN target "
	    "tb ON tb.collector_id = ?2 AND tb.kind = ta.kind AND tb.zone = ta.zone AND "
	    "tb.address = ta.address JOIN series sb ON sb.target_id = tb.id AND sb.qname = "
	    "sa.qname AND sb.qtype = sa.qtype AND sb.flags = sa.flags JOIN run rb ON rb.series_id "
	    "= "
	    "sb.id AND rb.version_id = ra.version_id WHERE ta.collector_id = ?1 AND ta.kind != "
	    "'resolver' AND ra.prev_poll IS NOT NULL AND rb.prev_poll IS NOT NULL AND "
	    "ra.version_id != 0 LIMIT 100000";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(sql, q, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	int64_t(*s)[2] = NULL;
	int64_t *mid = NULL;
	size_t n = 0, cap = 0;
	int ret = OBS_EOK;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t(*ns)[2] = realloc(s, cap * sizeof(*ns));
			if (ns == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			s = ns;
		}
		s[n][0] = sqlite3_column_int64(st, 0);
		s[n][1] = sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	int64_t est = 0, lo = INT64_MIN, hi = INT64_MAX;
	size_t used = 0;
	if (n > 0) {
		mid = malloc(n * sizeof(*mid));
		if (mid == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			mid[i] = s[i][0] / 2 + s[i][1] / 2;
		qsort(mid, n, sizeof(*mid), cmp64);
		int64_t med = mid[n / 2];
		/* a version that came back pairs unrelated runs: keep samples near the median */
		for (size_t i = 0; i < n; i++) {
			int64_t m = s[i][0] / 2 + s[i][1] / 2;
			if (m - med > 300 * OBS_USEC_PER_SEC || med - m > 300 * OBS_USEC_PER_SEC)
				continue;
			if (s[i][0] > lo)
				lo = s[i][0];
			if (s[i][1] < hi)
				hi = s[i][1];
			used++;
		}
		est = lo <= hi ? lo / 2 + hi / 2 : med;
	}
	if (sqlite3_prepare_v2(sql,
			       "UPDATE collector SET clock_offset_us = ?2, offset_lo_us = ?3, "
			       "offset_hi_us = ?4, offset_samples = ?5 WHERE id = ?1 AND "
			       "(clock_offset_us, offset_samples) IS NOT (?2, ?5)",
			       -1, &st, NULL) != SQLITE_OK) {
		ret = OBS_ESQL;
		goto done;
	}
	sqlite3_bind_int64(st, 1, b);
	sqlite3_bind_int64(st, 2, est);
	if (used && lo <= hi) {
		sqlite3_bind_int64(st, 3, lo);
		sqlite3_bind_int64(st, 4, hi);
	} else {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_null(st, 4);
	}
	sqlite3_bind_int64(st, 5, (int64_t)used);
	ret = sqlite3_step(st) == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(st);
	free(s);
	free(mid);
	return ret;
}

int ing_clock_offsets(an_db_t *db)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(sql, "SELECT id FROM collector ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return OBS_ESQL;
	int64_t ref = 0;
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (ref == 0)
			ref = id;
		else
			ret = offset_pair(sql, ref, id);
	}
	sqlite3_finalize(st);
	return ret;
}
