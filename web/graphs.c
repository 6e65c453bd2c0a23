/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>

#include "graphs.h"
#include "obs_err.h"

#define WG_SETTLE_STEPS 2
#define WG_CHUNK_S      (6 * 3600)
#define WG_MAX_LINES    256 /* lines drawn in one graph */

const char *const wg_names[] = {"resolution", "validation", "latency", "answers"};
const size_t wg_names_n = sizeof(wg_names) / sizeof(wg_names[0]);

enum { LINE_RESOLVER = 0, LINE_PROVIDER = 1 };

typedef struct wg_line {
	char zone[256];
	int kind;
	char label[160];
	char path[PATH_MAX];
	char **pending; /* update strings of this round */
	size_t pending_n, pending_cap;
} wg_line_t;

typedef struct wg_zone {
	char zone[256];
	obs_usec_t done; /* steps before this instant are written */
	obs_usec_t last; /* the newest observation at the previous update */
} wg_zone_t;

struct wg {
	char dir[PATH_MAX];
	wg_line_t *lines;
	size_t lines_n, lines_cap;
	wg_zone_t *zones;
	size_t zones_n, zones_cap;
	uint64_t updates;
	int behind;
};

static const char *const COLORS[] = {"1f77b4", "d62728", "2ca02c", "ff7f0e",
				     "9467bd", "8c564b", "e377c2", "17becf"};

static uint64_t fnv64(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

int wg_new(const char *dir, wg_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (strchr(dir, ':') != NULL || strlen(dir) > PATH_MAX - 80) {
		snprintf(err, errlen, "state directory %s: a ':' or an overlong path", dir);
		return OBS_EINVAL;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(e));
		return -e;
	}
	wg_t *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return OBS_ENOMEM;
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	*out = g;
	return OBS_EOK;
}

void wg_free(wg_t *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->lines_n; i++) {
		for (size_t k = 0; k < g->lines[i].pending_n; k++)
			free(g->lines[i].pending[k]);
		free(g->lines[i].pending);
	}
	free(g->lines);
	free(g->zones);
	free(g);
}

uint64_t wg_updates(const wg_t *g)
{
	return g ? g->updates : 0;
}

int wg_behind(const wg_t *g)
{
	return g ? g->behind : 0;
}

static wg_zone_t *zone_get(wg_t *g, const char *zone)
{
	for (size_t i = 0; i < g->zones_n; i++)
		if (strcmp(g->zones[i].zone, zone) == 0)
			return &g->zones[i];
	if (g->zones_n == g->zones_cap) {
		size_t cap = g->zones_cap ? 2 * g->zones_cap : 8;
		wg_zone_t *z = realloc(g->zones, cap * sizeof(*z));
		if (z == NULL)
			return NULL;
		g->zones = z;
		g->zones_cap = cap;
	}
	wg_zone_t *z = &g->zones[g->zones_n++];
	memset(z, 0, sizeof(*z));
	snprintf(z->zone, sizeof(z->zone), "%s", zone);
	return z;
}

/* The line of (zone, kind, label); created with its RRD file (starting at start_s) when
 * new. */
static int line_get(wg_t *g, const char *zone, int kind, const char *label, time_t start_s,
		    wg_line_t **out, char *err, size_t errlen)
{
	for (size_t i = 0; i < g->lines_n; i++)
		if (g->lines[i].kind == kind && strcmp(g->lines[i].zone, zone) == 0 &&
		    strcmp(g->lines[i].label, label) == 0) {
			*out = &g->lines[i];
			return OBS_EOK;
		}
	if (g->lines_n == g->lines_cap) {
		size_t cap = g->lines_cap ? 2 * g->lines_cap : 16;
		wg_line_t *l = realloc(g->lines, cap * sizeof(*l));
		if (l == NULL)
			return OBS_ENOMEM;
		g->lines = l;
		g->lines_cap = cap;
	}
	wg_line_t *l = &g->lines[g->lines_n];
	memset(l, 0, sizeof(*l));
	snprintf(l->zone, sizeof(l->zone), "%s", zone);
	snprintf(l->label, sizeof(l->label), "%s", label);
	l->kind = kind;
	snprintf(l->path, sizeof(l->path), "%s/z%016llx-%c%016llx.rrd", g->dir,
		 (unsigned long long)fnv64(zone), kind == LINE_RESOLVER ? 'r' : 'p',
		 (unsigned long long)fnv64(label));
	if (access(l->path, F_OK) != 0) {
		char step[16];
		snprintf(step, sizeof(step), "%d", WG_STEP_S);
		const char *res[] = {"DS:secure:GAUGE:60:0:U",   "DS:insecure:GAUGE:60:0:U",
				     "DS:bogus:GAUGE:60:0:U",    "DS:lost:GAUGE:60:0:U",
				     "DS:rtt:GAUGE:60:0:U",      "RRA:AVERAGE:0.5:1:17280",
				     "RRA:AVERAGE:0.5:12:10080", "RRA:AVERAGE:0.5:288:8640"};
		const char *prov[] = {"DS:answered:GAUGE:60:0:U", "DS:failed:GAUGE:60:0:U",
				      "DS:rtt:GAUGE:60:0:U",      "RRA:AVERAGE:0.5:1:17280",
				      "RRA:AVERAGE:0.5:12:10080", "RRA:AVERAGE:0.5:288:8640"};
		rrd_clear_error();
		int rc = kind == LINE_RESOLVER
			     ? rrd_create_r(l->path, WG_STEP_S, start_s - 1, 8, res)
			     : rrd_create_r(l->path, WG_STEP_S, start_s - 1, 6, prov);
		if (rc != 0) {
			snprintf(err, errlen, "rrd create %s: %s", l->path, rrd_get_error());
			return OBS_ERROR;
		}
	}
	g->lines_n++;
	*out = l;
	return OBS_EOK;
}

static int pending_add(wg_line_t *l, const char *s)
{
	if (l->pending_n == l->pending_cap) {
		size_t cap = l->pending_cap ? 2 * l->pending_cap : 64;
		char **p = realloc(l->pending, cap * sizeof(*p));
		if (p == NULL)
			return OBS_ENOMEM;
		l->pending = p;
		l->pending_cap = cap;
	}
	if ((l->pending[l->pending_n] = strdup(s)) == NULL)
		return OBS_ENOMEM;
	l->pending_n++;
	return OBS_EOK;
}

static int flush_lines(wg_t *g, int64_t *steps, char *err, size_t errlen)
{
	int ret = OBS_EOK;
	for (size_t i = 0; i < g->lines_n; i++) {
		wg_line_t *l = &g->lines[i];
		if (l->pending_n == 0)
			continue;
		rrd_clear_error();
		if (ret == OBS_EOK &&
		    rrd_updatex_r(l->path, NULL, RRD_SKIP_PAST_UPDATES, (int)l->pending_n,
				  (const char **)l->pending) != 0) {
			snprintf(err, errlen, "rrd update %s: %s", l->path, rrd_get_error());
			ret = OBS_ERROR;
		} else if (ret == OBS_EOK) {
			g->updates += l->pending_n;
			if (steps)
				*steps += (int64_t)l->pending_n;
		}
		for (size_t k = 0; k < l->pending_n; k++)
			free(l->pending[k]);
		l->pending_n = 0;
	}
	return ret;
}

static int zone_bounds(an_db_t *db, const char *zone, obs_usec_t *first, obs_usec_t *last)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT MIN(t_min), MAX(t_max) FROM obs_chunk WHERE series_id IN "
			       "(SELECT s.id FROM series s JOIN target t ON t.id = s.target_id "
			       "WHERE t.zone = ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	*first = *last = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

static void fmt_num(char *buf, size_t len, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		snprintf(buf, len, "U");
	else
		snprintf(buf, len, "%.3f", sqlite3_column_double(st, col));
}

static int update_zone(wg_t *g, an_db_t *db, const char *zone, int64_t *steps, char *err,
		       size_t errlen)
{
	const obs_usec_t step = WG_STEP_S * OBS_USEC_PER_SEC;
	wg_zone_t *z = zone_get(g, zone);
	if (z == NULL)
		return OBS_ENOMEM;
	obs_usec_t first, last;
	int ret = zone_bounds(db, zone, &first, &last);
	if (ret || last == 0)
		return ret;
	if (z->done == 0)
		z->done = first - first % step;
	/* steps settle WG_SETTLE_STEPS after the newest data; when nothing arrived since the
	 * previous update (a stopped collector, a recorded dataset) everything is settled */
	obs_usec_t end = last == z->last ? last + step : last - WG_SETTLE_STEPS * step;
	end -= end % step;
	z->last = last;
	if (end > z->done + WG_CHUNK_S * OBS_USEC_PER_SEC) {
		end = z->done + WG_CHUNK_S * OBS_USEC_PER_SEC;
		g->behind = 1;
	}
	if (end <= z->done)
		return OBS_EOK;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT t.kind = 'resolver', CASE WHEN t.kind = 'resolver' THEN c.name || '/' || "
		"t.origin ELSE t.origin END, o.t / ?4, "
		"SUM(o.outcome = 1), SUM(o.outcome = 2), SUM(o.outcome = 3), SUM(o.outcome = 4), "
		"SUM(o.status = 0), SUM(o.status <> 0), "
		"AVG(CASE WHEN o.status = 0 THEN o.rtt / 1000.0 END) "
		"FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON "
		"t.id = s.target_id JOIN collector c ON c.id = t.collector_id "
		"WHERE t.zone = ?1 AND o.t >= ?2 AND o.t < ?3 AND (t.kind <> 'resolver' OR "
		"((s.flags & 2) = 0 AND s.role <> 'bogus')) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, z->done);
	sqlite3_bind_int64(st, 3, end);
	sqlite3_bind_int64(st, 4, step);
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 0) ? LINE_RESOLVER : LINE_PROVIDER;
		const char *label = (const char *)sqlite3_column_text(st, 1);
		/* the value of step [b, b+step) is stamped at its end */
		long long ts = (sqlite3_column_int64(st, 2) + 1) * WG_STEP_S;
		wg_line_t *l = NULL;
		if ((ret = line_get(g, zone, kind, label ? label : "?",
				    (time_t)(z->done / OBS_USEC_PER_SEC), &l, err, errlen)))
			break;
		char rtt[32], u[160];
		fmt_num(rtt, sizeof(rtt), st, 9);
		if (kind == LINE_RESOLVER)
			snprintf(u, sizeof(u), "%lld:%lld:%lld:%lld:%lld:%s", ts,
				 (long long)sqlite3_column_int64(st, 3),
				 (long long)sqlite3_column_int64(st, 4),
				 (long long)sqlite3_column_int64(st, 5),
				 (long long)sqlite3_column_int64(st, 6), rtt);
		else
			snprintf(u, sizeof(u), "%lld:%lld:%lld:%s", ts,
				 (long long)sqlite3_column_int64(st, 7),
				 (long long)sqlite3_column_int64(st, 8), rtt);
		ret = pending_add(l, u);
	}
	sqlite3_finalize(st);
	int fret = flush_lines(g, steps, err, errlen);
	if (ret == OBS_EOK)
		ret = fret;
	if (ret == OBS_EOK)
		z->done = end;
	return ret;
}

int wg_update(wg_t *g, an_db_t *db, int64_t *steps, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (steps)
		*steps = 0;
	g->behind = 0;
	if (sqlite3_prepare_v2(an_db_sql(db), "SELECT DISTINCT zone FROM target ORDER BY zone", -1,
			       &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW)
		ret = update_zone(g, db, (const char *)sqlite3_column_text(st, 0), steps, err,
				  errlen);
	sqlite3_finalize(st);
	return ret;
}

/* Text safe inside an rrd_graph argument (no ':' or '\\', printable ASCII). */
static void safe_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in && o + 1 < outlen && o < 48; in++) {
		unsigned char c = (unsigned char)*in;
		out[o++] = (c >= 0x20 && c < 0x7f && c != ':' && c != '\\' && c != '%' && c != '"')
			       ? (char)c
			       : '_';
	}
	out[o] = '\0';
}

typedef struct argv_buf {
	char *v[8 + 8 * WG_MAX_LINES];
	size_t n;
	int oom;
} argv_buf_t;

static void arg(argv_buf_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(argv_buf_t *a, const char *fmt, ...)
{
	if (a->n + 1 >= sizeof(a->v) / sizeof(a->v[0])) {
		a->oom = 1;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		a->oom = 1;
	else
		a->v[a->n++] = s;
}

int wg_png(wg_t *g, const char *zone, const char *name, int64_t range, void **png, size_t *len,
	   char *err, size_t errlen)
{
	*png = NULL;
	*len = 0;
	char gname[32];
	size_t nl = strlen(name);
	if (nl > 4 && strcmp(name + nl - 4, ".png") == 0)
		nl -= 4;
	if (nl >= sizeof(gname)) {
		snprintf(err, errlen, "no such graph");
		return OBS_ENOENT;
	}
	memcpy(gname, name, nl);
	gname[nl] = '\0';
	size_t gi = 0;
	while (gi < wg_names_n && strcmp(wg_names[gi], gname) != 0)
		gi++;
	if (gi == wg_names_n) {
		snprintf(err, errlen, "no such graph (resolution, validation, latency, answers)");
		return OBS_ENOENT;
	}
	const wg_zone_t *z = NULL;
	for (size_t i = 0; i < g->zones_n; i++)
		if (strcmp(g->zones[i].zone, zone) == 0)
			z = &g->zones[i];
	if (z == NULL || z->done == 0) {
		snprintf(err, errlen, "zone %s: no graph data yet", zone);
		return OBS_ENOENT;
	}
	long long end = (long long)(z->done / OBS_USEC_PER_SEC), start = end - range;
	char title[64], lab[64];
	safe_text(zone, lab, sizeof(lab));
	snprintf(title, sizeof(title), "%s %s", gname, lab);
	static const char *const vlabel[] = {"% resolved", "% validated", "ms", "per 5 s"};
	argv_buf_t a = {.n = 0};
	arg(&a, "graphv");
	arg(&a, "-");
	arg(&a, "--imgformat=PNG");
	arg(&a, "--start=%lld", start);
	arg(&a, "--end=%lld", end);
	arg(&a, "--width=640");
	arg(&a, "--height=160");
	arg(&a, "--title=%s", title);
	arg(&a, "--vertical-label=%s", vlabel[gi]);
	arg(&a, "--lower-limit=0");
	if (gi <= 1) {
		arg(&a, "--upper-limit=100");
		arg(&a, "--rigid");
	}
	size_t drawn = 0;
	for (size_t i = 0; i < g->lines_n && drawn < WG_MAX_LINES; i++) {
		const wg_line_t *l = &g->lines[i];
		if (strcmp(l->zone, zone) != 0)
			continue;
		if ((gi <= 1 || gi == 3) && l->kind != (gi == 3 ? LINE_PROVIDER : LINE_RESOLVER))
			continue;
		const char *c = COLORS[drawn % (sizeof(COLORS) / sizeof(COLORS[0]))];
		safe_text(l->label, lab, sizeof(lab));
		size_t k = drawn++;
		if (gi <= 1) {
			arg(&a, "DEF:s%zu=%s:secure:AVERAGE", k, l->path);
			arg(&a, "DEF:i%zu=%s:insecure:AVERAGE", k, l->path);
			arg(&a, "DEF:b%zu=%s:bogus:AVERAGE", k, l->path);
			arg(&a, "DEF:l%zu=%s:lost:AVERAGE", k, l->path);
			arg(&a, "CDEF:t%zu=s%zu,i%zu,+,b%zu,+,l%zu,+", k, k, k, k, k);
			if (gi == 0)
				arg(&a, "CDEF:v%zu=s%zu,i%zu,+,t%zu,/,100,*", k, k, k, k);
			else
				arg(&a, "CDEF:v%zu=s%zu,t%zu,/,100,*", k, k, k);
			arg(&a, "LINE2:v%zu#%s:%s", k, c, lab);
		} else if (gi == 2) {
			arg(&a, "DEF:m%zu=%s:rtt:AVERAGE", k, l->path);
			arg(&a, "LINE1:m%zu#%s:%s%s", k, c,
			    l->kind == LINE_PROVIDER ? "server " : "", lab);
		} else {
			arg(&a, "DEF:a%zu=%s:answered:AVERAGE", k, l->path);
			arg(&a, "DEF:f%zu=%s:failed:AVERAGE", k, l->path);
			arg(&a, "LINE2:a%zu#%s:%s answered", k, c, lab);
			arg(&a, "LINE1:f%zu#%s:%s failed:dashes", k, c, lab);
		}
	}
	int ret = OBS_EOK;
	if (drawn == 0) {
		snprintf(err, errlen, "zone %s: no data for graph %s yet", zone, gname);
		ret = OBS_ENOENT;
		goto done;
	}
	if (a.oom) {
		ret = OBS_ENOMEM;
		goto done;
	}
	rrd_clear_error();
	rrd_info_t *info = rrd_graph_v((int)a.n, a.v);
	if (info == NULL) {
		snprintf(err, errlen, "rrd graph: %s", rrd_get_error());
		ret = OBS_ERROR;
		goto done;
	}
	ret = OBS_ERROR;
	snprintf(err, errlen, "rrd graph: no image");
	for (rrd_info_t *i = info; i; i = i->next)
		if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO && i->value.u_blo.size) {
			if ((*png = malloc(i->value.u_blo.size)) == NULL) {
				ret = OBS_ENOMEM;
				break;
			}
			memcpy(*png, i->value.u_blo.ptr, i->value.u_blo.size);
			*len = i->value.u_blo.size;
			ret = OBS_EOK;
			err[0] = '\0';
		}
	rrd_info_free(info);
done:
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i]);
	return ret;
}
