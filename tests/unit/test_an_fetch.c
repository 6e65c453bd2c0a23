/* SPDX-License-Identifier: MIT */
/* Per-resolver fetches from passive evidence (fetch.h): a resolver honouring TTLs (no flag),
 * one stretching them (T-1, T-2x, STRETCH(m) with m estimated), one serving stale (T-2s), a
 * capture drop window that leaves a check unmade, and the idempotent, incremental ingest of
 * the passive tables (and of a collector database without them). */
#include <unistd.h>

#include "an_hist.h"
#include "fetch.h"
#include "ingest.h"
#include "obs_err.h"

#define AUTH "127.0.4.2"
#define STUB "127.0.4.100"

static char cpath[64], apath[64];

static void setup(void)
{
	snprintf(cpath, sizeof(cpath), "/tmp/obs-anf-c-%d.db", getpid());
	snprintf(apath, sizeof(apath), "/tmp/obs-anf-a-%d.db", getpid());
	unlink(apath);
}

static void teardown(void)
{
	unlink(cpath);
	unlink(apath);
}

TestSuite(an_fetch, .init = setup, .fini = teardown);

/* ---- hand-made passive histories ---- */

struct phist {
	hist_t h;
	int64_t v1; /* the zone's DNSKEY version */
	int port;
};

static void p_open(struct phist *p)
{
	h_open(&p->h, cpath, "passive-1", 2);
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr *r = NULL;
	cr_assert_eq(ldns_rr_new_frm_str(&r,
					 ZONE
					 " 5 IN DNSKEY 257 3 13 "
					 "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAe"
					 "F+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
					 5, NULL, NULL),
		     LDNS_STATUS_OK);
	ldns_rr_list_push_rr(l, r);
	p->v1 = h_version(&p->h, ZONE, 48, l, NULL);
	ldns_rr_list_deep_free(l);
	p->port = 40000;
}

/* one passive pair: the query at tq, its response at tr (< 0: unanswered) */
static void p_pair(struct phist *p, int64_t series, double tq, double tr, int64_t version, int ttl,
		   const char *ede)
{
	char sql[700], rt[32], e[32];
	snprintf(rt, sizeof(rt), tr >= 0 ? "%lld" : "NULL", (long long)(tr * 1e6));
	snprintf(e, sizeof(e), ede ? "'%s'" : "NULL", ede ? ede : "");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observation (t, series_id, attempt, transport, status, rtt, rcode, "
		 "flags, ede, version_id, ttl_s) VALUES (%lld, %lld, 0, 0, %d, %s, %s, 1, %s, %s, "
		 "%s)",
		 (long long)(tq * 1e6), (long long)series, tr >= 0 ? 0 : 1,
		 tr >= 0 ? "1000" : "NULL", tr >= 0 ? "0" : "NULL", e, tr >= 0 ? "?1" : "NULL",
		 tr >= 0 ? "?2" : "NULL");
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(p->h.db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_int(st, 2, ttl);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO passive_packet (observation_id, client_port, server_port, "
		 "t_response, transport) VALUES (%lld, %d, 53, %s, 0)",
		 (long long)sqlite3_last_insert_rowid(p->h.db), p->port++, rt);
	h_exec(&p->h, sql);
}

/* series of a resolver fetching from AUTH (RD=0) and of the stub asking it (RD=1) */
static void p_series(struct phist *p, const char *res, int64_t *fetch, int64_t *ask)
{
	*fetch =
	    h_series(&p->h, h_target(&p->h, "passive", res, AUTH, AUTH), ZONE, 48, 6, "passive");
	*ask = h_series(&p->h, h_target(&p->h, "passive", STUB, res, res), ZONE, 48, 5, "passive");
}

/* The stub asks every 2 s over [0, 40); the resolver caches for `keep` seconds (5: honours
 * the TTL of 5; 30: a minimum TTL of 30), whole-second expiry as Unbound does. */
static void p_resolver(struct phist *p, const char *res, int keep)
{
	int64_t fetch, ask;
	p_series(p, res, &fetch, &ask);
	int64_t expiry = -1;
	for (int k = 0; k < 20; k++) {
		double t = 100 + 2 * k;
		double now = t + 0.001;
		if (expiry < 0 || (int64_t)t >= expiry) {
			p_pair(p, fetch, now, now + 0.001, p->v1, 5, NULL);
			now += 0.002;
			expiry = (int64_t)now + keep;
		}
		p_pair(p, ask, t, now, p->v1, (int)(expiry - (int64_t)now), NULL);
	}
}

static void p_drop(struct phist *p, double lo, double hi)
{
	char sql[300];
	snprintf(
	    sql, sizeof(sql),
	    "INSERT OR IGNORE INTO capture (id, source, linktype, snaplen, started) VALUES (1, "
	    "'live:lo', 1, 65535, 0); INSERT INTO capture_stats VALUES (1, %lld, %lld, 1000, "
	    "17, 0)",
	    (long long)(lo * 1e6), (long long)(hi * 1e6));
	h_exec(&p->h, sql);
}

/* ---- running the analysis ---- */

struct gres {
	char name[128];
	enum fetch_profile profile;
	int64_t stretch_s, stale_s, answers, checked, incomplete;
	size_t fetches, late, t1, t2x, t2s;
	int64_t evidence; /* the first flag's first observation */
};

struct got {
	size_t n;
	struct gres r[8];
	size_t drops;
};

static void on_res(void *arg, const fetch_resolver_t *r)
{
	struct got *g = arg;
	cr_assert_lt(g->n, 8);
	struct gres *x = &g->r[g->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", r->name);
	x->profile = r->profile;
	x->stretch_s = r->stretch_s;
	x->stale_s = r->stale_s;
	x->answers = r->answers;
	x->checked = r->checked;
	x->incomplete = r->incomplete;
	x->fetches = r->fetches_n;
	for (size_t i = 0; i < r->fetches_n; i++)
		x->late += r->fetches[i].late_refetch;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *f = &r->flags[i];
		x->t1 += strcmp(f->id, "T-1") == 0;
		x->t2x += strcmp(f->id, "T-2x") == 0;
		x->t2s += strcmp(f->id, "T-2s") == 0;
		cr_assert_gt(f->first_obs, 0, "a flag without evidence");
		if (i == 0)
			x->evidence = f->first_obs;
	}
}

static void on_drop(void *arg, const fetch_drop_t *d)
{
	struct got *g = arg;
	cr_assert_eq(d->dropped, 17);
	g->drops++;
}

static void analyse(struct phist *p, struct got *g)
{
	h_close(&p->h);
	an_db_t *db;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	memset(g, 0, sizeof(*g));
	cr_assert_eq(fetch_run(db, ZONE, 1000 * OBS_USEC_PER_SEC, NULL, on_res, on_drop, g),
		     OBS_EOK);
	an_db_close(db);
}

Test(an_fetch, honouring_resolver_has_no_flag)
{
	struct phist p;
	p_open(&p);
	p_resolver(&p, "127.0.4.8", 5);
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_str_eq(g.r[0].name, "127.0.4.8");
	cr_assert_eq(g.r[0].profile, FETCH_HONOUR);
	cr_assert_eq(g.r[0].fetches, 7, "refetched every 6 s: %zu", g.r[0].fetches);
	cr_assert_eq(g.r[0].answers, 20);
	cr_assert_eq(g.r[0].checked, 20);
	cr_assert_eq(g.r[0].t1 + g.r[0].t2x + g.r[0].t2s, 0);
	cr_assert_eq(g.r[0].late, 0);
}

Test(an_fetch, stretching_resolver_is_t1_t2_and_stretch_30)
{
	struct phist p;
	p_open(&p);
	p_resolver(&p, "127.0.4.9", 30);
	p_resolver(&p, "127.0.4.8", 5);
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 2);
	cr_assert_str_eq(g.r[1].name, "127.0.4.9");
	cr_assert_eq(g.r[1].profile, FETCH_STRETCH);
	cr_assert_eq(g.r[1].stretch_s, 30, "m estimated as %lld", (long long)g.r[1].stretch_s);
	cr_assert_geq(g.r[1].t1, 1);
	cr_assert_geq(g.r[1].t2x, 1);
	cr_assert_eq(g.r[1].fetches, 2);
	cr_assert_eq(g.r[1].late, 1, "the refetch after 30 s is late");
	cr_assert_gt(g.r[1].evidence, 0);
	cr_assert_eq(g.r[0].profile, FETCH_HONOUR, "the honouring resolver beside it");
}

Test(an_fetch, serve_stale_is_t2s_and_stale_profile)
{
	struct phist p;
	p_open(&p);
	int64_t fetch, ask;
	p_series(&p, "127.0.4.7", &fetch, &ask);
	p_pair(&p, fetch, 100.001, 100.002, p.v1, 5, NULL);
	p_pair(&p, ask, 100, 100.003, p.v1, 5, NULL);
	p_pair(&p, fetch, 110.001, -1, 0, 0, NULL); /* the server no longer answers */
	p_pair(&p, ask, 110, 110.4, p.v1, 30, "3");
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.r[0].profile, FETCH_STALE);
	cr_assert_eq(g.r[0].t2s, 1);
	cr_assert_eq(g.r[0].t1 + g.r[0].t2x, 0);
	cr_assert_eq(g.r[0].stale_s, 35, "stale for %lld s", (long long)g.r[0].stale_s);
}

/* fetch at 100 (TTL 5), the version still served at 108 and 110 with TTL 3, no refetch seen */
static void served_past_expiry(struct phist *p, bool drops)
{
	p_open(p);
	int64_t fetch, ask;
	p_series(p, "127.0.4.9", &fetch, &ask);
	p_pair(p, fetch, 100.001, 100.002, p->v1, 5, NULL);
	p_pair(p, ask, 100, 100.003, p->v1, 5, NULL);
	p_pair(p, ask, 108, 108.001, p->v1, 3, NULL);
	p_pair(p, ask, 110, 110.001, p->v1, 3, NULL);
	if (drops)
		p_drop(p, 101, 109);
}

Test(an_fetch, served_past_expiry_without_refetch_is_t2x)
{
	struct phist p;
	served_past_expiry(&p, false);
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.r[0].t2x, 1);
	cr_assert_eq(g.r[0].profile, FETCH_STRETCH);
	cr_assert_eq(g.r[0].incomplete, 0);
	cr_assert_eq(g.drops, 0);
}

Test(an_fetch, drops_leave_the_window_incomplete)
{
	struct phist p;
	served_past_expiry(&p, true);
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.drops, 1);
	cr_assert_eq(g.r[0].t1 + g.r[0].t2x + g.r[0].t2s, 0, "concluded from a dropped packet");
	cr_assert_eq(g.r[0].incomplete, 2, "both late answers are left unjudged");
	cr_assert_eq(g.r[0].checked, 1, "the answer before the drop window is judged");
	cr_assert_eq(g.r[0].profile, FETCH_HONOUR);
}

Test(an_fetch, service_address_linked_to_its_upstream)
{
	struct phist p;
	p_open(&p);
	int64_t fetch, ask, other;
	p_series(&p, "127.0.4.17", &fetch, &ask);
	/* the stub asks 127.0.4.7, which fetches from 127.0.4.17 while the question waits */
	ask = h_series(&p.h, h_target(&p.h, "passive", STUB, "127.0.4.7", "127.0.4.7"), ZONE, 48, 5,
		       "passive");
	other = h_series(&p.h, h_target(&p.h, "passive", "127.0.4.18", AUTH, AUTH), ZONE, 48, 6,
			 "passive");
	p_pair(&p, ask, 100, 100.003, p.v1, 5, NULL);
	p_pair(&p, fetch, 100.001, 100.002, p.v1, 5, NULL);
	p_pair(&p, other, 102.5, 102.501, p.v1, 5, NULL); /* outside every question */
	p_pair(&p, ask, 103, 103.001, p.v1, 2, NULL);
	struct got g;
	analyse(&p, &g);
	cr_assert_eq(g.n, 2, "127.0.4.7 with 127.0.4.17, and 127.0.4.18 alone");
	cr_assert_str_eq(g.r[0].name, "127.0.4.18");
	cr_assert_eq(g.r[0].profile, FETCH_UNKNOWN);
	cr_assert_str_eq(g.r[1].name, "127.0.4.7");
	cr_assert_eq(g.r[1].fetches, 1);
	cr_assert_eq(g.r[1].checked, 2);
	cr_assert_eq(g.r[1].profile, FETCH_HONOUR);
}

/* ---- ingest ---- */

static int64_t count(an_db_t *db, const char *sql)
{
	int64_t v;
	cr_assert_eq(an_db_int(db, sql, &v), OBS_EOK, "%s", sql);
	return v;
}

Test(an_fetch, passive_ingest_is_idempotent_and_incremental)
{
	struct phist p;
	p_open(&p);
	int64_t fetch, ask;
	p_series(&p, "127.0.4.9", &fetch, &ask);
	p_pair(&p, fetch, 100.001, 100.002, p.v1, 5, NULL);
	p_pair(&p, ask, 100, 100.003, p.v1, 5, NULL);
	p_pair(&p, ask, 101, -1, 0, 0, NULL);
	p_drop(&p, 101, 109);
	h_exec(&p.h, "INSERT INTO capture_stats VALUES (1, 200000000, 201000000, 10, 0, 0)");
	h_close(&p.h);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.passive_pairs, 3);
	cr_assert_eq(count(db, "SELECT count(*) FROM passive_pair"), 3);
	cr_assert_eq(count(db, "SELECT count(*) FROM passive_pair WHERE version_id IS NULL"), 1);
	cr_assert_eq(count(db, "SELECT count(*) FROM passive_pair pp JOIN observation o ON o.id = "
			       "pp.observation_id AND o.src_id = pp.src_id"),
		     3, "each pair beside its observation");
	cr_assert_eq(count(db, "SELECT count(*) FROM capture_drop"), 1, "only windows with drops");
	cr_assert_eq(count(db, "SELECT ttl_max_s FROM version"), 5,
		     "the authoritative TTL comes from the fetch, not from the resolver's answer");
	int64_t before = sqlite3_total_changes(an_db_sql(db));
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.passive_pairs, 0);
	cr_assert_eq(sqlite3_total_changes(an_db_sql(db)), before, "second ingest wrote rows");
	/* the collector goes on: a new pair, the capture ends, a new window with drops */
	cr_assert_eq(sqlite3_open(cpath, &p.h.db), SQLITE_OK);
	p_pair(&p, ask, 102, 102.001, p.v1, 3, NULL);
	h_exec(&p.h, "UPDATE capture SET ended = 300000000; INSERT INTO capture_stats VALUES (1, "
		     "201000000, 202000000, 10, 4, 1)");
	h_close(&p.h);
	cr_assert_eq(ing_collector(db, cpath, 2, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.passive_pairs, 1);
	cr_assert_eq(count(db, "SELECT count(*) FROM passive_pair"), 4);
	cr_assert_eq(count(db, "SELECT count(*) FROM capture_drop"), 2);
	cr_assert_eq(count(db, "SELECT ended FROM capture"), 300000000);
	an_db_close(db);
}

Test(an_fetch, collector_without_passive_tables_ingests)
{
	hist_t h;
	unlink(cpath);
	cr_assert_eq(sqlite3_open(cpath, &h.db), SQLITE_OK);
	h_exec(&h, "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT "
		   "NULL)");
	h_exec(&h, obs_collector_migrations[0].data);
	h_exec(&h, "INSERT INTO schema_version VALUES (1, 0); INSERT INTO meta VALUES "
		   "('collector', 'old-1')");
	int64_t s = h_series(&h, h_target(&h, "provider", "a", "ns.prova.lab.", "127.0.4.11"), ZONE,
			     6, 4, "soa");
	h_obs(&h, s, 100, 0, 0, 1, 0, 0, 0);
	h_close(&h);
	an_db_t *db;
	char err[256];
	ing_stats_t st;
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(st.observations, 1);
	cr_assert_eq(st.passive_pairs, 0);
	cr_assert_eq(count(db, "SELECT count(*) FROM hwm WHERE tbl IN ('passive_packet', "
			       "'capture')"),
		     0);
	int64_t before = sqlite3_total_changes(an_db_sql(db));
	cr_assert_eq(ing_collector(db, cpath, 1, &st, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(sqlite3_total_changes(an_db_sql(db)), before);
	struct got g = {0};
	cr_assert_eq(fetch_run(db, ZONE, 1000 * OBS_USEC_PER_SEC, NULL, on_res, on_drop, &g),
		     OBS_EOK);
	cr_assert_eq(g.n, 0);
	an_db_close(db);
}
