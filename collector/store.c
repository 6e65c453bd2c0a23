/* SPDX-License-Identifier: MIT */
#include <ldns/sha2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "hmap.h"
#include "migrate.h"
#include "obs_err.h"
#include "store.h"

/* wire hashes remembered; older ones fall back to the UNIQUE index */
#define STORE_WIRE_MEMO 65536
/* observation rows inserted by one statement (one VDBE run for many rows) */
#define STORE_OBS_BATCH 32
#define STORE_OBS_COLS  13

const char *const store_status_names[ST_COUNT] = {
    "answered", "timeout", "neterr", "truncated", "malformed", "mismatched", "dropped", "unmatched",
};
const char *const store_outcome_names[5] = {"none", "secure", "insecure", "bogus", "lost"};

enum {
	S_BEGIN,
	S_COMMIT,
	S_INS_OBS,
	S_INS_OBS_N,
	S_MAX_OBS,
	S_INS_WIRE,
	S_SEL_WIRE,
	S_INS_VER,
	S_SEL_VER,
	S_UPD_VER,
	S_INS_RUN,
	S_UPD_RUN,
	S_INS_TARGET,
	S_SEL_TARGET,
	S_INS_SERIES,
	S_SEL_SERIES,
	S_SEL_OPENRUN,
	S_UPS_NSL,
	S_UPS_NSA,
	S_INS_COUNTER,
	S_SET_OUTCOME,
	S_INS_PPACKET,
	S_INS_CAPTURE,
	S_END_CAPTURE,
	S_INS_CSTATS,
	S_INS_TTLANOM,
	S_INS_CLKSTEP,
	S_COUNT
};

static const char *const store_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    /* no id: SQLite's own rowid (max + 1) is cheaper than checking an explicit one; flush_obs
     * verifies it is the id the store handed out */
    [S_INS_OBS] = "INSERT INTO observation (t, series_id, attempt, transport, status, rtt, "
		  "rcode, flags, ede, outcome, version_id, ttl_s, wire_id) "
		  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_INS_OBS_N] = NULL, /* built by store_open: STORE_OBS_BATCH rows */
    [S_MAX_OBS] = "SELECT coalesce(max(id), 0) FROM observation",
    [S_INS_WIRE] = "INSERT INTO wire (hash, data) VALUES (?,?) ON CONFLICT (hash) DO NOTHING",
    [S_SEL_WIRE] = "SELECT id FROM wire WHERE hash = ?",
    [S_INS_VER] = "INSERT INTO version (hash, kind, owner, type, rr_count, sig_count, rdata, "
		  "rrsig, ttl_max_s, ttl_min_s, first_seen, last_seen) "
		  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (hash) DO NOTHING",
    [S_SEL_VER] = "SELECT id, ttl_max_s, ttl_min_s, last_seen FROM version WHERE hash = ?",
    [S_UPD_VER] = "UPDATE version SET ttl_max_s = max(ttl_max_s, ?2), "
		  "ttl_min_s = min(ttl_min_s, ?3), last_seen = max(last_seen, ?4) WHERE id = ?1",
    [S_INS_RUN] = "INSERT INTO run (series_id, version_id, first_seen, last_seen, count, "
		  "prev_poll, next_poll, ttl_max_s) VALUES (?,?,?,?,1,?,NULL,?)",
    [S_UPD_RUN] = "UPDATE run SET last_seen = ?2, count = ?3, ttl_max_s = ?4, next_poll = ?5 "
		  "WHERE id = ?1",
    [S_INS_TARGET] = "INSERT INTO target (kind, zone, origin, host, address, pinned, "
		     "first_seen) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
    [S_SEL_TARGET] = "SELECT id FROM target WHERE kind = ? AND zone = ? AND origin = ? AND "
		     "host = ? AND address = ?",
    [S_INS_SERIES] = "INSERT INTO series (target_id, qname, qtype, flags, role) "
		     "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
    [S_SEL_SERIES] = "SELECT id FROM series WHERE target_id = ? AND qname = ? AND qtype = ? "
		     "AND flags = ?",
    [S_SEL_OPENRUN] = "SELECT id, version_id, first_seen, last_seen, count, ttl_max_s FROM run "
		      "WHERE series_id = ? AND next_poll IS NULL ORDER BY id DESC LIMIT 1",
    [S_UPS_NSL] = "INSERT INTO ns_listing (zone, source_target_id, ns, ttl_s, first_listed, "
		  "last_listed) VALUES (?1,?2,?3,?4,?5,?5) ON CONFLICT (zone, source_target_id, "
		  "ns) DO UPDATE SET ttl_s = excluded.ttl_s, last_listed = "
		  "max(last_listed, excluded.last_listed)",
    [S_UPS_NSA] = "INSERT INTO ns_address (zone, ns, address, source, first_seen, last_seen) "
		  "VALUES (?1,?2,?3,?4,?5,?5) ON CONFLICT (zone, ns, address, source) DO UPDATE "
		  "SET last_seen = max(last_seen, excluded.last_seen)",
    [S_INS_COUNTER] = "INSERT OR REPLACE INTO counter (t, name, value) VALUES (?,?,?)",
    [S_SET_OUTCOME] = "UPDATE observation SET outcome = ?2 WHERE id = ?1",
    [S_INS_PPACKET] = "INSERT INTO passive_packet (observation_id, client_port, server_port, "
		      "t_response, transport) VALUES (?,?,?,?,?)",
    [S_INS_CAPTURE] = "INSERT INTO capture (source, linktype, snaplen, started) VALUES (?,?,?,?)",
    [S_END_CAPTURE] = "UPDATE capture SET ended = ?2 WHERE id = ?1",
    [S_INS_CSTATS] = "INSERT OR REPLACE INTO capture_stats (capture_id, t_start, t_end, "
		     "received, dropped, ifdropped) VALUES (?,?,?,?,?,?)",
    [S_INS_TTLANOM] = "INSERT OR IGNORE INTO ttl_anomaly (observation_id, series_id, t, "
		      "version_id, ttl_min_s, ttl_max_s, sig_ttl_min_s, sig_ttl_max_s) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [S_INS_CLKSTEP] = "INSERT INTO clock_step (t_before, t_after, mono_before, mono_after, "
		      "step_us) VALUES (?, ?, ?, ?, ?)",
};

struct series_state {
	int64_t run_id; /* 0: no open run */
	int64_t version_id;
	obs_usec_t first, last, last_answered;
	int64_t count;
	uint32_t ttl_max;
	bool dirty;
	bool known;
};

/* An observation row waiting for its batch insert. has_* false: NULL. */
struct obs_row {
	int64_t id, t, series_id, rtt, version_id, wire_id;
	uint32_t ttl;
	int attempt, transport, status, rcode, flags, outcome;
	bool has_rtt, has_ans, has_version;
	char ede[ANS_MAX_EDE * 6 + 1]; /* "" = NULL */
};

struct obs_store {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	bool in_txn;
	size_t pending;
	/* observation rows of the open transaction not inserted yet; their ids are known here
	 * (the write lock is held from BEGIN IMMEDIATE and nothing is deleted, so SQLite gives
	 * the rows max(id) + 1 onwards; flush_obs checks that it did) */
	struct obs_row rows[STORE_OBS_BATCH];
	size_t rows_n;
	int64_t next_obs_id;
	int64_t txn_first_obs_id; /* the first id handed out in the open transaction */
	uint32_t epoch;           /* recoveries so far: the top bits of observation handles */
	store_health_t health;
	obs_hmap_t versions; /* hash -> id; aux_a ttl max, aux_b ttl min, aux64 last seen */
	obs_hmap_t wires;    /* hash -> id */
	struct series_state *series;
	size_t series_cap;
	int64_t *dirty;
	size_t dirty_n, dirty_cap;
	char err[256];
};

static void recover(obs_store_t *s);

static int fail(obs_store_t *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	/* SQLite rolls a transaction back itself after some errors (SQLITE_FULL, IOERR, NOMEM):
	 * going on as if it were open would write every later row in its own transaction and
	 * leave the memo pointing at rows that are gone */
	if (s->in_txn && s->db && sqlite3_get_autocommit(s->db))
		recover(s);
	return OBS_ESQL;
}

/* Observation handles: the row id, and the epoch in the top bits, so that a handle from a
 * transaction that was rolled back is not taken for the row that reuses its id. */
#define STORE_ID_BITS 47
#define STORE_ID_MASK ((INT64_C(1) << STORE_ID_BITS) - 1)

static int64_t handle_of(const obs_store_t *s, int64_t id)
{
	return ((int64_t)(s->epoch & 0xffff) << STORE_ID_BITS) | id;
}

/* The row id of handle h, or 0 when h belongs to a rolled-back transaction (counted). */
static int64_t id_of(obs_store_t *s, int64_t h)
{
	if ((h >> STORE_ID_BITS) != (int64_t)(s->epoch & 0xffff)) {
		s->health.stale_handles++;
		return 0;
	}
	return h & STORE_ID_MASK;
}

/* The open run of series id as the database has it (none: zeroed). */
static void load_open_run(obs_store_t *s, int64_t id, struct series_state *ss)
{
	bool known = ss->known;
	*ss = (struct series_state){.known = known};
	sqlite3_stmt *st = s->st[S_SEL_OPENRUN];
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ss->run_id = sqlite3_column_int64(st, 0);
		ss->version_id = sqlite3_column_int64(st, 1);
		ss->first = sqlite3_column_int64(st, 2);
		ss->last = sqlite3_column_int64(st, 3);
		ss->count = sqlite3_column_int64(st, 4);
		ss->ttl_max = (uint32_t)sqlite3_column_int64(st, 5);
		ss->last_answered = ss->last;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* The open transaction failed: roll it back and make the memo agree with the database again
 * (versions and wires forgotten, every series' open run reloaded), count what was lost, and
 * move to a new epoch so that handles of the lost rows are refused. The next write begins a
 * new transaction; when the cause is gone (disk space back) storing simply resumes. */
static void recover(obs_store_t *s)
{
	if (!s->in_txn)
		return;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->health.recoveries++;
	s->health.lost_observations += (uint64_t)(s->next_obs_id - s->txn_first_obs_id);
	s->in_txn = false;
	s->pending = 0;
	s->rows_n = 0;
	s->epoch++;
	for (size_t i = 0; i < s->dirty_n; i++)
		s->series[s->dirty[i]].dirty = false;
	s->dirty_n = 0;
	obs_hmap_free(&s->versions);
	obs_hmap_free(&s->wires);
	if (obs_hmap_init(&s->versions, 0) || obs_hmap_init(&s->wires, STORE_WIRE_MEMO))
		s->health.memo_lost = true; /* out of memory: begin() refuses every write */
	for (size_t id = 1; id < s->series_cap; id++)
		if (s->series[id].known)
			load_open_run(s, (int64_t)id, &s->series[id]);
}

const char *store_errmsg(const obs_store_t *s)
{
	return s ? s->err : "no store";
}

int store_schema_version(void)
{
	return (int)obs_collector_migrations_n;
}

static int exec(obs_store_t *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", msg ? msg : "sqlite3_exec failed");
		sqlite3_free(msg);
		return OBS_ESQL;
	}
	return OBS_EOK;
}

static int check_owner(obs_store_t *s, const char *collector, obs_usec_t now)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'collector'", -1, &st,
			       NULL) != SQLITE_OK)
		return fail(s, "prepare");
	int ret = OBS_EOK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (name && strcmp(name, collector) != 0) {
			snprintf(s->err, sizeof(s->err),
				 "database belongs to collector '%s', not '%s'", name, collector);
			ret = OBS_ECONFIG;
		}
		sqlite3_finalize(st);
		return ret;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO meta (key, value) VALUES ('collector', ?), "
			       "('created', ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "prepare");
	char created[32];
	snprintf(created, sizeof(created), "%lld", (long long)now);
	sqlite3_bind_text(st, 1, collector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, created, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = fail(s, "meta");
	sqlite3_finalize(st);
	return ret;
}

/* INSERT INTO observation ... VALUES (14 ?), ... STORE_OBS_BATCH times */
static int prepare_obs_batch(obs_store_t *s)
{
	const char *one = store_sql[S_INS_OBS];
	const char *values = strstr(one, "VALUES ");
	size_t head = (size_t)(values - one) + 7, tuple = strlen(values + 7);
	size_t len = head + STORE_OBS_BATCH * (tuple + 1);
	char *sql = malloc(len + 1);
	if (sql == NULL)
		return OBS_ENOMEM;
	memcpy(sql, one, head);
	size_t off = head;
	for (size_t i = 0; i < STORE_OBS_BATCH; i++) {
		if (i > 0)
			sql[off++] = ',';
		memcpy(sql + off, values + 7, tuple);
		off += tuple;
	}
	sql[off] = '\0';
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[S_INS_OBS_N],
				    NULL);
	free(sql);
	return rc == SQLITE_OK ? OBS_EOK : fail(s, "observation batch insert");
}

int store_open(const char *path, const char *collector, obs_usec_t now, obs_store_t **out,
	       char *err, size_t errlen)
{
	*out = NULL;
	obs_store_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return OBS_ENOMEM;
	int ret = OBS_ESQL;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		ret = fail(s, path);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if ((ret = exec(s, "PRAGMA journal_mode=WAL")) ||
	    (ret = exec(s, "PRAGMA synchronous=NORMAL")) ||
	    (ret = exec(s, "PRAGMA journal_size_limit=67108864")))
		goto fail;
	if ((ret = obs_migrate(s->db, obs_collector_migrations, obs_collector_migrations_n,
			       "collector", false, now, s->err, sizeof(s->err))) ||
	    (ret = check_owner(s, collector, now)))
		goto fail;
	for (int i = 0; i < S_COUNT; i++) {
		if (i == S_INS_OBS_N) {
			if ((ret = prepare_obs_batch(s)) != OBS_EOK)
				goto fail;
			continue;
		}
		if (store_sql[i] == NULL) {
			snprintf(s->err, sizeof(s->err), "internal: statement %d has no SQL", i);
			ret = OBS_ERROR;
			goto fail;
		}
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->st[i], NULL) != SQLITE_OK) {
			ret = fail(s, store_sql[i]);
			goto fail;
		}
	}
	if (obs_hmap_init(&s->versions, 0) || obs_hmap_init(&s->wires, STORE_WIRE_MEMO)) {
		ret = OBS_ENOMEM;
		goto fail;
	}
	*out = s;
	return OBS_EOK;
fail:
	snprintf(err, errlen, "%s", s->err[0] ? s->err : obs_strerror(ret));
	store_close(s);
	return ret;
}

static int step_done(obs_store_t *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail(s, what);
	return OBS_EOK;
}

static int select_id(obs_store_t *s, sqlite3_stmt *st, int64_t *id, const char *what);

static int begin(obs_store_t *s)
{
	if (s->in_txn)
		return OBS_EOK;
	if (s->health.memo_lost) {
		snprintf(s->err, sizeof(s->err), "no memory to rebuild the store's memo");
		return OBS_ENOMEM;
	}
	int ret = step_done(s, s->st[S_BEGIN], "begin");
	if (ret != OBS_EOK)
		return ret;
	s->in_txn = true;
	int64_t max_id = 0;
	if ((ret = select_id(s, s->st[S_MAX_OBS], &max_id, "observation ids")) != OBS_EOK) {
		(void)exec(s, "ROLLBACK");
		s->in_txn = false;
		return ret;
	}
	s->next_obs_id = s->txn_first_obs_id = max_id + 1;
	s->rows_n = 0;
	return OBS_EOK;
}

/* Bind row r at parameter offset base (0 for the first row). Every parameter is bound (NULL
 * included), so the statement needs no sqlite3_clear_bindings between runs. */
static void bind_obs_row(sqlite3_stmt *st, int base, const struct obs_row *r)
{
	sqlite3_bind_int64(st, base + 1, r->t);
	sqlite3_bind_int64(st, base + 2, r->series_id);
	sqlite3_bind_int(st, base + 3, r->attempt);
	sqlite3_bind_int(st, base + 4, r->transport);
	sqlite3_bind_int(st, base + 5, r->status);
	if (r->has_rtt)
		sqlite3_bind_int64(st, base + 6, r->rtt);
	else
		sqlite3_bind_null(st, base + 6);
	if (r->has_ans) {
		sqlite3_bind_int(st, base + 7, r->rcode);
		sqlite3_bind_int(st, base + 8, r->flags);
	} else {
		sqlite3_bind_null(st, base + 7);
		sqlite3_bind_null(st, base + 8);
	}
	if (r->ede[0])
		sqlite3_bind_text(st, base + 9, r->ede, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, base + 9);
	if (r->outcome != OUT_NONE)
		sqlite3_bind_int(st, base + 10, r->outcome);
	else
		sqlite3_bind_null(st, base + 10);
	if (r->has_version) {
		sqlite3_bind_int64(st, base + 11, r->version_id);
		sqlite3_bind_int64(st, base + 12, r->ttl);
	} else {
		sqlite3_bind_null(st, base + 11);
		sqlite3_bind_null(st, base + 12);
	}
	if (r->wire_id)
		sqlite3_bind_int64(st, base + 13, r->wire_id);
	else
		sqlite3_bind_null(st, base + 13);
}

/* Run an observation insert whose rows up to to - 1 are bound, and check that SQLite gave the
 * last one the id the store handed out (the rows before it then got theirs too: each new
 * rowid is the largest one + 1). */
static int insert_obs(obs_store_t *s, sqlite3_stmt *st, size_t to)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, "observation insert");
	int64_t want = s->rows[to - 1].id, got = sqlite3_last_insert_rowid(s->db);
	if (got != want) {
		snprintf(s->err, sizeof(s->err),
			 "observation insert: SQLite gave id %lld where %lld was handed out",
			 (long long)got, (long long)want);
		recover(s); /* the handed-out ids are wrong: nothing of this batch can be kept */
		return OBS_ESQL;
	}
	return OBS_EOK;
}

/* Insert the buffered observation rows: a full batch in one statement, else one by one. */
static int flush_obs(obs_store_t *s)
{
	int ret = OBS_EOK;
	if (s->rows_n == STORE_OBS_BATCH) {
		sqlite3_stmt *st = s->st[S_INS_OBS_N];
		for (size_t i = 0; i < s->rows_n; i++)
			bind_obs_row(st, (int)i * STORE_OBS_COLS, &s->rows[i]);
		ret = insert_obs(s, st, s->rows_n);
	} else {
		for (size_t i = 0; i < s->rows_n && ret == OBS_EOK; i++) {
			bind_obs_row(s->st[S_INS_OBS], 0, &s->rows[i]);
			ret = insert_obs(s, s->st[S_INS_OBS], i + 1);
		}
	}
	s->rows_n = 0;
	return ret;
}

static int flush_run(obs_store_t *s, const struct series_state *ss, obs_usec_t next_poll)
{
	sqlite3_stmt *st = s->st[S_UPD_RUN];
	sqlite3_bind_int64(st, 1, ss->run_id);
	sqlite3_bind_int64(st, 2, ss->last);
	sqlite3_bind_int64(st, 3, ss->count);
	sqlite3_bind_int64(st, 4, ss->ttl_max);
	if (next_poll > 0)
		sqlite3_bind_int64(st, 5, next_poll);
	else
		sqlite3_bind_null(st, 5);
	return step_done(s, st, "run update");
}

int store_commit(obs_store_t *s)
{
	if (!s->in_txn)
		return OBS_EOK;
	int ret = flush_obs(s);
	for (size_t i = 0; i < s->dirty_n && ret == OBS_EOK; i++) {
		struct series_state *ss = &s->series[s->dirty[i]];
		if (ss->dirty && ss->run_id)
			ret = flush_run(s, ss, 0);
		ss->dirty = false;
	}
	s->dirty_n = 0;
	for (size_t i = 0; i < s->versions.cap && ret == OBS_EOK; i++) {
		obs_hmap_entry_t *e = &s->versions.slots[i];
		if (!e->used || !e->dirty)
			continue;
		sqlite3_stmt *st = s->st[S_UPD_VER];
		sqlite3_bind_int64(st, 1, e->id);
		sqlite3_bind_int64(st, 2, e->aux_a);
		sqlite3_bind_int64(st, 3, e->aux_b);
		sqlite3_bind_int64(st, 4, e->aux64);
		ret = step_done(s, st, "version update");
		e->dirty = 0;
	}
	if (ret == OBS_EOK)
		ret = step_done(s, s->st[S_COMMIT], "commit");
	if (ret == OBS_EOK) {
		s->in_txn = false;
		s->pending = 0;
	} else {
		recover(s);
	}
	return ret;
}

void store_health(const obs_store_t *s, store_health_t *out)
{
	*out = s->health;
}

size_t store_pending(const obs_store_t *s)
{
	return s->pending;
}

void store_close(obs_store_t *s)
{
	if (s == NULL)
		return;
	if (s->db && s->st[S_COMMIT] && s->in_txn)
		(void)store_commit(s);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	obs_hmap_free(&s->versions);
	obs_hmap_free(&s->wires);
	free(s->series);
	free(s->dirty);
	free(s);
}

static int select_id(obs_store_t *s, sqlite3_stmt *st, int64_t *id, const char *what)
{
	int rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? OBS_ENOENT : fail(s, what);
	return OBS_EOK;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int store_target(obs_store_t *s, const char *kind, const char *zone, const char *origin,
		 const char *host, const char *address, const char *pinned, obs_usec_t now,
		 int64_t *id)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_TARGET];
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, address, -1, SQLITE_STATIC);
	bind_text_or_null(st, 6, pinned);
	sqlite3_bind_int64(st, 7, now);
	if ((ret = step_done(s, st, "target insert")))
		return ret;
	bool created = sqlite3_changes(s->db) > 0;
	st = s->st[S_SEL_TARGET];
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, address, -1, SQLITE_STATIC);
	s->pending++;
	if ((ret = select_id(s, st, id, "target select")))
		return ret;
	/* committed at once, as series are (store_series) */
	return created ? store_commit(s) : OBS_EOK;
}

static int series_slot(obs_store_t *s, int64_t id, struct series_state **out)
{
	if (id <= 0)
		return OBS_EINVAL;
	if ((size_t)id >= s->series_cap) {
		size_t ncap = s->series_cap ? s->series_cap : 64;
		while (ncap <= (size_t)id)
			ncap *= 2;
		struct series_state *n = realloc(s->series, ncap * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		memset(n + s->series_cap, 0, (ncap - s->series_cap) * sizeof(*n));
		s->series = n;
		s->series_cap = ncap;
	}
	*out = &s->series[id];
	return OBS_EOK;
}

int store_series(obs_store_t *s, int64_t target_id, const char *qname, uint16_t qtype,
		 unsigned flags, const char *role, int64_t *id)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_SERIES];
	sqlite3_bind_int64(st, 1, target_id);
	sqlite3_bind_text(st, 2, qname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, qtype);
	sqlite3_bind_int(st, 4, (int)flags);
	sqlite3_bind_text(st, 5, role, -1, SQLITE_STATIC);
	if ((ret = step_done(s, st, "series insert")))
		return ret;
	bool created = sqlite3_changes(s->db) > 0;
	st = s->st[S_SEL_SERIES];
	sqlite3_bind_int64(st, 1, target_id);
	sqlite3_bind_text(st, 2, qname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, qtype);
	sqlite3_bind_int(st, 4, (int)flags);
	if ((ret = select_id(s, st, id, "series select")))
		return ret;
	s->pending++;
	/* committed at once: the caller keeps the id, and a later batch that fails and is rolled
	 * back must not take the row with it */
	if (created && (ret = store_commit(s)) != OBS_EOK)
		return ret;
	struct series_state *ss;
	if ((ret = series_slot(s, *id, &ss)))
		return ret;
	if (ss->known)
		return OBS_EOK;
	ss->known = true;
	load_open_run(s, *id, ss);
	return OBS_EOK;
}

static int wire_id(obs_store_t *s, const uint8_t *wire, size_t len, const uint8_t *known,
		   int64_t *id)
{
	/* hashed with the ID bytes zeroed, without copying unless the wire is new */
	uint8_t hash[OBS_HMAP_KEY];
	if (known)
		memcpy(hash, known, sizeof(hash));
	else
		ans_wire_hash(wire, len, hash);
	obs_hmap_entry_t *e = obs_hmap_get(&s->wires, hash);
	if (e) {
		*id = e->id;
		return OBS_EOK;
	}
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		return OBS_ENOMEM;
	memcpy(copy, wire, len);
	if (len >= 2)
		copy[0] = copy[1] = 0;
	sqlite3_stmt *st = s->st[S_INS_WIRE];
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, copy, (int)len, SQLITE_STATIC);
	int ret = step_done(s, st, "wire insert");
	free(copy);
	if (ret)
		return ret;
	if (sqlite3_changes(s->db) > 0) {
		*id = sqlite3_last_insert_rowid(s->db);
	} else {
		st = s->st[S_SEL_WIRE];
		sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
		if ((ret = select_id(s, st, id, "wire select")))
			return ret;
	}
	e = obs_hmap_put(&s->wires, hash, NULL);
	if (e)
		e->id = *id;
	return OBS_EOK;
}

/* The memo entry of the stored version with this hash, read from the database: 1 found, 0
 * not there, -1 error (*e NULL unless found). */
static int memo_version_from_db(obs_store_t *s, const uint8_t *hash, obs_hmap_entry_t **e)
{
	*e = NULL;
	sqlite3_stmt *st = s->st[S_SEL_VER];
	sqlite3_bind_blob(st, 1, hash, ANS_HASH_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (*e = obs_hmap_put(&s->versions, hash, NULL)) != NULL) {
		(*e)->id = sqlite3_column_int64(st, 0);
		(*e)->aux_a = (uint32_t)sqlite3_column_int64(st, 1);
		(*e)->aux_b = (uint32_t)sqlite3_column_int64(st, 2);
		(*e)->aux64 = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return *e ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int version_id(obs_store_t *s, const ans_version_t *v, obs_usec_t t, int64_t *id)
{
	obs_hmap_entry_t *e = obs_hmap_get(&s->versions, v->hash);
	if (e == NULL && v->rdata == NULL && v->rr_count > 0 &&
	    memo_version_from_db(s, v->hash, &e) != 1) {
		/* a fast-path answer (hash only) for a version neither the memo (forgotten after a
		 * lost batch) nor the database has */
		snprintf(s->err, sizeof(s->err), "version without its RDATA is not stored yet");
		return OBS_EINVAL;
	}
	if (e == NULL) {
		sqlite3_stmt *st = s->st[S_INS_VER];
		sqlite3_bind_blob(st, 1, v->hash, ANS_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, v->kind);
		sqlite3_bind_text(st, 3, v->owner, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, v->type);
		sqlite3_bind_int(st, 5, v->rr_count);
		sqlite3_bind_int(st, 6, v->sig_count);
		sqlite3_bind_blob(st, 7, v->rdata ? (const void *)v->rdata : "", (int)v->rdata_len,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, v->rrsig ? (const void *)v->rrsig : "", (int)v->rrsig_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, v->ttl);
		sqlite3_bind_int64(st, 10, v->ttl);
		sqlite3_bind_int64(st, 11, t);
		sqlite3_bind_int64(st, 12, t);
		int ret = step_done(s, st, "version insert");
		if (ret)
			return ret;
		bool inserted = sqlite3_changes(s->db) > 0;
		int64_t rowid = sqlite3_last_insert_rowid(s->db);
		if (!inserted) { /* another writer's row, or one this memo forgot */
			if (memo_version_from_db(s, v->hash, &e) != 1)
				return fail(s, "version select");
		} else if ((e = obs_hmap_put(&s->versions, v->hash, NULL)) == NULL) {
			return OBS_ENOMEM;
		} else {
			e->id = rowid;
			e->aux_a = e->aux_b = v->ttl;
			e->aux64 = t;
		}
	}
	if (v->ttl > e->aux_a || v->ttl < e->aux_b || t > e->aux64) {
		e->aux_a = v->ttl > e->aux_a ? v->ttl : e->aux_a;
		e->aux_b = v->ttl < e->aux_b ? v->ttl : e->aux_b;
		e->aux64 = t > e->aux64 ? t : e->aux64;
		e->dirty = 1;
	}
	*id = e->id;
	return OBS_EOK;
}

static int mark_dirty(obs_store_t *s, int64_t series_id, struct series_state *ss)
{
	if (ss->dirty)
		return OBS_EOK;
	if (s->dirty_n == s->dirty_cap) {
		size_t ncap = s->dirty_cap ? s->dirty_cap * 2 : 64;
		int64_t *n = realloc(s->dirty, ncap * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		s->dirty = n;
		s->dirty_cap = ncap;
	}
	s->dirty[s->dirty_n++] = series_id;
	ss->dirty = true;
	return OBS_EOK;
}

/* Runs: an answered poll extends the open run when it returned the same version, else closes
 * it (next_poll = this poll) and opens a new one (prev_poll = the last answered poll). */
static int update_run(obs_store_t *s, int64_t series_id, obs_usec_t t, int64_t vid, uint32_t ttl)
{
	struct series_state *ss;
	int ret = series_slot(s, series_id, &ss);
	if (ret)
		return ret;
	if (ss->run_id && ss->version_id == vid) {
		ss->last = t;
		ss->count++;
		if (ttl > ss->ttl_max)
			ss->ttl_max = ttl;
		ss->last_answered = t;
		return mark_dirty(s, series_id, ss);
	}
	if (ss->run_id) {
		if ((ret = flush_run(s, ss, t)))
			return ret;
		ss->run_id = 0;
	}
	if (vid != 0) {
		sqlite3_stmt *st = s->st[S_INS_RUN];
		sqlite3_bind_int64(st, 1, series_id);
		sqlite3_bind_int64(st, 2, vid);
		sqlite3_bind_int64(st, 3, t);
		sqlite3_bind_int64(st, 4, t);
		if (ss->last_answered > 0)
			sqlite3_bind_int64(st, 5, ss->last_answered);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, ttl);
		if ((ret = step_done(s, st, "run insert")))
			return ret;
		ss->run_id = sqlite3_last_insert_rowid(s->db);
		ss->version_id = vid;
		ss->first = ss->last = t;
		ss->count = 1;
		ss->ttl_max = ttl;
	}
	ss->last_answered = t;
	return OBS_EOK;
}

int store_observe(obs_store_t *s, const store_obs_t *o, int64_t *obs_id)
{
	int ret = begin(s);
	if (ret)
		return ret;
	int64_t wid = 0, vid = 0;
	if (o->wire && o->wire_len > 0 &&
	    (ret = wire_id(s, o->wire, o->wire_len, o->wire_hash, &wid)))
		return ret;
	const ans_summary_t *a = o->ans;
	bool has_version = a && o->status == ST_ANSWERED && a->ver.kind != ANS_NONE;
	if (has_version && (ret = version_id(s, &a->ver, o->t, &vid)))
		return ret;

	if (s->rows_n == STORE_OBS_BATCH && (ret = flush_obs(s)))
		return ret;
	struct obs_row *r = &s->rows[s->rows_n++];
	*r = (struct obs_row){.id = s->next_obs_id++,
			      .t = o->t,
			      .series_id = o->series_id,
			      .attempt = (int)o->attempt,
			      .transport = (int)o->transport,
			      .status = o->status,
			      .rtt = o->rtt,
			      .has_rtt = o->rtt >= 0,
			      .outcome = o->outcome,
			      .wire_id = wid};
	if (a) {
		r->has_ans = true;
		r->rcode = a->rcode;
		r->flags = a->flags;
		size_t off = 0;
		for (unsigned i = 0; i < a->ede_n; i++)
			off += (size_t)snprintf(r->ede + off, sizeof(r->ede) - off, "%s%u",
						i ? "," : "", a->ede[i]);
	}
	if (vid) {
		r->has_version = true;
		r->version_id = vid;
		r->ttl = a->ver.ttl;
	}
	if (obs_id)
		*obs_id = handle_of(s, r->id);
	s->pending++;
	/* only complete answers speak about what was served; TC=1 answers do not (C3) */
	if (o->status == ST_ANSWERED)
		ret = update_run(s, o->series_id, o->t, vid, has_version ? a->ver.ttl : 0);
	return ret;
}

int store_ns_listing(obs_store_t *s, const char *zone, int64_t source_target_id, const char *ns,
		     uint32_t ttl, obs_usec_t t)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_UPS_NSL];
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, source_target_id);
	sqlite3_bind_text(st, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ttl);
	sqlite3_bind_int64(st, 5, t);
	s->pending++;
	return step_done(s, st, "ns_listing upsert");
}

int store_ns_address(obs_store_t *s, const char *zone, const char *ns, const char *address,
		     const char *source, obs_usec_t t)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_UPS_NSA];
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t);
	s->pending++;
	return step_done(s, st, "ns_address upsert");
}

int store_counters(obs_store_t *s, obs_usec_t t, const char *const *names, const uint64_t *values,
		   size_t n)
{
	int ret = begin(s);
	for (size_t i = 0; i < n && ret == OBS_EOK; i++) {
		sqlite3_stmt *st = s->st[S_INS_COUNTER];
		sqlite3_bind_int64(st, 1, t);
		sqlite3_bind_text(st, 2, names[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)values[i]);
		ret = step_done(s, st, "counter insert");
		s->pending++;
	}
	return ret;
}

int store_set_outcome(obs_store_t *s, int64_t handle, enum store_outcome outcome)
{
	int64_t obs_id = id_of(s, handle);
	if (obs_id == 0)
		return OBS_EOK; /* its row was rolled back */
	int ret = begin(s);
	if (ret)
		return ret;
	for (size_t i = 0; i < s->rows_n; i++) {
		if (s->rows[i].id == obs_id) { /* not inserted yet */
			s->rows[i].outcome = outcome;
			return OBS_EOK;
		}
	}
	sqlite3_stmt *st = s->st[S_SET_OUTCOME];
	sqlite3_bind_int64(st, 1, obs_id);
	sqlite3_bind_int(st, 2, outcome);
	return step_done(s, st, "outcome update");
}

int store_passive_packet(obs_store_t *s, int64_t handle, uint16_t client_port, uint16_t server_port,
			 obs_usec_t t_response, unsigned transport)
{
	int64_t obs_id = id_of(s, handle);
	if (obs_id == 0)
		return OBS_EOK; /* its row was rolled back */
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_PPACKET];
	sqlite3_bind_int64(st, 1, obs_id);
	sqlite3_bind_int(st, 2, client_port);
	sqlite3_bind_int(st, 3, server_port);
	if (t_response > 0)
		sqlite3_bind_int64(st, 4, t_response);
	sqlite3_bind_int(st, 5, (int)transport);
	s->pending++;
	return step_done(s, st, "passive_packet insert");
}

int store_ttl_anomaly(obs_store_t *s, int64_t handle, int64_t series_id, obs_usec_t t,
		      const ans_version_t *v)
{
	if (!ans_ttl_anomaly(v))
		return OBS_EOK;
	int64_t obs_id = id_of(s, handle);
	if (obs_id == 0)
		return OBS_EOK; /* its row was rolled back */
	const obs_hmap_entry_t *e = obs_hmap_get(&s->versions, v->hash);
	if (e == NULL) {
		snprintf(s->err, sizeof(s->err), "TTL anomaly of a version not stored");
		return OBS_EINVAL;
	}
	int ret = begin(s);
	if (ret)
		return ret;
	/* prepared with the others: an anomaly a server keeps serving recurs at every poll */
	sqlite3_stmt *st = s->st[S_INS_TTLANOM];
	sqlite3_bind_int64(st, 1, obs_id);
	sqlite3_bind_int64(st, 2, series_id);
	sqlite3_bind_int64(st, 3, t);
	sqlite3_bind_int64(st, 4, e->id);
	sqlite3_bind_int64(st, 5, v->ttl);
	sqlite3_bind_int64(st, 6, v->ttl_max);
	if (v->sig_count > 0) { /* else NULL: step_done cleared the bindings last time */
		sqlite3_bind_int64(st, 7, v->sig_ttl_min);
		sqlite3_bind_int64(st, 8, v->sig_ttl_max);
	}
	s->pending++;
	return step_done(s, st, "ttl_anomaly insert");
}

int store_clock_step(obs_store_t *s, const cstep_event_t *ev)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_CLKSTEP];
	sqlite3_bind_int64(st, 1, ev->t_before);
	sqlite3_bind_int64(st, 2, ev->t_after);
	sqlite3_bind_int64(st, 3, ev->mono_before);
	sqlite3_bind_int64(st, 4, ev->mono_after);
	sqlite3_bind_int64(st, 5, ev->step);
	s->pending++;
	return step_done(s, st, "clock_step insert");
}

int store_capture_open(obs_store_t *s, const char *source, int linktype, int snaplen, obs_usec_t t,
		       int64_t *id)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_CAPTURE];
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, linktype);
	sqlite3_bind_int(st, 3, snaplen);
	sqlite3_bind_int64(st, 4, t);
	if ((ret = step_done(s, st, "capture insert")))
		return ret;
	*id = sqlite3_last_insert_rowid(s->db);
	s->pending++;
	return store_commit(s); /* the id is kept by the caller */
}

int store_capture_close(obs_store_t *s, int64_t id, obs_usec_t t)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_END_CAPTURE];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t);
	s->pending++;
	return step_done(s, st, "capture update");
}

int store_capture_stats(obs_store_t *s, int64_t id, obs_usec_t t_start, obs_usec_t t_end,
			uint64_t received, uint64_t dropped, uint64_t ifdropped)
{
	int ret = begin(s);
	if (ret)
		return ret;
	sqlite3_stmt *st = s->st[S_INS_CSTATS];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t_start);
	sqlite3_bind_int64(st, 3, t_end);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)received);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)dropped);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)ifdropped);
	s->pending++;
	return step_done(s, st, "capture_stats insert");
}
