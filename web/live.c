/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "graphs.h"
#include "ingest.h"
#include "live.h"
#include "metrics.h"
#include "obs_err.h"

struct wl {
	web_ctx_t *w;
	struct event *ev;
	size_t next;  /* the next collector of this round; n: metrics; n + 1: graphs */
	bool changed; /* this round ingested new rows */
};

/* The collector's own name and latest counter sample, read-only. */
static void read_counters(const char *path, wm_collector_t *c)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto done;
	sqlite3_busy_timeout(db, 200);
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'collector'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(c->name, sizeof(c->name), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT name, value FROM counter WHERE t = (SELECT MAX(t) FROM "
			       "counter) ORDER BY name LIMIT ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int(st, 1, WM_COUNTERS);
	c->counters_n = 0;
	while (sqlite3_step(st) == SQLITE_ROW && c->counters_n < WM_COUNTERS) {
		snprintf(c->counter_name[c->counters_n], sizeof(c->counter_name[0]), "%s",
			 sqlite3_column_text(st, 0));
		c->counter_value[c->counters_n++] = sqlite3_column_int64(st, 1);
	}
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static obs_usec_t newest(an_db_t *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	obs_usec_t t = 0;
	if (sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT t_max FROM obs_chunk WHERE collector_id = (SELECT id FROM "
			       "collector WHERE name = ?1) ORDER BY src_last DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

/* Ingest one collector database; *changed set when it brought new rows. */
static int ingest_one(web_ctx_t *w, const char *path, bool *changed)
{
	wm_collector_t *c = wm_collector(w->metrics, path);
	if (c == NULL)
		return OBS_ENOMEM;
	char err[512] = "";
	ing_stats_t s;
	obs_usec_t t0 = obs_mono_now();
	int ret = ing_collector(w->db, path, obs_clock_now(&w->clock), &s, err, sizeof(err));
	c->duration = obs_mono_now() - t0;
	c->rounds++;
	if (ret != OBS_EOK) {
		c->errors++;
		obs_log_fmt(&w->log, OBS_LOG_WARN, path, "ingest: %s",
			    err[0] ? err : obs_strerror(ret));
		return ret;
	}
	c->last_ok = obs_clock_now(&w->clock);
	if (s.observations || s.outcomes_updated || s.targets || s.series)
		*changed = true;
	read_counters(path, c);
	if (c->name[0] == '\0')
		snprintf(c->name, sizeof(c->name), "%s", s.collector);
	c->newest = newest(w->db, s.collector);
	if (s.observations)
		obs_log_fmt(&w->log, OBS_LOG_DEBUG, path,
			    "ingest: collector %s: %lld observations in %.3f s", s.collector,
			    (long long)s.observations, (double)c->duration / 1e6);
	return OBS_EOK;
}

/* The graph phase: one bounded chunk; true when more chunks are waiting. */
static bool graphs_step(web_ctx_t *w, int *ret)
{
	if (w->graphs == NULL)
		return false;
	char err[512] = "";
	int r = wg_update(w->graphs, w->db, NULL, err, sizeof(err));
	if (r != OBS_EOK) {
		obs_log_fmt(&w->log, OBS_LOG_WARN, "graphs", "update: %s",
			    err[0] ? err : obs_strerror(r));
		if (*ret == OBS_EOK)
			*ret = r;
		return false;
	}
	return wg_behind(w->graphs) != 0;
}

/* The metric counts; the data generation moves on when the round changed something (or
 * is the first). */
static void finish_round(web_ctx_t *w, bool changed, int *ret)
{
	int r = wm_refresh(w->metrics, w->db);
	if (r != OBS_EOK) {
		obs_log_fmt(&w->log, OBS_LOG_WARN, "metrics", "refresh: %s", obs_strerror(r));
		if (*ret == OBS_EOK)
			*ret = r;
	}
	if (changed || w->generation == 0)
		w->generation++;
}

int wl_round(web_ctx_t *w)
{
	int ret = OBS_EOK;
	bool changed = false;
	for (size_t i = 0; i < w->opts.collectors_n; i++) {
		int r = ingest_one(w, w->opts.collectors[i], &changed);
		if (r != OBS_EOK && ret == OBS_EOK)
			ret = r;
	}
	finish_round(w, changed, &ret);
	while (graphs_step(w, &ret))
		;
	return ret;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	wl_t *l = arg;
	web_ctx_t *w = l->w;
	int ret = OBS_EOK;
	bool more;
	if (l->next < w->opts.collectors_n) {
		ingest_one(w, w->opts.collectors[l->next++], &l->changed);
		more = true;
	} else if (l->next == w->opts.collectors_n) {
		finish_round(w, l->changed, &ret);
		l->changed = false;
		l->next++;
		more = true;
	} else {
		more = graphs_step(w, &ret);
	}
	struct timeval tv = {0, 0};
	if (!more) {
		l->next = 0;
		tv.tv_sec = (time_t)(w->opts.ingest_every / OBS_USEC_PER_SEC);
		tv.tv_usec = (suseconds_t)(w->opts.ingest_every % OBS_USEC_PER_SEC);
	}
	evtimer_add(l->ev, &tv);
}

int wl_start(web_ctx_t *w)
{
	wl_t *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return OBS_ENOMEM;
	l->w = w;
	if ((l->ev = evtimer_new(w->base, on_tick, l)) == NULL) {
		free(l);
		return OBS_ENOMEM;
	}
	struct timeval tv = {0, 0};
	evtimer_add(l->ev, &tv);
	w->live = l;
	return OBS_EOK;
}

void wl_free(wl_t *l)
{
	if (l == NULL)
		return;
	if (l->ev)
		event_free(l->ev);
	free(l);
}
