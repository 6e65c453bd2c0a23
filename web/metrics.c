/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "cache.h"
#include "conn.h"
#include "graphs.h"
#include "metrics.h"
#include "obs_err.h"
#include "verdict.h"

#define WM_SETTLE_ROWS 100000 /* as ingest: outcomes settle within this many source rows */

typedef struct wm_cnt {
	char collector[128], zone[256], kind[16], resolver[128];
	int status, outcome; /* outcome 0: none */
	int64_t n, polls;
} wm_cnt_t;

typedef struct wm_set {
	wm_cnt_t *v;
	size_t n, cap;
} wm_set_t;

typedef struct wm_src {
	int64_t id;
	int64_t settled; /* rows with src_id <= settled are in base */
} wm_src_t;

typedef struct wm_kv {
	char k[2][32];
	int64_t n;
} wm_kv_t;

struct wm {
	wm_set_t base, window;
	wm_src_t *src;
	size_t src_n, src_cap;
	wm_collector_t *coll;
	size_t coll_n, coll_cap;
	int64_t http[6]; /* 1xx..5xx by class, [0] other */
	wm_kv_t verdicts[32];
	size_t verdicts_n;
};

int wm_new(wm_t **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? OBS_EOK : OBS_ENOMEM;
}

void wm_free(wm_t *m)
{
	if (m == NULL)
		return;
	free(m->base.v);
	free(m->window.v);
	free(m->src);
	free(m->coll);
	free(m);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return OBS_EOK;
	size_t c = *cap ? 2 * *cap : 16;
	void *q = realloc(*p, c * size);
	if (q == NULL)
		return OBS_ENOMEM;
	*p = q;
	*cap = c;
	return OBS_EOK;
}

wm_collector_t *wm_collector(wm_t *m, const char *path)
{
	for (size_t i = 0; i < m->coll_n; i++)
		if (strcmp(m->coll[i].path, path) == 0)
			return &m->coll[i];
	if (grow((void **)&m->coll, &m->coll_cap, m->coll_n, sizeof(*m->coll)))
		return NULL;
	wm_collector_t *c = &m->coll[m->coll_n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	return c;
}

void wm_count_request(wm_t *m, int code)
{
	if (m == NULL)
		return;
	int k = code / 100;
	m->http[k >= 1 && k <= 5 ? k : 0]++;
}

void wm_count_verdict(wm_t *m, const char *kind, const char *verdict)
{
	if (m == NULL)
		return;
	if (verdict == NULL)
		verdict = "invalid";
	for (size_t i = 0; i < m->verdicts_n; i++)
		if (strcmp(m->verdicts[i].k[0], kind) == 0 &&
		    strcmp(m->verdicts[i].k[1], verdict) == 0) {
			m->verdicts[i].n++;
			return;
		}
	if (m->verdicts_n == sizeof(m->verdicts) / sizeof(m->verdicts[0]))
		return;
	wm_kv_t *v = &m->verdicts[m->verdicts_n++];
	snprintf(v->k[0], sizeof(v->k[0]), "%s", kind);
	snprintf(v->k[1], sizeof(v->k[1]), "%s", verdict);
	v->n = 1;
}

static int set_add(wm_set_t *s, const wm_cnt_t *c)
{
	for (size_t i = 0; i < s->n; i++) {
		wm_cnt_t *e = &s->v[i];
		if (e->status == c->status && e->outcome == c->outcome &&
		    strcmp(e->collector, c->collector) == 0 && strcmp(e->zone, c->zone) == 0 &&
		    strcmp(e->kind, c->kind) == 0 && strcmp(e->resolver, c->resolver) == 0) {
			e->n += c->n;
			e->polls += c->polls;
			return OBS_EOK;
		}
	}
	if (grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
		return OBS_ENOMEM;
	s->v[s->n++] = *c;
	return OBS_EOK;
}

static const char SQL_COUNT[] =
    "SELECT ?4, t.zone, t.kind, CASE WHEN t.kind = 'resolver' THEN t.origin ELSE '' END, "
    "o.status, CASE WHEN t.kind = 'resolver' AND (s.flags & 2) = 0 AND s.role <> 'bogus' "
    "THEN IFNULL(o.outcome, 0) ELSE 0 END, COUNT(*), SUM(o.attempt = 0) "
    "FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id "
    "WHERE o.collector_id = ?1 AND o.src_id > ?2 AND o.src_id <= ?3 GROUP BY 2, 3, 4, 5, 6";

static int count_range(an_db_t *db, int64_t cid, const char *cname, int64_t lo, int64_t hi,
		       wm_set_t *into)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(db), SQL_COUNT, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_text(st, 4, cname, -1, SQLITE_STATIC);
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		wm_cnt_t c = {.status = sqlite3_column_int(st, 4),
			      .outcome = sqlite3_column_int(st, 5),
			      .n = sqlite3_column_int64(st, 6),
			      .polls = sqlite3_column_int64(st, 7)};
		snprintf(c.collector, sizeof(c.collector), "%s", cname);
		snprintf(c.zone, sizeof(c.zone), "%s", sqlite3_column_text(st, 1));
		snprintf(c.kind, sizeof(c.kind), "%s", sqlite3_column_text(st, 2));
		snprintf(c.resolver, sizeof(c.resolver), "%s", sqlite3_column_text(st, 3));
		ret = set_add(into, &c);
	}
	sqlite3_finalize(st);
	return ret;
}

static wm_src_t *src_get(wm_t *m, int64_t id)
{
	for (size_t i = 0; i < m->src_n; i++)
		if (m->src[i].id == id)
			return &m->src[i];
	if (grow((void **)&m->src, &m->src_cap, m->src_n, sizeof(*m->src)))
		return NULL;
	m->src[m->src_n] = (wm_src_t){.id = id};
	return &m->src[m->src_n++];
}

int wm_refresh(wm_t *m, an_db_t *db)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT c.id, c.name, (SELECT MAX(src_id) FROM observation WHERE "
			       "collector_id = c.id) FROM collector c ORDER BY c.id",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	m->window.n = 0;
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), max = sqlite3_column_int64(st, 2);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		wm_src_t *s = src_get(m, id);
		if (s == NULL) {
			ret = OBS_ENOMEM;
			break;
		}
		int64_t settled = max > WM_SETTLE_ROWS ? max - WM_SETTLE_ROWS : 0;
		if (settled > s->settled) {
			ret = count_range(db, id, name, s->settled, settled, &m->base);
			if (ret == OBS_EOK)
				s->settled = settled;
		}
		if (ret == OBS_EOK)
			ret = count_range(db, id, name, s->settled, max, &m->window);
	}
	sqlite3_finalize(st);
	return ret;
}

/* ---- rendering -------------------------------------------------------------------------- */

/* A label value with \\, \" and \n escaped (Prometheus text format). */
static void lv(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void help(struct evbuffer *b, const char *name, const char *type, const char *text)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static const char *const STATUS[] = {"answered",  "timeout",    "neterr", "truncated",
				     "malformed", "mismatched", "dropped"};
static const char *const OUTCOME[] = {"none", "secure", "insecure", "bogus", "lost"};

/* Sum the counts of base and window over a key: which selects the metric. */
enum { K_QUERIES, K_POLLS, K_ANSWERS, K_TIMEOUTS, K_OUTCOMES };

static bool same_key(int which, const wm_cnt_t *a, const wm_cnt_t *b)
{
	if (strcmp(a->collector, b->collector) || strcmp(a->zone, b->zone))
		return false;
	switch (which) {
	case K_ANSWERS:
		return strcmp(a->kind, b->kind) == 0 && a->status == b->status;
	case K_OUTCOMES:
		return strcmp(a->resolver, b->resolver) == 0 && a->outcome == b->outcome;
	default:
		return strcmp(a->kind, b->kind) == 0;
	}
}

static bool selected(int which, const wm_cnt_t *c)
{
	if (which == K_OUTCOMES)
		return c->outcome != 0;
	return true;
}

static void render_counts(wm_t *m, struct evbuffer *b, int which, const char *name)
{
	const wm_set_t *sets[2] = {&m->base, &m->window};
	/* emit each distinct key once: the first occurrence over base then window */
	for (int si = 0; si < 2; si++)
		for (size_t i = 0; i < sets[si]->n; i++) {
			const wm_cnt_t *c = &sets[si]->v[i];
			if (!selected(which, c))
				continue;
			bool seen = false;
			for (int sj = 0; sj <= si && !seen; sj++)
				for (size_t j = 0; j < (sj == si ? i : sets[sj]->n) && !seen; j++)
					seen = selected(which, &sets[sj]->v[j]) &&
					       same_key(which, &sets[sj]->v[j], c);
			if (seen)
				continue;
			int64_t n = 0;
			for (int sj = 0; sj < 2; sj++)
				for (size_t j = 0; j < sets[sj]->n; j++)
					if (selected(which, &sets[sj]->v[j]) &&
					    same_key(which, &sets[sj]->v[j], c))
						n += which == K_POLLS ? sets[sj]->v[j].polls
						     : which == K_TIMEOUTS &&
							     sets[sj]->v[j].status != 1
							 ? 0
							 : sets[sj]->v[j].n;
			evbuffer_add_printf(b, "%s{collector=\"", name);
			lv(b, c->collector);
			evbuffer_add_printf(b, "\",zone=\"");
			lv(b, c->zone);
			if (which == K_OUTCOMES) {
				evbuffer_add_printf(b, "\",resolver=\"");
				lv(b, c->resolver);
				evbuffer_add_printf(
				    b, "\",outcome=\"%s",
				    OUTCOME[c->outcome >= 0 && c->outcome <= 4 ? c->outcome : 0]);
			} else {
				evbuffer_add_printf(b, "\",kind=\"");
				lv(b, c->kind);
				if (which == K_ANSWERS)
					evbuffer_add_printf(b, "\",status=\"%s",
							    c->status >= 0 && c->status < 7
								? STATUS[c->status]
								: "unknown");
			}
			evbuffer_add_printf(b, "\"} %lld\n", (long long)n);
		}
}

static void render_zones(web_ctx_t *w, struct evbuffer *b)
{
	static const char *const names[] = {"ok", "degraded", "broken", "unknown", "error"};
	int64_t n[5] = {0};
	sqlite3_stmt *st = NULL;
	obs_usec_t now = obs_clock_now(&w->clock);
	if (sqlite3_prepare_v2(an_db_sql(w->db), "SELECT DISTINCT zone FROM target", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *doc = NULL;
		char err[128];
		size_t k = 4;
		if (vd_status(w->db, w->sv, (const char *)sqlite3_column_text(st, 0), now, NULL,
			      &doc, err, sizeof(err)) == OBS_EOK) {
			const char *s = json_string_value(json_object_get(doc, "status"));
			for (k = 0; k < 4 && (s == NULL || strcmp(s, names[k]) != 0); k++)
				;
		}
		json_decref(doc);
		n[k]++;
	}
	sqlite3_finalize(st);
	help(b, "obs_zones", "gauge",
	     "Zones by current status (vd_status; error: no status could be computed).");
	for (size_t k = 0; k < 5; k++)
		evbuffer_add_printf(b, "obs_zones{status=\"%s\"} %lld\n", names[k],
				    (long long)n[k]);
}

static void render_collectors(wm_t *m, struct evbuffer *b, obs_usec_t now)
{
	help(b, "obs_ingest_rounds_total", "counter", "Ingest attempts per collector database.");
	for (size_t i = 0; i < m->coll_n; i++) {
		evbuffer_add_printf(b, "obs_ingest_rounds_total{path=\"");
		lv(b, m->coll[i].path);
		evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)m->coll[i].rounds);
	}
	help(b, "obs_ingest_errors_total", "counter", "Failed ingests per collector database.");
	for (size_t i = 0; i < m->coll_n; i++) {
		evbuffer_add_printf(b, "obs_ingest_errors_total{path=\"");
		lv(b, m->coll[i].path);
		evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)m->coll[i].errors);
	}
	help(b, "obs_ingest_duration_seconds", "gauge", "Duration of the last ingest.");
	for (size_t i = 0; i < m->coll_n; i++) {
		evbuffer_add_printf(b, "obs_ingest_duration_seconds{path=\"");
		lv(b, m->coll[i].path);
		evbuffer_add_printf(b, "\"} %.6f\n", (double)m->coll[i].duration / 1e6);
	}
	help(b, "obs_ingest_lag_seconds", "gauge",
	     "Now minus the newest observation ingested from the collector.");
	for (size_t i = 0; i < m->coll_n; i++)
		if (m->coll[i].newest) {
			evbuffer_add_printf(b, "obs_ingest_lag_seconds{collector=\"");
			lv(b, m->coll[i].name);
			evbuffer_add_printf(b, "\"} %.3f\n",
					    (double)(now - m->coll[i].newest) / 1e6);
		}
	help(b, "obs_ingest_last_success_timestamp_seconds", "gauge",
	     "Time of the last successful ingest.");
	for (size_t i = 0; i < m->coll_n; i++)
		if (m->coll[i].last_ok) {
			evbuffer_add_printf(b, "obs_ingest_last_success_timestamp_seconds{path=\"");
			lv(b, m->coll[i].path);
			evbuffer_add_printf(b, "\"} %.3f\n", (double)m->coll[i].last_ok / 1e6);
		}
	help(b, "obs_collector_inflight", "gauge",
	     "Queries in flight at the collector's last counter sample.");
	for (size_t i = 0; i < m->coll_n; i++)
		for (size_t k = 0; k < m->coll[i].counters_n; k++)
			if (strcmp(m->coll[i].counter_name[k], "inflight") == 0) {
				evbuffer_add_printf(b, "obs_collector_inflight{collector=\"");
				lv(b, m->coll[i].name);
				evbuffer_add_printf(b, "\"} %lld\n",
						    (long long)m->coll[i].counter_value[k]);
			}
	help(b, "obs_collector_counter", "gauge",
	     "The collector's own counters at its last sample (polls, timeout, answered, ...).");
	for (size_t i = 0; i < m->coll_n; i++)
		for (size_t k = 0; k < m->coll[i].counters_n; k++) {
			evbuffer_add_printf(b, "obs_collector_counter{collector=\"");
			lv(b, m->coll[i].name);
			evbuffer_add_printf(b, "\",name=\"");
			lv(b, m->coll[i].counter_name[k]);
			evbuffer_add_printf(b, "\"} %lld\n",
					    (long long)m->coll[i].counter_value[k]);
		}
}

void wm_handle(wh_req_t *r)
{
	web_ctx_t *w = r->w;
	wm_t *m = w->metrics;
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		wh_error(r, 500, "out of memory");
		return;
	}
	help(b, "obs_queries_total", "counter", "Query attempts ingested (every attempt).");
	render_counts(m, b, K_QUERIES, "obs_queries_total");
	help(b, "obs_polls_total", "counter", "Polls ingested (first attempts).");
	render_counts(m, b, K_POLLS, "obs_polls_total");
	help(b, "obs_answers_total", "counter", "Query attempts ingested, by status.");
	render_counts(m, b, K_ANSWERS, "obs_answers_total");
	help(b, "obs_timeouts_total", "counter", "Query attempts that timed out.");
	render_counts(m, b, K_TIMEOUTS, "obs_timeouts_total");
	help(b, "obs_outcomes_total", "counter",
	     "Resolver answers (CD=0, not the known-bad canary) by outcome.");
	render_counts(m, b, K_OUTCOMES, "obs_outcomes_total");
	obs_usec_t now = obs_clock_now(&w->clock);
	render_collectors(m, b, now);
	render_zones(w, b);
	help(b, "obs_verdicts_total", "counter", "Status and whatif documents served, by verdict.");
	for (size_t i = 0; i < m->verdicts_n; i++) {
		evbuffer_add_printf(b, "obs_verdicts_total{kind=\"");
		lv(b, m->verdicts[i].k[0]);
		evbuffer_add_printf(b, "\",verdict=\"");
		lv(b, m->verdicts[i].k[1]);
		evbuffer_add_printf(b, "\"} %lld\n", (long long)m->verdicts[i].n);
	}
	help(b, "obs_http_responses_total", "counter", "HTTP responses by status class.");
	for (int k = 1; k <= 5; k++)
		evbuffer_add_printf(b, "obs_http_responses_total{code=\"%dxx\"} %lld\n", k,
				    (long long)m->http[k]);
	help(b, "obs_rrd_updates_total", "counter", "RRD steps written.");
	evbuffer_add_printf(b, "obs_rrd_updates_total %llu\n",
			    (unsigned long long)wg_updates(w->graphs));
	help(b, "obs_data_generation", "gauge", "Ingest rounds that ran since start.");
	evbuffer_add_printf(b, "obs_data_generation %llu\n", (unsigned long long)w->generation);
	wc_stats_t cs;
	wc_stats(w->cache, &cs);
	help(b, "obs_web_cache_requests_total", "counter",
	     "GET documents served from the document cache (hit) or built (miss).");
	evbuffer_add_printf(b, "obs_web_cache_requests_total{result=\"hit\"} %llu\n",
			    (unsigned long long)cs.hits);
	evbuffer_add_printf(b, "obs_web_cache_requests_total{result=\"miss\"} %llu\n",
			    (unsigned long long)cs.misses);
	help(b, "obs_web_cache_evictions_total", "counter",
	     "Documents evicted from the full document cache.");
	evbuffer_add_printf(b, "obs_web_cache_evictions_total %llu\n",
			    (unsigned long long)cs.evictions);
	help(b, "obs_web_cache_bytes", "gauge", "Bytes of documents held by the cache.");
	evbuffer_add_printf(b, "obs_web_cache_bytes %zu\n", cs.bytes);
	wn_stats_t ns;
	wn_stats(w->conns, &ns);
	help(b, "obs_web_connections", "gauge", "HTTP connections open.");
	evbuffer_add_printf(b, "obs_web_connections %zu\n", ns.open);
	help(b, "obs_web_connections_max", "gauge", "The connection cap in force.");
	evbuffer_add_printf(b, "obs_web_connections_max %zu\n", ns.cap);
	help(b, "obs_web_connections_accepted_total", "counter", "HTTP connections accepted.");
	evbuffer_add_printf(b, "obs_web_connections_accepted_total %llu\n",
			    (unsigned long long)ns.accepted);
	help(b, "obs_web_connections_refused_total", "counter",
	     "Requests answered 503 because their connection was over the cap.");
	evbuffer_add_printf(b, "obs_web_connections_refused_total %llu\n",
			    (unsigned long long)ns.refused);
	help(b, "obs_web_connections_shed_total", "counter",
	     "Connections older than 1 s shut down to make room once the cap was reached.");
	evbuffer_add_printf(b, "obs_web_connections_shed_total %llu\n",
			    (unsigned long long)ns.shed);
	help(b, "obs_web_listener_paused_total", "counter",
	     "Times the listener stopped accepting at twice the cap.");
	evbuffer_add_printf(b, "obs_web_listener_paused_total %llu\n",
			    (unsigned long long)ns.paused);
	size_t len = evbuffer_get_length(b);
	char *s = malloc(len + 1);
	if (s == NULL) {
		evbuffer_free(b);
		wh_error(r, 500, "out of memory");
		return;
	}
	evbuffer_remove(b, s, len);
	evbuffer_free(b);
	wh_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", s, len);
	free(s);
}
