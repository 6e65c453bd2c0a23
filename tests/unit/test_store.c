/* SPDX-License-Identifier: MIT */
/* The store: migrations, runs with conservative bounds, deduplication, restart continuity,
 * schema and owner checks, and the bytes an observation of a known version costs. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbfiles.h"
#include "obs_err.h"
#include "store.h"

static char path[64];

static void setup(void)
{
	snprintf(path, sizeof(path), "/tmp/obs-test-store-%d.db", getpid());
	unlink(path);
}

static void teardown(void)
{
	db_unlink(path);
}

TestSuite(store, .init = setup, .fini = teardown);

static int64_t qint(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		v = -2;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static ans_summary_t version(uint8_t tag, uint32_t ttl)
{
	ans_summary_t a;
	memset(&a, 0, sizeof(a));
	a.ver.kind = ANS_ANSWER;
	memset(a.ver.hash, tag, ANS_HASH_LEN);
	snprintf(a.ver.owner, sizeof(a.ver.owner), "example.lab.");
	a.ver.type = 48;
	a.ver.ttl = ttl;
	a.ver.rr_count = 1;
	static uint8_t rd[4] = {0, 2, 1, 2};
	a.ver.rdata = rd;
	a.ver.rdata_len = 4;
	return a;
}

static void observe(obs_store_t *s, int64_t series, obs_usec_t t, enum store_status st,
		    const ans_summary_t *a)
{
	uint8_t wire[40] = {0x12, 0x34, 0x81, 0x80};
	wire[39] = a ? a->ver.hash[0] : 0;
	store_obs_t o = {.series_id = series,
			 .t = t,
			 .status = st,
			 .rtt = 100,
			 .ans = a,
			 .wire = a ? wire : NULL,
			 .wire_len = a ? sizeof(wire) : 0};
	cr_assert_eq(store_observe(s, &o, NULL), OBS_EOK);
}

Test(store, runs_have_conservative_bounds)
{
	obs_store_t *s;
	char err[256];
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK, "%s", err);
	int64_t tg, se;
	cr_assert_eq(
	    store_target(s, "provider", "example.lab.", "a", "ns.a.", "127.0.0.11", NULL, 1, &tg),
	    OBS_EOK);
	cr_assert_eq(store_series(s, tg, "example.lab.", 48, 4, "dnskey", &se), OBS_EOK);
	ans_summary_t v1 = version(1, 5), v1b = version(1, 20), v2 = version(2, 5);
	observe(s, se, 100, ST_ANSWERED, &v1);
	observe(s, se, 200, ST_TIMEOUT, NULL); /* neither extends nor closes */
	observe(s, se, 300, ST_ANSWERED, &v1b);
	observe(s, se, 400, ST_ANSWERED, &v2);
	observe(s, se, 500, ST_ANSWERED, &v2);
	cr_assert_eq(store_commit(s), OBS_EOK);
	store_close(s);
	cr_assert_eq(qint("SELECT count(*) FROM run"), 2);
	cr_assert_eq(qint("SELECT first_seen FROM run WHERE id = 1"), 100);
	cr_assert_eq(qint("SELECT last_seen FROM run WHERE id = 1"), 300);
	cr_assert_eq(qint("SELECT count FROM run WHERE id = 1"), 2);
	cr_assert_eq(qint("SELECT prev_poll FROM run WHERE id = 1"), -2, "none before: NULL");
	cr_assert_eq(qint("SELECT next_poll FROM run WHERE id = 1"), 400);
	cr_assert_eq(qint("SELECT ttl_max_s FROM run WHERE id = 1"), 20);
	cr_assert_eq(qint("SELECT prev_poll FROM run WHERE id = 2"), 300);
	cr_assert_eq(qint("SELECT next_poll FROM run WHERE id = 2"), -2, "open run");
	cr_assert_eq(qint("SELECT ttl_max_s FROM version WHERE id = 1"), 20, "largest TTL kept");
	cr_assert_eq(qint("SELECT ttl_min_s FROM version WHERE id = 1"), 5);
	cr_assert_eq(qint("SELECT count(*) FROM version"), 2);
	cr_assert_eq(qint("SELECT count(*) FROM observation"), 5);
	cr_assert_eq(qint("SELECT status FROM observation WHERE t = 200"), ST_TIMEOUT);
	cr_assert_eq(qint("SELECT count(*) FROM wire"), 2, "wires deduplicated, ID ignored");
	cr_assert_eq(qint("SELECT max(version) FROM schema_version"), store_schema_version());
}

Test(store, runs_continue_across_restart_and_answers_without_data_close_them)
{
	obs_store_t *s;
	char err[256];
	int64_t tg, se;
	ans_summary_t v1 = version(1, 5), servfail;
	memset(&servfail, 0, sizeof(servfail));
	servfail.rcode = 2;
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "resolver", "example.lab.", "unbound", "unbound", "127.0.0.21", NULL, 1,
		     &tg);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	observe(s, se, 100, ST_ANSWERED, &v1);
	store_close(s);
	cr_assert_eq(store_open(path, "v1", 2, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "resolver", "example.lab.", "unbound", "unbound", "127.0.0.21", NULL, 2,
		     &tg);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	observe(s, se, 200, ST_ANSWERED, &v1);
	observe(s, se, 300, ST_ANSWERED, &servfail);
	observe(s, se, 400, ST_ANSWERED, &v1);
	store_close(s);
	cr_assert_eq(qint("SELECT count(*) FROM run"), 2);
	cr_assert_eq(qint("SELECT last_seen FROM run WHERE id = 1"), 200);
	cr_assert_eq(qint("SELECT next_poll FROM run WHERE id = 1"), 300);
	cr_assert_eq(qint("SELECT prev_poll FROM run WHERE id = 2"), 300);
	cr_assert_eq(qint("SELECT count(*) FROM target"), 1);
}

Test(store, refuses_newer_schema_and_other_collector)
{
	obs_store_t *s;
	char err[256];
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK);
	store_close(s);
	cr_assert_eq(store_open(path, "v2", 1, &s, err, sizeof(err)), OBS_ECONFIG);
	cr_assert(strstr(err, "belongs to collector 'v1'"), "%s", err);
	sqlite3 *db;
	sqlite3_open(path, &db);
	sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 0)", NULL, NULL, NULL);
	sqlite3_close(db);
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_ESCHEMA);
	cr_assert(strstr(err, "999"), "%s", err);
}

Test(store, repeated_observation_costs_under_64_bytes)
{
	obs_store_t *s;
	char err[256];
	int64_t tg, se;
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "provider", "example.lab.", "a", "ns.a.", "127.0.0.11", NULL, 1, &tg);
	store_series(s, tg, "example.lab.", 48, 4, "dnskey", &se);
	ans_summary_t v1 = version(1, 5);
	obs_usec_t t0 = INT64_C(1795817354123000);
	for (int i = 0; i < 1000; i++)
		observe(s, se, t0 + i * 1000000, ST_ANSWERED, &v1);
	store_commit(s);
	store_close(s);
	int64_t before = qint("SELECT sum(pgsize) FROM dbstat");
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "provider", "example.lab.", "a", "ns.a.", "127.0.0.11", NULL, 1, &tg);
	store_series(s, tg, "example.lab.", 48, 4, "dnskey", &se);
	for (int i = 0; i < 20000; i++)
		observe(s, se, t0 + (1000 + i) * INT64_C(1000000), ST_ANSWERED, &v1);
	store_commit(s);
	store_close(s);
	int64_t after = qint("SELECT sum(pgsize) FROM dbstat");
	double per = (double)(after - before) / 20000.0;
	cr_log_info("bytes per repeated observation: %.1f", per);
	cr_assert_lt(per, 64.0, "%.1f bytes per observation", per);
}

/* T-5 (i), (ii): an answer whose RRs carry different TTLs, or whose RRSIG TTL differs, gets a
 * ttl_anomaly row beside its observation; an ordinary answer gets none (nothing more stored
 * per ordinary observation: the bytes test above). */
Test(store, ttl_anomaly_recorded_only_when_it_occurs)
{
	obs_store_t *s;
	char err[256];
	int64_t tg, se, o1 = 0, o2 = 0, o3 = 0;
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "provider", "example.lab.", "a", "ns.a.", "127.0.0.11", NULL, 1, &tg);
	store_series(s, tg, "example.lab.", 48, 4, "dnskey", &se);
	ans_summary_t ok = version(1, 300), mixed = version(2, 300), sig = version(3, 300);
	ok.ver.ttl_max = 300;
	mixed.ver.ttl_max = 3600;
	mixed.ver.rr_count = 2;
	static uint8_t rs[4] = {0, 2, 9, 9};
	sig.ver.ttl_max = 300;
	sig.ver.sig_count = 1;
	sig.ver.rrsig = rs;
	sig.ver.rrsig_len = 4;
	sig.ver.sig_ttl_min = sig.ver.sig_ttl_max = 60;
	const ans_summary_t *all[3] = {&ok, &mixed, &sig};
	int64_t *ids[3] = {&o1, &o2, &o3};
	for (int i = 0; i < 3; i++) {
		uint8_t wire[40] = {0x12, 0x34, 0x81, 0x80};
		wire[39] = all[i]->ver.hash[0];
		store_obs_t o = {.series_id = se,
				 .t = 1000 + i,
				 .status = ST_ANSWERED,
				 .rtt = 100,
				 .ans = all[i],
				 .wire = wire,
				 .wire_len = sizeof(wire)};
		cr_assert_eq(store_observe(s, &o, ids[i]), OBS_EOK);
		cr_assert_eq(store_ttl_anomaly(s, *ids[i], se, o.t, &all[i]->ver), OBS_EOK, "%s",
			     store_errmsg(s));
	}
	cr_assert_eq(store_commit(s), OBS_EOK);
	store_close(s);
	char q[160];
	cr_assert_eq(qint("SELECT count(*) FROM ttl_anomaly"), 2);
	snprintf(
	    q, sizeof(q),
	    "SELECT ttl_max_s * 10000 + ttl_min_s FROM ttl_anomaly WHERE observation_id = %lld "
	    "AND sig_ttl_min_s IS NULL",
	    (long long)o2);
	cr_assert_eq(qint(q), 36000300, "(i): 300 to 3600, unsigned");
	snprintf(q, sizeof(q),
		 "SELECT sig_ttl_min_s * 1000 + sig_ttl_max_s FROM ttl_anomaly WHERE "
		 "observation_id = %lld AND ttl_min_s = 300 AND ttl_max_s = 300",
		 (long long)o3);
	cr_assert_eq(qint(q), 60060, "(ii): RRSIG TTL 60, set 300");
	snprintf(q, sizeof(q),
		 "SELECT count(*) FROM ttl_anomaly a JOIN observation o ON o.id = a.observation_id "
		 "AND o.version_id = a.version_id AND o.t = a.t WHERE a.observation_id = %lld",
		 (long long)o3);
	cr_assert_eq(qint(q), 1, "the row points at its observation and version");
}

#include "embedded.h"

Test(store, upgrades_a_version_1_database_keeping_its_rows)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
				  "CREATE TABLE schema_version (version INTEGER NOT NULL, "
				  "applied_at INTEGER NOT NULL)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, obs_collector_migrations[0].data, NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
				  "INSERT INTO schema_version VALUES (1, 0);"
				  "INSERT INTO meta VALUES ('collector', 'v1');"
				  "INSERT INTO target VALUES (7, 'provider', 'example.lab.', 'a', "
				  "'ns.a.', '127.0.0.11', NULL, 5)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db);
	obs_store_t *s;
	char err[256];
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK, "%s", err);
	int64_t id;
	cr_assert_eq(
	    store_target(s, "passive", "", "127.0.0.21", "127.0.0.11", "127.0.0.11", NULL, 9, &id),
	    OBS_EOK, "the new kind is accepted");
	store_close(s);
	cr_assert_eq(qint("SELECT max(version) FROM schema_version"), store_schema_version());
	cr_assert_eq(qint("SELECT first_seen FROM target WHERE id = 7"), 5, "rows and ids kept");
	cr_assert_eq(qint("SELECT count(*) FROM target"), 2);
}

/* Observation rows are inserted in batches: the ids handed out must be the rows' ids, in
 * order and across commits and restarts, and an outcome set before or after its row reached
 * the database must land on that row. */
Test(store, batched_observations_keep_their_ids_and_outcomes)
{
	obs_store_t *s;
	char err[256];
	int64_t tg, se, ids[100];
	ans_summary_t v1 = version(1, 5);
	cr_assert_eq(store_open(path, "b", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "resolver", "example.lab.", "u", "u", "127.0.0.21", NULL, 1, &tg);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	for (int i = 0; i < 100; i++) {
		store_obs_t o = {.series_id = se,
				 .t = 1000 + i,
				 .status = i % 7 == 3 ? ST_TIMEOUT : ST_ANSWERED,
				 .rtt = i % 7 == 3 ? -1 : i,
				 .ans = i % 7 == 3 ? NULL : &v1};
		cr_assert_eq(store_observe(s, &o, &ids[i]), OBS_EOK);
		if (i == 49)
			cr_assert_eq(store_commit(s), OBS_EOK);
	}
	/* 0 and 40 are in the database already, 99 is still buffered */
	cr_assert_eq(store_set_outcome(s, ids[0], OUT_SECURE), OBS_EOK);
	cr_assert_eq(store_set_outcome(s, ids[40], OUT_BOGUS), OBS_EOK);
	cr_assert_eq(store_set_outcome(s, ids[99], OUT_LOST), OBS_EOK);
	store_close(s);
	cr_assert_eq(qint("SELECT count(*) FROM observation"), 100);
	for (int i = 0; i < 100; i++) {
		char sql[160];
		snprintf(sql, sizeof(sql), "SELECT t FROM observation WHERE id = %lld",
			 (long long)ids[i]);
		cr_assert_eq(qint(sql), 1000 + i, "row %d", i);
		snprintf(sql, sizeof(sql),
			 "SELECT coalesce(rtt, -1) FROM observation WHERE id = %lld",
			 (long long)ids[i]);
		cr_assert_eq(qint(sql), i % 7 == 3 ? -1 : i, "row %d", i);
	}
	cr_assert_eq(qint("SELECT count(*) FROM observation WHERE version_id IS NULL"), 14);
	cr_assert_eq(qint("SELECT count(*) FROM observation WHERE outcome IS NOT NULL"), 3);
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT outcome FROM observation WHERE id = %lld",
		 (long long)ids[99]);
	cr_assert_eq(qint(sql), OUT_LOST);
	snprintf(sql, sizeof(sql), "SELECT outcome FROM observation WHERE id = %lld",
		 (long long)ids[40]);
	cr_assert_eq(qint(sql), OUT_BOGUS);
	/* a restart continues after the last id */
	cr_assert_eq(store_open(path, "b", 2, &s, err, sizeof(err)), OBS_EOK);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	int64_t next;
	store_obs_t o = {.series_id = se, .t = 5000, .status = ST_TIMEOUT, .rtt = -1};
	cr_assert_eq(store_observe(s, &o, &next), OBS_EOK);
	cr_assert_eq(next, ids[99] + 1);
	store_close(s);
	cr_assert_eq(qint("SELECT max(id) FROM observation"), next);
	cr_assert_eq(qint("SELECT count(*) FROM run"), 1);
	cr_assert_eq(qint("SELECT count FROM run"), 86);
}

/* SQLite assigns the observation ids; the store hands them out before the rows are inserted
 * and checks after each insert that SQLite agreed. A trigger that slips in an extra row puts
 * the ids out of step: the insert must fail rather than leave callers with wrong ids. */
Test(store, observation_ids_out_of_step_are_an_error)
{
	obs_store_t *s;
	char err[256];
	int64_t tg, se;
	cr_assert_eq(store_open(path, "b", 1, &s, err, sizeof(err)), OBS_EOK);
	store_target(s, "resolver", "example.lab.", "u", "u", "127.0.0.21", NULL, 1, &tg);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	store_close(s);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(db,
			 "CREATE TRIGGER sneak AFTER INSERT ON observation WHEN new.t = 7 "
			 "BEGIN INSERT INTO observation (t, series_id, attempt, transport, "
			 "status) VALUES (-1, new.series_id, 0, 0, 1); END",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_open(path, "b", 2, &s, err, sizeof(err)), OBS_EOK);
	store_series(s, tg, "example.lab.", 48, 5, "dnskey", &se);
	int ret = OBS_EOK, i;
	for (i = 0; i < 100 && ret == OBS_EOK; i++) {
		store_obs_t o = {.series_id = se, .t = i, .status = ST_TIMEOUT, .rtt = -1};
		ret = store_observe(s, &o, NULL);
	}
	cr_assert_eq(ret, OBS_ESQL, "the rows after the extra one got other ids than handed out");
	cr_assert_eq(i, 33, "detected at the first batch insert (row %d)", i);
	cr_assert(strstr(store_errmsg(s), "handed out") != NULL, "%s", store_errmsg(s));
	store_close(s);
}
