/* SPDX-License-Identifier: MIT */
/* The chunked observations (analyzer/ochunk.h) against a plain table holding the same polls:
 * every query gives the same rows in the same order. The history is random (fixed seed) with
 * what the chunks must get right: repeats, key changes, NULLs, a series whose clock goes back
 * (overlapping chunks), a series longer than OC_CHUNK_MAX, polls appended by a second writer
 * (a later ingest), and a late outcome. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_db.h"
#include "dbfiles.h"
#include "obs_err.h"
#include "ochunk.h"

static char path[64];
static an_db_t *db;

static void cleanup(void)
{
	db_unlink(path);
}

static void exec(const char *sql)
{
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(an_db_sql(db), sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql,
		     msg ? msg : "");
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng % n;
}

static const char *const EDE[] = {NULL, "6", "9,22"};

/* one writer pass: polls of series 1..nser, some back in time in series 3 */
static void write_polls(int64_t *id, int64_t *src, int64_t *t, size_t n, int nser)
{
	oc_writer_t *w;
	cr_assert_eq(oc_writer_new(an_db_sql(db), &w), OBS_EOK);
	sqlite3_stmt *ref;
	cr_assert_eq(
	    sqlite3_prepare_v2(an_db_sql(db),
			       "INSERT INTO ref VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
			       "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
			       -1, &ref, NULL),
	    SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		int64_t sid = 1 + (int64_t)rnd((uint64_t)nser);
		if (i % 3 == 0)
			sid = 1; /* a long series: more than OC_CHUNK_MAX polls */
		*t += (int64_t)rnd(400000);
		*src += 1 + (int64_t)rnd(2);
		bool stable =
		    (sid == 1 || sid == 3) && rnd(50) != 0; /* long runs of the same key */
		oc_poll_t p = {
		    .id = ++*id,
		    .src_id = *src,
		    .t = sid == 3 && rnd(10) == 0 ? *t - 5000000 : *t, /* back in time */
		    .series_id = sid,
		    .collector_id = 1 + (sid == 4),
		    .attempt = stable ? 0 : (int)rnd(2),
		    .transport = stable ? 0 : (int)rnd(2),
		    .status = stable ? 0 : (int)rnd(3),
		    .has_rtt = rnd(8) != 0,
		    .rtt = (int64_t)rnd(90000),
		    .has_rcode = stable || rnd(4) != 0,
		    .rcode = stable ? 0 : (int64_t)rnd(4),
		    .has_flags = stable || rnd(4) != 0,
		    .flags = stable ? 1 : (int64_t)rnd(3),
		    .has_outcome = rnd(6) != 0,
		    .outcome = (int64_t)rnd(5),
		    .has_version = stable || rnd(5) != 0,
		    .version_id = stable ? 7 : 1 + (int64_t)rnd(4),
		    .has_ttl = rnd(7) != 0,
		    .ttl_s = 300 - (int64_t)rnd(300),
		    .has_wire = rnd(9) != 0,
		    .wire_src_id = (int64_t)rnd(1000),
		    .recursive = sid % 2 == 0,
		    .ede = stable ? NULL : EDE[rnd(3)],
		};
		cr_assert_eq(oc_writer_add(w, &p), OBS_EOK);
		sqlite3_bind_int64(ref, 1, p.id);
		sqlite3_bind_int64(ref, 2, p.collector_id);
		sqlite3_bind_int64(ref, 3, p.src_id);
		sqlite3_bind_int64(ref, 4, p.t);
		sqlite3_bind_int64(ref, 5, p.series_id);
		sqlite3_bind_int(ref, 6, p.attempt);
		sqlite3_bind_int(ref, 7, p.transport);
		sqlite3_bind_int(ref, 8, p.status);
#define OPT(i, has, v)                                                                             \
	do {                                                                                       \
		if (has)                                                                           \
			sqlite3_bind_int64(ref, i, v);                                             \
		else                                                                               \
			sqlite3_bind_null(ref, i);                                                 \
	} while (0)
		OPT(9, p.has_rtt, p.rtt);
		OPT(10, p.has_rcode, p.rcode);
		OPT(11, p.has_flags, p.flags);
		if (p.ede)
			sqlite3_bind_text(ref, 12, p.ede, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ref, 12);
		OPT(13, p.has_outcome, p.outcome);
		OPT(14, p.has_version, p.version_id);
		OPT(15, p.has_ttl, p.ttl_s);
		OPT(16, p.has_wire, p.wire_src_id);
		OPT(17, p.recursive, 1);
#undef OPT
		cr_assert_eq(sqlite3_step(ref), SQLITE_DONE);
		sqlite3_reset(ref);
		if (i % 5000 == 4999)
			cr_assert_eq(oc_writer_flush(w),
				     OBS_EOK); /* flushes mid-way change nothing */
	}
	cr_assert_eq(oc_writer_flush(w), OBS_EOK);
	sqlite3_finalize(ref);
	oc_writer_free(w);
}

static void setup(void)
{
	snprintf(path, sizeof(path), "/tmp/obs-ochunk-%d.db", getpid());
	cleanup();
	char err[256];
	cr_assert_eq(an_db_open(path, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	exec("CREATE TEMP TABLE ref (id INTEGER PRIMARY KEY, collector_id INTEGER, src_id INTEGER, "
	     "t INTEGER, series_id INTEGER, attempt INTEGER, transport INTEGER, status INTEGER, "
	     "rtt INTEGER, rcode INTEGER, flags INTEGER, ede TEXT, outcome INTEGER, version_id "
	     "INTEGER, ttl_s INTEGER, wire_src_id INTEGER, recursive INTEGER)");
	exec("BEGIN");
	int64_t id = 100, src = 5000, t = 1700000000000000;
	write_polls(&id, &src, &t, 15000, 6);
	write_polls(&id, &src, &t, 3000, 6); /* a later ingest appends to the open chunks */
	exec("COMMIT");
}

static void teardown(void)
{
	an_db_close(db);
	db = NULL;
	cleanup();
}

TestSuite(ochunk, .init = setup, .fini = teardown);

/* the rows of sql over `observation` and over `ref` (the text of every column) */
static char *rows(const char *sql, const char *table)
{
	char q[2048];
	const char *at = strstr(sql, "TBL");
	cr_assert_not_null(at);
	snprintf(q, sizeof(q), "%.*s%s%s", (int)(at - sql), sql, table, at + 3);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(an_db_sql(db), q, -1, &st, NULL), SQLITE_OK, "%s: %s", q,
		     sqlite3_errmsg(an_db_sql(db)));
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	out[0] = '\0';
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			size_t need = len + (v ? strlen(v) : 4) + 2;
			if (need >= cap) {
				while (need >= cap)
					cap *= 2;
				out = realloc(out, cap);
				cr_assert_not_null(out);
			}
			len += (size_t)sprintf(out + len, "%s%c", v ? v : "NULL",
					       i + 1 < sqlite3_column_count(st) ? '|' : '\n');
		}
	}
	cr_assert_eq(rc, SQLITE_DONE, "%s: %s", q, sqlite3_errmsg(an_db_sql(db)));
	sqlite3_finalize(st);
	return out;
}

static void same(const char *sql)
{
	char *a = rows(sql, "observation"), *b = rows(sql, "ref");
	cr_assert(strlen(b) > 0 || strstr(sql, "empty") != NULL, "no rows at all: %s", sql);
	cr_assert(strcmp(a, b) == 0, "%s\nchunks: %.300s\nplain:  %.300s", sql, a, b);
	free(a);
	free(b);
}

static const char *const QUERIES[] = {
    "SELECT * FROM TBL ORDER BY id",
    "SELECT count(*), sum(t - 1700000000000000), sum(ttl_s), sum(rtt), sum(wire_src_id), "
    "sum(outcome) FROM TBL",
    "SELECT * FROM TBL WHERE series_id = 1 ORDER BY t, id",
    "SELECT * FROM TBL WHERE series_id = 3 ORDER BY t, id",
    "SELECT * FROM TBL WHERE series_id = 3 ORDER BY t DESC, id DESC",
    "SELECT id, t FROM TBL WHERE series_id = 3 ORDER BY t DESC LIMIT 7",
    "SELECT id, t FROM TBL WHERE series_id = 1 AND t > 1700000900000000 ORDER BY t LIMIT 3",
    "SELECT max(t) FROM TBL WHERE series_id = 2 AND t < 1700001000000000",
    "SELECT min(t) FROM TBL WHERE series_id = 2 AND t > 1700001000000000 AND t <= "
    "1700002000000000",
    "SELECT id, t FROM TBL WHERE series_id = 5 AND t <= 1700001500000000 ORDER BY t DESC "
    "LIMIT 1",
    "SELECT id, series_id, t FROM TBL ORDER BY series_id, t, id",
    "SELECT id FROM TBL WHERE t = (SELECT t FROM ref WHERE id = 4321) ORDER BY id",
    "SELECT * FROM TBL WHERE id = 4321",
    "SELECT * FROM TBL WHERE id = 17000",
    "SELECT * FROM TBL WHERE id = 99 OR id = 18100",
    "SELECT id FROM TBL WHERE id > 17500 ORDER BY id LIMIT 20",
    "SELECT id FROM TBL WHERE id >= 300 AND id < 320 ORDER BY id",
    "SELECT count(*) FROM TBL WHERE collector_id = 2 AND src_id > 20000 AND src_id <= 30000",
    "SELECT count(*), sum(t - 1700000000000000) FROM TBL WHERE status = 0 AND version_id IS NOT "
    "NULL",
    "SELECT count(*) FROM TBL WHERE status != 0 OR rcode NOT IN (0, 3) OR (flags & 1) = 0",
    "SELECT count(*) FROM TBL WHERE recursive IS NULL AND (status != 0 OR rcode NOT IN (0, 3))",
    "SELECT count(*) FROM TBL WHERE recursive = 1 AND version_id IN (2, 3)",
    "SELECT count(*) FROM TBL WHERE ede = '9,22' AND outcome = 2",
    "SELECT count(*) FROM TBL WHERE ede IS NULL AND ttl_s IS NOT NULL",
    "SELECT count(*) FROM TBL WHERE rcode IS NOT 0 AND flags IS NOT NULL",
    "SELECT id FROM TBL WHERE series_id IN (2, 4, 6) AND t > 1700000500000000 ORDER BY t, id "
    "LIMIT 30",
    "SELECT series_id, count(*), min(id), max(ttl_s) FROM TBL GROUP BY series_id ORDER BY 1",
    "SELECT count(*) FROM TBL WHERE series_id = '2' AND t > 1700000500000000.5",
    "SELECT count(*) FROM TBL WHERE series_id = 2 AND t < 'abc'",
    "SELECT count(*) FROM TBL WHERE series_id = 2.5 -- empty",
    "SELECT count(*) FROM TBL WHERE t > NULL -- empty",
    "SELECT count(*) FROM TBL WHERE status = 'x' -- empty",
    "SELECT count(*) FROM TBL WHERE t >= 9e300 OR t <= -9e300 OR t > 1e300",
    "SELECT count(*) FROM TBL WHERE series_id = 1 AND t < 1e30 AND t > -1e30",
    "SELECT o.id FROM TBL o WHERE o.series_id = 2 AND o.t > (SELECT min(t) FROM ref) ORDER BY "
    "o.t, o.id LIMIT 5",
};

Test(ochunk, every_query_matches_a_plain_table, .timeout = 60)
{
	for (size_t i = 0; i < sizeof(QUERIES) / sizeof(QUERIES[0]); i++)
		same(QUERIES[i]);
}

Test(ochunk, chunks_are_few_and_small)
{
	sqlite3_int64 n = 0, bytes = 0, over = 0;
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT count(*), sum(length(polls)), sum(n > ?) FROM obs_chunk", -1,
			       &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int(st, 1, OC_CHUNK_MAX);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0), bytes = sqlite3_column_int64(st, 1);
	over = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	cr_assert_eq(over, 0);
	/* series 1 holds a third of the polls in long stable runs */
	cr_assert_lt(n, 18000 * 3 / 4, "%lld chunks for 18000 polls", (long long)n);
	cr_assert_lt(bytes, 18000 * 16, "%lld bytes", (long long)bytes);
}

Test(ochunk, late_outcome_set_in_place)
{
	exec("UPDATE ref SET outcome = 4 WHERE id = 9000");
	cr_assert_eq(oc_set_outcome(an_db_sql(db), 9000, 4), OBS_EOK);
	exec("UPDATE ref SET outcome = 0 WHERE id = 101");
	cr_assert_eq(oc_set_outcome(an_db_sql(db), 101, 0), OBS_EOK);
	cr_assert_eq(oc_set_outcome(an_db_sql(db), 99, 1), OBS_ENOENT);
	cr_assert_eq(oc_set_outcome(an_db_sql(db), 9000, 127), OBS_ERANGE);
	same("SELECT * FROM TBL ORDER BY id");
}

/* a damaged blob is an error, not a crash or a read past it */
Test(ochunk, damaged_blob_is_an_error)
{
	exec("UPDATE obs_chunk SET polls = substr(polls, 1, length(polls) / 2) WHERE id = (SELECT "
	     "id FROM obs_chunk ORDER BY n DESC LIMIT 1)");
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(an_db_sql(db), "SELECT count(*) FROM observation", -1, &st, NULL),
	    SQLITE_OK);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	cr_assert_neq(rc, SQLITE_ROW);
	exec("UPDATE obs_chunk SET polls = x'ffffffffffffffffffffff' WHERE id = (SELECT id FROM "
	     "obs_chunk ORDER BY n LIMIT 1)");
	cr_assert_eq(sqlite3_prepare_v2(an_db_sql(db),
					"SELECT count(*) FROM observation WHERE "
					"series_id = 1",
					-1, &st, NULL),
		     SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
}
