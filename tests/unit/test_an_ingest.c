/* SPDX-License-Identifier: MIT */
/* Ingest (idempotent, incremental, schema refusal, clock offset) and observed glitches (window
 * bounds, baseline exclusion O-1, attribution to CD=1 versions, JSON fields). */
#include <unistd.h>

#include "an_hist.h"
#include "ingest.h"
#include "model.h"
#include "obs_err.h"
#include "oglitch.h"
#include "report_json.h"
#include "sigv.h"

static char cpath[64], c2path[64], apath[64];

static void setup(void)
{
	snprintf(cpath, sizeof(cpath), "/tmp/obs-ani-c-%d.db", getpid());
	snprintf(c2path, sizeof(c2path), "/tmp/obs-ani-d-%d.db", getpid());
	snprintf(apath, sizeof(apath), "/tmp/obs-ani-a-%d.db", getpid());
	unlink(apath);
}

static void teardown(void)
{
	unlink(cpath);
	unlink(c2path);
	unlink(apath);
}

TestSuite(an_ingest, .init = setup, .fini = teardown);

static int64_t count(an_db_t *db, const char *sql)
{
	int64_t v;
	cr_assert_eq(an_db_int(db, sql, &v), OBS_EOK, "%s", sql);
	return v;
}

/* an authoritative SOA series whose version changes at poll 3 (of 6), seen from a collector
 * whose clock is `skew` seconds ahead; with `also`, a second server of provider a at that
 * address, polled the same way, changes at the same time */
static void soa_history2(const char *path, const char *name, double skew, const char *also)
{
	hist_t h;
	h_open(&h, path, name, 1);
	int64_t t = h_target(&h, "provider", "a", "ns.prova.lab.", "127.0.3.11");
	int64_t s = h_series(&h, t, ZONE, 6, 4, "soa"), s2 = 0;
	if (also)
		s2 = h_series(&h, h_target(&h, "provider", "a", "ns2.prova.lab.", also), ZONE, 6, 4,
			      "soa");
	ldns_rr_list *l1 = ldns_rr_list_new(), *l2 = ldns_rr_list_new();
	ldns_rr *r = NULL;
	ldns_rr_new_frm_str(&r, ZONE " 300 IN SOA a. b. 1 1 1 1 1", 300, NULL, NULL);
	ldns_rr_list_push_rr(l1, r);
	ldns_rr_new_frm_str(&r, ZONE " 300 IN SOA a. b. 2 1 1 1 1", 300, NULL, NULL);
	ldns_rr_list_push_rr(l2, r);
	int64_t v1 = h_version(&h, ZONE, 6, l1, NULL), v2 = h_version(&h, ZONE, 6, l2, NULL);
	for (int i = 0; i < 6; i++) {
		h_obs(&h, s, 1000 + i + skew, 0, 0, 1, i < 3 ? v1 : v2, 300, 0);
		if (s2)
			h_obs(&h, s2, 1000 + i + skew, 0, 0, 1, i < 3 ? v1 : v2, 300, 0);
	}
	ldns_rr_list_deep_free(l1);
	ldns_rr_list_deep_free(l2);
	h_close(&h);
}

static void soa_history(const char *path, const char *name, double skew)
{
	soa_history2(path, name, skew, NULL);
}

Test(an_ingest, twice_changes_nothing_and_runs_have_bounds)
{
	soa_history(cpath, "v1", 0);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.observations, 6);
	cr_assert_eq(count(db, "SELECT count(*) FROM run"), 2);
	cr_assert_eq(count(db, "SELECT next_poll FROM run WHERE prev_poll IS NULL"), 1003000000);
	cr_assert_eq(count(db, "SELECT prev_poll FROM run WHERE next_poll IS NULL"), 1002000000);
	int64_t before = sqlite3_total_changes(an_db_sql(db));
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.observations, 0);
	cr_assert_eq(sqlite3_total_changes(an_db_sql(db)), before, "second ingest wrote rows");
	an_db_close(db);
}

/* the collector's TTL anomaly rows (T-5 (i), (ii)) come along with their observations, once */
Test(an_ingest, ttl_anomalies_copied_once_beside_their_observations)
{
	soa_history(cpath, "v1", 0);
	hist_t h;
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h,
	       "INSERT INTO ttl_anomaly SELECT id, series_id, t, version_id, 300, 600, 300, 300 "
	       "FROM observation WHERE id IN (2, 5)");
	h_close(&h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM ttl_anomaly a JOIN observation o ON o.id = "
			       "a.observation_id AND o.src_id = a.src_id AND o.series_id = "
			       "a.series_id AND o.t = a.t AND o.version_id = a.version_id WHERE "
			       "a.ttl_max_s = 600"),
		     2);
	int64_t before = sqlite3_total_changes(an_db_sql(db));
	cr_assert_eq(ing_collector(db, cpath, 1, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(sqlite3_total_changes(an_db_sql(db)), before, "second ingest wrote rows");
	an_db_close(db);
}

/* A resolver's outcome settles after its row was written (both answers of the round): the
 * next ingest sets it in the chunk, in place, and nothing else changes. */
Test(an_ingest, late_outcome_set_in_place)
{
	soa_history(cpath, "v1", 0);
	hist_t h;
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "UPDATE series SET flags = flags | 1"); /* RD=1: a resolver's polls */
	h_exec(&h, "UPDATE observation SET outcome = NULL WHERE id = 4");
	h_exec(&h, "UPDATE observation SET outcome = 1 WHERE id != 4");
	h_close(&h);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE outcome IS NULL"), 1);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE src_id = 4 AND outcome IS "
			       "NULL"),
		     1);
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "UPDATE observation SET outcome = 3 WHERE id = 4");
	h_close(&h);
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.outcomes_updated, 1);
	cr_assert_eq(st.observations, 0);
	cr_assert_eq(count(db, "SELECT outcome FROM observation WHERE src_id = 4"), 3);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE outcome = 1"), 5);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation"), 6);
	cr_assert_eq(count(db, "SELECT count(*) FROM obs_unsettled"), 0);
	an_db_close(db);
}

/* A collector row the chunks cannot hold (an outcome no collector writes) fails the ingest
 * with its row named, and what was ingested before stays. */
Test(an_ingest, outcome_out_of_range_refused)
{
	soa_history(cpath, "v1", 0);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	hist_t h;
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "INSERT INTO observation (t, series_id, attempt, transport, status, outcome) "
		   "SELECT t + 1000000, series_id, 0, 0, 1, 200 FROM observation WHERE id = 6");
	h_close(&h);
	err[0] = '\0';
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_ERANGE);
	cr_assert_not_null(strstr(err, "observation 7: outcome 200 out of range"), "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation"), 6);
	cr_assert_eq(count(db, "SELECT last_id FROM hwm WHERE tbl = 'observation'"), 6);
	an_db_close(db);
}

Test(an_ingest, unknown_schema_refused_with_names)
{
	hist_t h;
	h_open(&h, cpath, "v1", 1);
	char sql[96], want[32];
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d, 0)",
		 ing_known_collector_schema() + 1);
	snprintf(want, sizeof(want), "version %d", ing_known_collector_schema() + 1);
	h_exec(&h, sql);
	h_close(&h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_ESCHEMA);
	cr_assert_not_null(strstr(err, cpath), "%s", err);
	cr_assert_not_null(strstr(err, want), "%s", err);
	an_db_close(db);
}

Test(an_ingest, clock_offset_from_shared_transition)
{
	soa_history(cpath, "v1", 0);
	soa_history(c2path, "v2", 30); /* 30 s ahead */
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, c2path, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.offset_samples, 1);
	cr_assert_eq(st.clock_offset_us, 30 * 1000000);
	an_db_close(db);
}

/* The same SOA change seen by two collectors whose clocks are 30 s apart: once the measured
 * offset is applied, the model sees one change (its runs in the reference clock, run_ref), not
 * two changes 30 s apart. At the server both watch, the reference's polls bound the skewed
 * collector's runs; at a second server only v2 watches, the bounds are widened by the offset's
 * uncertainty. */
Test(an_ingest, skewed_collectors_see_one_change)
{
	soa_history(cpath, "v1", 0);
	soa_history2(c2path, "v2", 30, "127.0.3.12");
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, c2path, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	/* the change happened in (1002, 1003] by v1's clock and (1032, 1033] by v2's: the offset
	 * lies in (1032 - 1003, 1033 - 1002) = (29 s, 31 s) */
	cr_assert_eq(count(db, "SELECT offset_lo_us FROM collector WHERE name = 'v2'"), 29000000);
	cr_assert_eq(count(db, "SELECT offset_hi_us FROM collector WHERE name = 'v2'"), 31000000);
	/* the raw runs keep each collector's clock: two first sightings 30 s apart */
	cr_assert_eq(count(db, "SELECT max(first_seen) - min(first_seen) FROM run WHERE "
			       "prev_poll IS NOT NULL"),
		     30000000);
	cr_assert_eq(count(db, "SELECT count(DISTINCT first_seen) FROM run_ref WHERE prev_poll IS "
			       "NOT NULL"),
		     1);
	cr_assert_eq(count(db, "SELECT min(prev_poll) FROM run_ref WHERE prev_poll IS NOT NULL"),
		     1001000000); /* 1032 s - 31 s: the uncertainty widens the bound by 1 s */
	cr_assert_eq(count(db, "SELECT max(next_poll) FROM run_ref WHERE next_poll IS NOT NULL"),
		     1004000000); /* 1033 s - 29 s */
	/* at the server v1 watches too, its polls (1002 s, 1003 s) bound v2's runs */
	cr_assert_eq(count(db,
			   "SELECT min(r.prev_poll) * 10000 + max(r.next_poll) / 100000 FROM "
			   "run_ref r JOIN series s ON s.id = r.series_id JOIN target t ON t.id "
			   "= s.target_id JOIN collector c ON c.id = t.collector_id WHERE c.name "
			   "= 'v2' AND t.address = '127.0.3.11'"),
		     INT64_C(1002000000) * 10000 + 10030);

	sigv_t *sv;
	mdl_t *m;
	cr_assert_eq(sigv_new(db, false, &sv), OBS_EOK);
	cr_assert_eq(mdl_load(db, sv, ZONE, 2000 * OBS_USEC_PER_SEC, &m, err, sizeof(err)), OBS_EOK,
		     "%s", err);
	cr_assert_eq(m->eps, OBS_USEC_PER_SEC, "eps is the offset's uncertainty, not the offset");
	size_t soa = 0;
	for (size_t i = 0; i < m->nv; i++) {
		const mdl_ver_t *v = &m->v[i];
		if (strcmp(v->role, "soa") != 0)
			continue;
		soa++;
		cr_assert_eq(v->seen.n, 1, "version %lld seen in %zu pieces", (long long)v->id,
			     v->seen.n);
		cr_assert_eq(v->served.n, 1);
		if (v->served.v[0].lo != ISET_NEG_INF) /* the new serial, since one instant */
			cr_assert_eq(v->served.v[0].lo, 1001000000);
		else /* the old one, until the first poll that saw the new */
			cr_assert_eq(v->served.v[0].hi, 1004000000);
	}
	cr_assert_eq(soa, 2);
	mdl_free(m);
	sigv_free(sv);
	an_db_close(db);
}

/* At an instant between the skewed collector's shifted poll that saw the change (1003 s) and
 * that poll widened by the offset's uncertainty (1004 s), the old serial is no longer served by
 * anybody: the widening may not reopen a run the collector saw end (run_ref.next_shifted). */
Test(an_ingest, widening_does_not_reopen_a_run_ended_before_at)
{
	soa_history(cpath, "v1", 0);
	soa_history2(c2path, "v2", 30, "127.0.3.12"); /* the second server: widened bounds */
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, c2path, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	sigv_t *sv;
	mdl_t *m;
	obs_usec_t at = 1003500000;
	cr_assert_eq(sigv_new(db, false, &sv), OBS_EOK);
	cr_assert_eq(mdl_load(db, sv, ZONE, at, &m, err, sizeof(err)), OBS_EOK, "%s", err);
	size_t old = 0;
	for (size_t i = 0; i < m->nv; i++) {
		const mdl_ver_t *v = &m->v[i];
		if (strcmp(v->role, "soa") != 0 || v->served.n == 0 ||
		    v->served.v[0].lo != ISET_NEG_INF)
			continue;
		old++;
		cr_assert_eq(v->served.v[v->served.n - 1].hi, at,
			     "the old serial's end is cut at --at, not open (%lld)",
			     (long long)v->served.v[v->served.n - 1].hi);
	}
	cr_assert_eq(old, 1);
	mdl_free(m);
	sigv_free(sv);
	an_db_close(db);
}

/* runs as one sorted rebuild per series makes them (ing_rebuild_runs from scratch), as text */
static void runs_text(an_db_t *db, char *buf, size_t len)
{
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT series_id, version_id, first_seen, last_seen, count, "
			       "prev_poll, next_poll, ttl_max_s, first_obs_id, last_obs_id "
			       "FROM run ORDER BY series_id, first_seen",
			       -1, &st, NULL),
	    SQLITE_OK);
	size_t o = 0;
	buf[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && o + 200 < len) {
		for (int i = 0; i < 10; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
					      sqlite3_column_type(st, i) == SQLITE_NULL
						  ? "-"
						  : (const char *)sqlite3_column_text(st, i));
		o += (size_t)snprintf(buf + o, len - o, "\n");
	}
	sqlite3_finalize(st);
}

/* The runs ingest built equal the reference: every series (1..series) rebuilt from nothing,
 * its polls sorted by (t, id). */
static void runs_match_rebuild(an_db_t *db, int64_t series)
{
	static char got[1 << 16], want[1 << 16];
	char err[256];
	runs_text(db, got, sizeof(got));
	cr_assert_eq(an_db_exec(db, "DELETE FROM run", err, sizeof(err)), OBS_EOK);
	for (int64_t s = 1; s <= series; s++)
		cr_assert_eq(ing_rebuild_runs(db, s), OBS_EOK);
	runs_text(db, want, sizeof(want));
	cr_assert_str_eq(got, want);
}

/* a series with an answer without the RRset, a timeout, a version that comes back; another
 * whose collector wrote a poll late (t goes back); rows split over two ingests */
static void mixed_history(hist_t *h)
{
	int64_t t = h_target(h, "provider", "a", "ns.prova.lab.", "127.0.3.11");
	int64_t r = h_target(h, "resolver", "unbound", "unbound", "127.0.3.21");
	int64_t s1 = h_series(h, t, ZONE, 6, 4, "soa");
	int64_t s2 = h_series(h, t, ZONE, 48, 4, "dnskey");
	int64_t s3 = h_series(h, r, ZONE, 6, 5, "soa");
	(void)s2;
	ldns_rr_list *l1 = ldns_rr_list_new(), *l2 = ldns_rr_list_new();
	ldns_rr *rr = NULL;
	ldns_rr_new_frm_str(&rr, ZONE " 300 IN SOA a. b. 1 1 1 1 1", 300, NULL, NULL);
	ldns_rr_list_push_rr(l1, rr);
	ldns_rr_new_frm_str(&rr, ZONE " 300 IN SOA a. b. 2 1 1 1 1", 300, NULL, NULL);
	ldns_rr_list_push_rr(l2, rr);
	int64_t v1 = h_version(h, ZONE, 6, l1, NULL), v2 = h_version(h, ZONE, 6, l2, NULL);
	ldns_rr_list_deep_free(l1);
	ldns_rr_list_deep_free(l2);
	/* part one */
	h_obs(h, s1, 1000, 0, 0, 1, v1, 300, 0);
	h_obs(h, s1, 1001, 0, 0, 1, v1, 200, 0);
	h_obs(h, s1, 1002, 1, 0, 0, 0, 0, 0); /* timeout */
	h_obs(h, s3, 1000, 0, 0, 8, v1, 250, 1);
	h_obs(h, s3, 1002, 0, 0, 8, v1, 248, 1);
	h_obs(h, s3, 1001, 0, 0, 8, v2, 249, 1); /* written late */
	h_obs(h, s1, 1003, 0, 5, 1, 0, 0, 0);    /* REFUSED: answered, no RRset */
}

static void mixed_history_more(hist_t *h)
{
	h_obs(h, 1, 1004, 0, 0, 1, 2, 300, 0);
	h_obs(h, 1, 1005, 0, 0, 1, 2, 310, 0);
	h_obs(h, 3, 1003, 0, 0, 8, 1, 247, 1);
	h_obs(h, 3, 1000.5, 0, 0, 8, 2, 240, 1); /* back before the open run */
	h_obs(h, 1, 1006, 0, 0, 1, 1, 300, 0);   /* v1 comes back */
	h_obs(h, 1, 1007, 2, 0, 0, 0, 0, 0);
}

Test(an_ingest, one_pass_runs_match_a_full_rebuild)
{
	hist_t h;
	h_open(&h, cpath, "v1", 1);
	mixed_history(&h);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	mixed_history_more(&h);
	h_close(&h);
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.observations, 6);
	runs_match_rebuild(db, 3);
	/* the provider series: v1 x2, REFUSED, v2 x2, v1; the resolver's, its late polls in
	 * place: v1, v2 x2, v1 x2 (not authoritative: the versions' TTLs are the provider's) */
	cr_assert_eq(count(db, "SELECT count(*) FROM run WHERE series_id = 1"), 4);
	cr_assert_eq(count(db, "SELECT count(*) FROM run WHERE series_id = 3"), 3);
	cr_assert_eq(count(db, "SELECT ttl_max_s * 1000 + ttl_min_s FROM version WHERE id = 1"),
		     300200);
	cr_assert_eq(count(db, "SELECT ttl_max_s * 1000 + ttl_min_s FROM version WHERE id = 2"),
		     310300);
	cr_assert_eq(count(db, "SELECT last_seen FROM version WHERE id = 1"), 1006000000);
	cr_assert_eq(count(db, "SELECT first_seen FROM version WHERE id = 2"), 1004000000);
	an_db_close(db);
}

/* text of a query's rows (one column), for comparing databases */
static void rows_text(an_db_t *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(an_db_sql(db), sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	size_t o = 0;
	buf[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && o + 1 < len)
		o += (size_t)snprintf(buf + o, len - o, "%s\n",
				      (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Ingest marks the polls of RD=1 (resolver) series recursive and no others; the partial index
 * of failed polls leaves them out, and the cache-state model's query (recursive IS NULL, RD=0
 * series) still uses it. */
Test(an_ingest, resolver_polls_marked_recursive)
{
	hist_t h;
	h_open(&h, cpath, "v1", 1);
	mixed_history(&h); /* series 1 provider SOA (RD=0), 3 resolver SOA (RD=1) */
	h_close(&h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE series_id = 3"), 3);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE series_id = 3 AND "
			       "recursive = 1"),
		     3);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE series_id = 1"), 4);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE series_id = 1 AND "
			       "recursive IS NULL"),
		     4);
	/* the model's lameness readers: the provider's timeout and REFUSED */
	cr_assert_eq(count(db, "SELECT count(*) FROM observation WHERE recursive IS NULL AND "
			       "(status != 0 OR rcode NOT IN (0, 3) OR (flags & 1) = 0)"),
		     2);
	an_db_close(db);
}

/* A large first ingest: the polls go into few chunks (repeats cost a few bytes each), the
 * schema is the migrations', the runs those of a full rebuild, the database checks out, and
 * the virtual table gives back every poll as it was. */
Test(an_ingest, bulk_copy_into_chunks, .timeout = 120)
{
	hist_t h;
	h_open(&h, cpath, "v1", 1);
	mixed_history(&h); /* versions 1 and 2, series 1 to 3 */
	/* 120000 polls of series 1 at 1 s, the version changing every 1000, every 7th lost */
	h_exec(&h, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < "
		   "119999) INSERT INTO observation (t, series_id, attempt, transport, status, "
		   "rtt, rcode, flags, version_id, ttl_s) SELECT (2000 + i) * 1000000, 1, 0, 0, "
		   "i % 7 = 3, 100, 0, 1, 1 + (i / 1000) % 2, 300 - i % 5 FROM n");
	h_close(&h);
	an_db_t *db;
	char err[256], schema[2048], want_schema[2048];
	static char got[1 << 16];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	static const char *const idx_sql = "SELECT name || ': ' || sql FROM sqlite_master WHERE "
					   "type = 'index' AND sql IS NOT NULL ORDER BY name";
	rows_text(db, idx_sql, want_schema, sizeof(want_schema));
	ing_stats_t st;
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.observations, 120007);
	rows_text(db, idx_sql, schema, sizeof(schema));
	cr_assert_str_eq(schema, want_schema);
	/* a chunk ends at a key change (version every 1000 polls, status every 7th) or at
	 * OC_CHUNK_MAX polls */
	int64_t chunks = count(db, "SELECT count(*) FROM obs_chunk");
	cr_assert(chunks > 0 && chunks < 120007 / 2, "%lld chunks", (long long)chunks);
	cr_assert_lt(count(db, "SELECT sum(length(polls)) FROM obs_chunk"), 120007 * 12);
	cr_assert_eq(count(db, "SELECT count(*) FROM observation"), 120007);
	cr_assert_eq(count(db,
			   "SELECT count(*) FROM observation WHERE series_id = 1 AND t >= "
			   "2000000000 AND status = 0 AND ttl_s = 300 - (t / 1000000 - 2000) % 5 "
			   "AND version_id = 1 + ((t / 1000000 - 2000) / 1000) % 2 AND rtt = 100"),
		     120000 - 120000 / 7 - (120000 % 7 > 3));
	rows_text(db, "PRAGMA integrity_check", got, sizeof(got));
	cr_assert_str_eq(got, "ok\n");
	runs_match_rebuild(db, 3);
	/* v1: 300 down to 296 at the provider, 200 from the early history */
	cr_assert_eq(count(db, "SELECT ttl_max_s * 1000 + ttl_min_s FROM version WHERE id = 1"),
		     300200);
	an_db_close(db);
}

struct gl {
	og_glitch_t g[8];
	size_t n;
	og_vantage_t v[4];
	size_t vn;
};

static void on_g(void *arg, const og_glitch_t *g)
{
	struct gl *l = arg;
	if (l->n < 8)
		l->g[l->n++] = *g;
}

static void on_v(void *arg, const og_vantage_t *v)
{
	struct gl *l = arg;
	if (l->vn < 4)
		l->v[l->vn++] = *v;
}

/* outcomes per poll: good vantage 1 1 1 1 3 3 1 1; broken vantage always 4 */
Test(an_ingest, glitch_window_baseline_exclusion_attribution)
{
	hist_t h;
	h_open(&h, cpath, "v1", 1);
	int64_t r1 = h_target(&h, "resolver", "unbound", "unbound", "127.0.3.21");
	int64_t r2 = h_target(&h, "resolver", "broken", "broken", "127.0.3.22");
	int64_t s0 = h_series(&h, r1, "www." ZONE, 1, 5, "canary");
	int64_t s1 = h_series(&h, r1, "www." ZONE, 1, 7, "canary");
	int64_t k1 = h_series(&h, r1, ZONE, 48, 7, "dnskey");
	int64_t b0 = h_series(&h, r2, "www." ZONE, 1, 5, "canary");
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr *r = NULL;
	ldns_rr_new_frm_str(&r, "www." ZONE " 300 IN A 192.0.2.1", 300, NULL, NULL);
	ldns_rr_list_push_rr(l, r);
	int64_t va = h_version(&h, "www." ZONE, 1, l, NULL);
	ldns_rr_list_deep_free(l);
	static const int out[8] = {1, 1, 1, 1, 3, 3, 1, 1};
	for (int i = 0; i < 8; i++) {
		h_obs(&h, s0, 2000 + i * 10, 0, out[i] == 3 ? 2 : 0, 8 | 16, 0, 0, out[i]);
		h_obs(&h, s1, 2000 + i * 10 + 0.1, 0, 0, 8, va, 250 - i, out[i]);
		h_obs(&h, k1, 2000 + i * 10 + 0.2, 0, 0, 8, 0, 0, 0);
		h_obs(&h, b0, 2000 + i * 10, 1, 0, 0, 0, 0, 4);
	}
	h_close(&h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	struct gl gl = {0};
	cr_assert_eq(og_run(db, ZONE, INT64_MAX - 1, 35 * 1000000, on_g, on_v, &gl), OBS_EOK);
	const og_glitch_t *g = NULL;
	for (size_t i = 0; i < gl.n; i++) {
		if (strcmp(gl.g[i].resolver, "unbound") == 0)
			g = &gl.g[i];
	}
	cr_assert_not_null(g);
	cr_assert_str_eq(g->kind, "lost-validation");
	cr_assert_eq(g->lo, 2030000000);
	cr_assert_eq(g->first_bad, 2040000000);
	cr_assert_eq(g->last_bad, 2050000000);
	cr_assert_eq(g->hi, 2060000000);
	cr_assert(!g->excluded);
	cr_assert_geq(g->cached_n, 1);
	cr_assert_eq(g->cached[0].version_id, count(db, "SELECT id FROM version WHERE type = 1"));
	bool broken_seen = false;
	for (size_t i = 0; i < gl.n; i++) {
		if (strcmp(gl.g[i].resolver, "broken") == 0) {
			broken_seen = true;
			cr_assert(gl.g[i].excluded);
			cr_assert_str_eq(gl.g[i].kind, "lost-resolution");
		}
	}
	cr_assert(broken_seen);
	for (size_t i = 0; i < gl.vn; i++)
		cr_assert_eq(gl.v[i].broken, strcmp(gl.v[i].resolver, "broken") == 0);
	/* the JSON document carries the schema's required fields */
	json_t *doc = rj_document(ZONE, 5, "glitches");
	cr_assert_eq(rj_add_glitch(doc, g), OBS_EOK);
	json_t *o = json_array_get(json_object_get(doc, "glitches"), 0);
	static const char *const req[] = {"vantage",   "kind",     "qname", "lo",       "hi",
					  "first_bad", "last_bad", "polls", "excluded", "cached"};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		cr_assert_not_null(json_object_get(o, req[i]), "missing %s", req[i]);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "at")), "1970-01-01T00:00:00.000Z");
	json_decref(doc);
	an_db_close(db);
}

/* the collector's wall-clock steps (collector migration 4) are copied once, above their
 * high-water mark; a collector database without the table (schema 1 to 3) still ingests */
Test(an_ingest, clock_steps_copied_once_and_old_schemas_accepted)
{
	soa_history(cpath, "v1", 0);
	hist_t h;
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "INSERT INTO clock_step VALUES (1, 1002000000, 1303000000, 7000000, 8000000, "
		   "300000000), (2, 1004000000, 1000000, 9000000, 10000000, -1003999000000)");
	h_close(&h);
	soa_history(c2path, "v2", 0);
	cr_assert_eq(sqlite3_open(c2path, &h.db), SQLITE_OK);
	h_exec(&h, "DROP TABLE clock_step; UPDATE schema_version SET version = 3");
	h_close(&h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, c2path, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM clock_step k JOIN collector c ON c.id = "
			       "k.collector_id WHERE c.name = 'v1'"),
		     2);
	cr_assert_eq(count(db, "SELECT step_us FROM clock_step WHERE src_id = 1"), 300000000);
	cr_assert_eq(count(db, "SELECT t_after FROM clock_step WHERE src_id = 2"), 1000000);
	cr_assert_eq(count(db, "SELECT last_id FROM hwm WHERE tbl = 'clock_step'"), 2);
	int64_t before = sqlite3_total_changes(an_db_sql(db));
	cr_assert_eq(ing_collector(db, cpath, 1, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(sqlite3_total_changes(an_db_sql(db)), before, "second ingest wrote rows");
	/* a later step: only it is copied */
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "INSERT INTO clock_step VALUES (3, 1, 2, 3, 4, 5)");
	h_close(&h);
	cr_assert_eq(ing_collector(db, cpath, 2, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(count(db, "SELECT count(*) FROM clock_step"), 3);
	cr_assert_eq(count(db, "SELECT last_id FROM hwm WHERE tbl = 'clock_step'"), 3);
	an_db_close(db);
}
