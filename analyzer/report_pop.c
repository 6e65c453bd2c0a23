/* SPDX-License-Identifier: MIT */
/* The population report: every zone's transitions and observed glitches, aggregated. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "obs_err.h"
#include "report_int.h"
#include "timefmt.h"

/* latency samples of one parent zone */
struct parent {
	char name[256];
	double *v;
	size_t n, cap;
};

struct pop {
	json_t *by_kind, *by_month, *by_day, *early_kind, *early_phase, *gl_kind, *gl_month;
	struct parent *parents;
	size_t parents_n, parents_cap;
	int64_t transitions, early, glitches, excluded, zones;
	double glitch_min, early_deficit;
	json_t *held;  /* T-2x / T-2s per resolver, from passive fetches: key "ID\tresolver" */
	size_t zone_i; /* the zone being added (counts each zone once per resolver) */
};

static void inc(json_t *o, const char *k, double by)
{
	json_t *v = json_object_get(o, k);
	if (v == NULL)
		json_object_set_new(o, k,
				    json_is_integer(v) || by == (double)(int64_t)by
					? json_integer((json_int_t)by)
					: json_real(by));
	else if (json_is_integer(v) && by == (double)(int64_t)by)
		json_integer_set(v, json_integer_value(v) + (json_int_t)by);
	else
		json_object_set_new(o, k, json_real(json_number_value(v) + by));
}

static json_t *sub(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (v == NULL) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static void period(obs_usec_t t, char *month, char *day)
{
	time_t s = (time_t)(t / OBS_USEC_PER_SEC);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(month, 16, "%Y-%m", &tm);
	strftime(day, 16, "%Y-%m-%d", &tm);
}

static const char *parent_of(const char *zone)
{
	const char *d = strchr(zone, '.');
	return d && d[1] ? d + 1 : ".";
}

static int sample(struct pop *p, const char *parent, double v)
{
	struct parent *pa = NULL;
	for (size_t i = 0; i < p->parents_n && pa == NULL; i++)
		if (strcmp(p->parents[i].name, parent) == 0)
			pa = &p->parents[i];
	if (pa == NULL) {
		if (p->parents_n == p->parents_cap) {
			size_t nc = p->parents_cap ? p->parents_cap * 2 : 8;
			struct parent *n = realloc(p->parents, nc * sizeof(*n));
			if (n == NULL)
				return OBS_ENOMEM;
			p->parents = n;
			p->parents_cap = nc;
		}
		pa = &p->parents[p->parents_n++];
		memset(pa, 0, sizeof(*pa));
		snprintf(pa->name, sizeof(pa->name), "%s", parent);
	}
	if (pa->n == pa->cap) {
		size_t nc = pa->cap ? pa->cap * 2 : 16;
		double *n = realloc(pa->v, nc * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		pa->v = n;
		pa->cap = nc;
	}
	pa->v[pa->n++] = v;
	return OBS_EOK;
}

static int add_zone(struct pop *p, const rep_zone_t *z, const rep_opts_t *o)
{
	char month[16], day[16];
	const trans_set_t *s = z->ts;
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (t->first < o->from || t->first > o->to)
			continue;
		const char *k = trans_kind_names[t->kind];
		period(t->first, month, day);
		p->transitions++;
		inc(p->by_kind, k, 1);
		inc(sub(p->by_month, month), k, 1);
		inc(sub(p->by_day, day), k, 1);
		for (size_t j = 0; j < t->phases_n; j++) {
			const trans_phase_t *ph = &t->phases[j];
			if (!ph->early)
				continue;
			p->early++;
			p->early_deficit +=
			    (double)(ph->needed - (ph->waited < 0 ? 0 : ph->waited)) / 1e6;
			inc(p->early_kind, k, 1);
			inc(p->early_phase, ph->name, 1);
		}
		for (size_t j = 0; j < t->events_n; j++) {
			const trans_event_t *ev = trans_event_get(s, t->events[j]);
			if (ev->pickup >= 0 &&
			    sample(p, parent_of(z->zone), (double)ev->pickup / 1e6))
				return OBS_ENOMEM;
		}
	}
	for (size_t i = 0; i < z->glitches_n; i++) {
		const og_glitch_t *g = &z->glitches[i];
		if (g->first_bad < o->from || g->first_bad > o->to)
			continue;
		if (g->excluded) {
			p->excluded++;
			continue;
		}
		obs_usec_t hi = g->hi == INT64_MAX ? (o->to < o->at ? o->to : o->at) : g->hi;
		double min = (double)(hi - g->first_bad) / 60e6;
		period(g->first_bad, month, day);
		p->glitches++;
		p->glitch_min += min;
		json_t *gk = sub(p->gl_kind, g->kind);
		inc(gk, "count", 1);
		inc(gk, "minutes", min);
		json_t *gm = sub(p->gl_month, month);
		inc(gm, "count", 1);
		inc(gm, "minutes", min);
	}
	p->zones++;
	return OBS_EOK;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static json_t *latency(struct pop *p)
{
	static const double edges[] = {1, 10, 60, 600, 3600, 21600, 86400, 604800};
	json_t *a = json_array();
	for (size_t i = 0; a && i < p->parents_n; i++) {
		struct parent *pa = &p->parents[i];
		qsort(pa->v, pa->n, sizeof(double), dbl_cmp);
		double sum = 0;
		for (size_t k = 0; k < pa->n; k++)
			sum += pa->v[k];
		json_t *h = json_array();
		size_t k = 0;
		for (size_t e = 0; h && e <= sizeof(edges) / sizeof(edges[0]); e++) {
			size_t c = 0;
			bool last = e == sizeof(edges) / sizeof(edges[0]);
			while (k < pa->n && (last || pa->v[k] <= edges[e])) {
				k++;
				c++;
			}
			json_array_append_new(h, json_pack("{s:o, s:I}", "le",
							   last ? json_null() : json_real(edges[e]),
							   "count", (json_int_t)c));
		}
		json_array_append_new(a, json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:o}",
						   "parent", pa->name, "count", (json_int_t)pa->n,
						   "min", pa->v[0], "p50", pa->v[(pa->n - 1) / 2],
						   "p90", pa->v[(pa->n - 1) * 9 / 10], "max",
						   pa->v[pa->n - 1], "mean", sum / (double)pa->n,
						   "histogram", h ? h : json_array()));
	}
	return a;
}

/* T-1: resolver answers with a TTL above the largest authoritative TTL + 1 s */
static json_t *ttl_violators(an_db_t *db, const rep_opts_t *o)
{
	sqlite3_stmt *st = NULL;
	json_t *a = json_array();
	if (a == NULL ||
	    sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT c.name || '/' || tg.host, tg.address, count(*), count(DISTINCT "
		"tg.zone), max(o.ttl_s - v.ttl_max_s) FROM observation o JOIN version v "
		"ON v.id = o.version_id JOIN series s ON s.id = o.series_id JOIN "
		"target tg ON tg.id = s.target_id JOIN collector c ON c.id = "
		"tg.collector_id WHERE tg.kind = 'resolver' AND v.ttl_max_s IS NOT "
		"NULL AND o.ttl_s > v.ttl_max_s + 1 AND o.t BETWEEN ?1 AND ?2 GROUP BY "
		"c.name, tg.host, tg.address ORDER BY 1",
		-1, &st, NULL) != SQLITE_OK) {
		json_decref(a);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, o->from);
	sqlite3_bind_int64(st, 2, o->to < o->at ? o->to : o->at);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", "T-1", "vantage",
				 (const char *)sqlite3_column_text(st, 0), "address",
				 (const char *)sqlite3_column_text(st, 1), "observations",
				 (json_int_t)sqlite3_column_int64(st, 2), "zones",
				 (json_int_t)sqlite3_column_int64(st, 3), "max_excess_s",
				 (json_int_t)sqlite3_column_int64(st, 4)));
	sqlite3_finalize(st);
	return a;
}

/* T-2x / T-2s (reference §3.3) of one zone's resolvers, from their passive fetches: merged per
 * (ID, resolver) over the population, with the zones they were seen in, the answers and the
 * longest holding time past the fetched expiry. */
static void held_flags(void *arg, const fetch_resolver_t *r)
{
	struct pop *p = arg;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *fl = &r->flags[i];
		if (strncmp(fl->id, "T-2", 3) != 0)
			continue;
		char key[200];
		snprintf(key, sizeof(key), "%s\t%s", fl->id, r->name);
		json_t *e = json_object_get(p->held, key);
		if (e == NULL) {
			e = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id", fl->id,
				      "vantage", r->name, "address", fl->via, "observations",
				      (json_int_t)0, "zones", (json_int_t)0, "max_excess_s",
				      (json_int_t)0, "last_zone", (json_int_t)-1);
			if (e == NULL || json_object_set_new(p->held, key, e) != 0)
				continue;
		}
		inc(e, "observations", (double)fl->answers);
		if (json_integer_value(json_object_get(e, "last_zone")) != (json_int_t)p->zone_i) {
			inc(e, "zones", 1);
			json_object_set_new(e, "last_zone", json_integer((json_int_t)p->zone_i));
		}
		int64_t past =
		    fl->expiry != INT64_MIN && fl->hold_until > fl->expiry
			? (fl->hold_until - fl->expiry + OBS_USEC_PER_SEC / 2) / OBS_USEC_PER_SEC
			: 0;
		if (past > json_integer_value(json_object_get(e, "max_excess_s")))
			json_object_set_new(e, "max_excess_s", json_integer((json_int_t)past));
	}
}

/* Does the database hold passive evidence at all (the fetch analysis is skipped otherwise)? */
static bool has_passive(an_db_t *db)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;
	if (sqlite3_prepare_v2(an_db_sql(db), "SELECT 1 FROM passive_pair LIMIT 1", -1, &st,
			       NULL) == SQLITE_OK)
		yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* Append the merged T-2 entries to a (the T-1 list), sorted by ID then resolver. */
static void held_append(struct pop *p, json_t *a)
{
	const char *k;
	json_t *e;
	size_t n = json_object_size(p->held), i = 0;
	const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
	if (keys == NULL)
		return;
	json_object_foreach(p->held, k, e) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), str_cmp);
	for (i = 0; i < n; i++) {
		e = json_object_get(p->held, keys[i]);
		json_object_del(e, "last_zone");
		json_array_append(a, e);
	}
	free(keys);
}

static int zone_list(an_db_t *db, char ***out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(an_db_sql(db), "SELECT DISTINCT zone FROM target ORDER BY zone", -1,
			       &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = realloc(*out, cap * sizeof(*v));
			if (v == NULL) {
				ret = OBS_ENOMEM;
				break;
			}
			*out = v;
		}
		if (((*out)[*n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
			ret = OBS_ENOMEM;
		else
			(*n)++;
	}
	sqlite3_finalize(st);
	return ret;
}

static void text_obj(FILE *f, const char *title, json_t *o)
{
	const char *k;
	json_t *v;
	fprintf(f, "%s:", title);
	if (json_object_size(o) == 0)
		fputs(" none", f);
	json_object_foreach(o, k, v)
	{
		if (json_is_object(v)) {
			fprintf(f, "\n  %s:", k);
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2)
			    fprintf(f, " %s=%g", k2, json_number_value(v2));
		} else {
			fprintf(f, " %s=%g", k, json_number_value(v));
		}
	}
	fputc('\n', f);
}

/* a name in the text form: printable ASCII as is, anything else as \xHH (names come from the
 * network; the HTML form escapes the whole text once more) */
static void text_safe(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

static void pop_text(FILE *f, json_t *d)
{
	fprintf(f, "population report: %lld zones\n",
		(long long)json_integer_value(json_object_get(d, "zones")));
	json_t *tr = json_object_get(d, "transitions");
	fprintf(f, "transitions: %lld\n",
		(long long)json_integer_value(json_object_get(tr, "total")));
	text_obj(f, "transitions by kind", json_object_get(tr, "by_kind"));
	text_obj(f, "transitions by month", json_object_get(tr, "by_month"));
	json_t *gl = json_object_get(d, "glitches");
	fprintf(f, "observed glitches: %lld (%.1f glitch-minutes; %lld at excluded vantages)\n",
		(long long)json_integer_value(json_object_get(gl, "count")),
		json_number_value(json_object_get(gl, "minutes")),
		(long long)json_integer_value(json_object_get(gl, "excluded")));
	text_obj(f, "glitches by kind", json_object_get(gl, "by_kind"));
	json_t *ea = json_object_get(d, "early_steps");
	fprintf(f, "steps taken early: %lld (%.1f s short in all)\n",
		(long long)json_integer_value(json_object_get(ea, "count")),
		json_number_value(json_object_get(ea, "deficit_s")));
	text_obj(f, "early steps by transition kind", json_object_get(ea, "by_kind"));
	text_obj(f, "early steps by phase", json_object_get(ea, "by_phase"));
	fputs("parent pick-up latency (s):\n", f);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(d, "pickup"), i, v)
	{
		fputs("  ", f);
		text_safe(f, json_string_value(json_object_get(v, "parent")));
		fprintf(f, ": n=%lld min=%.1f p50=%.1f p90=%.1f max=%.1f mean=%.1f\n",
			(long long)json_integer_value(json_object_get(v, "count")),
			json_number_value(json_object_get(v, "min")),
			json_number_value(json_object_get(v, "p50")),
			json_number_value(json_object_get(v, "p90")),
			json_number_value(json_object_get(v, "max")),
			json_number_value(json_object_get(v, "mean")));
	}
	fputs("resolvers that violate TTLs (T-1 from their answers; T-2x held past expiry, T-2s "
	      "served stale, from captured fetches):\n",
	      f);
	json_array_foreach(json_object_get(d, "ttl_violations"), i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		fprintf(f, "  %s ", id);
		text_safe(f, json_string_value(json_object_get(v, "vantage")));
		fprintf(
		    f,
		    strcmp(id, "T-1") == 0
			? ": %lld answers in %lld zones, up to %lld s above the authoritative TTL\n"
			: ": %lld answers in %lld zones, held up to %lld s past the fetched "
			  "expiry\n",
		    (long long)json_integer_value(json_object_get(v, "observations")),
		    (long long)json_integer_value(json_object_get(v, "zones")),
		    (long long)json_integer_value(json_object_get(v, "max_excess_s")));
	}
}

static void pop_html(FILE *f, json_t *d)
{
	fputs("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Population report"
	      "</title><style>body{font:13px sans-serif;margin:1em}pre{background:#f6f6f6;"
	      "padding:.5em}</style></head><body><h1>Population report</h1>\n<pre>",
	      f);
	/* the text form, escaped (it holds zone and resolver names) */
	char *txt = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&txt, &len);
	if (m) {
		pop_text(m, d);
		fclose(m);
		rep_html_escape(f, txt);
		free(txt);
	}
	fputs("</pre>\n", f);
	/* a bar chart of transitions per month and kind */
	json_t *bm = json_object_get(json_object_get(d, "transitions"), "by_month");
	size_t n = json_object_size(bm), i = 0;
	int64_t mx = 1;
	const char *k;
	json_t *v;
	json_object_foreach(bm, k, v)
	{
		int64_t tot = 0;
		const char *k2;
		json_t *v2;
		json_object_foreach(v, k2, v2) tot += json_integer_value(v2);
		if (tot > mx)
			mx = tot;
	}
	fprintf(f,
		"<h2>Transitions per month</h2><svg xmlns='http://www.w3.org/2000/svg' "
		"width='%zu' height='240'>\n",
		60 + n * 70);
	json_object_foreach(bm, k, v)
	{
		double y = 210;
		const char *k2;
		json_t *v2;
		json_object_foreach(v, k2, v2)
		{
			double h = 190.0 * (double)json_integer_value(v2) / (double)mx;
			unsigned hue = 0;
			for (const char *p = k2; *p; p++)
				hue = hue * 31 + (unsigned char)*p;
			fprintf(f,
				"<rect x='%zu' y='%.1f' width='50' height='%.1f' "
				"fill='hsl(%u,55%%,55%%)'><title>",
				40 + i * 70, y - h, h, hue % 360);
			rep_html_escape(f, k2);
			fprintf(f, ": %lld</title></rect>\n", (long long)json_integer_value(v2));
			y -= h;
		}
		fprintf(f, "<text x='%zu' y='228' font-size='11'>", 40 + i * 70);
		rep_html_escape(f, k);
		fputs("</text>\n", f);
		i++;
	}
	fputs("</svg></body></html>\n", f);
}

int rep_population(an_db_t *db, const char *const *zones, const rep_opts_t *o, FILE *f)
{
	struct pop p = {0};
	char **all = NULL;
	size_t n = 0;
	int ret = OBS_ENOMEM;
	p.by_kind = json_object();
	p.by_month = json_object();
	p.by_day = json_object();
	p.early_kind = json_object();
	p.early_phase = json_object();
	p.gl_kind = json_object();
	p.gl_month = json_object();
	p.held = json_object();
	if (!p.held || !p.by_kind || !p.by_month || !p.by_day || !p.early_kind || !p.early_phase ||
	    !p.gl_kind || !p.gl_month)
		goto done;
	if (zones == NULL) {
		if ((ret = zone_list(db, &all, &n)))
			goto done;
		zones = (const char *const *)all;
	} else {
		while (zones[n])
			n++;
	}
	bool progress = o->progress, passive = has_passive(db);
	obs_usec_t t_start = obs_mono_now();
	for (size_t i = 0; i < n; i++) {
		rep_zone_t z;
		ret = rep_zone_load(db, zones[i], o, false, &z);
		if (ret == OBS_EOK)
			ret = add_zone(&p, &z, o);
		rep_zone_free(&z);
		p.zone_i = i;
		if (ret == OBS_EOK && passive)
			ret = fetch_run(db, zones[i], o->to < o->at ? o->to : o->at, NULL,
					held_flags, NULL, &p);
		if (ret)
			goto done;
		if (progress && (i + 1 == n || (i + 1) % 50 == 0))
			fprintf(stderr, "\rreport: %zu/%zu zones, %.1f s", i + 1, n,
				(double)(obs_mono_now() - t_start) / 1e6);
	}
	if (progress)
		fputc('\n', stderr);
	json_t *ttl = ttl_violators(db, o);
	if (ttl)
		held_append(&p, ttl);
	json_t *lat = latency(&p);
	json_t *d = json_pack(
	    "{s:s, s:o, s:o, s:o, s:I, s:{s:I, s:O, s:O, s:O}, s:{s:I, s:f, s:I, s:O, s:O}, "
	    "s:{s:I, s:f, s:O, s:O}, s:o, s:o}",
	    "report", "population", "at", rep_jtime(o->at), "from", rep_jtime(o->from), "to",
	    rep_jtime(o->to), "zones", (json_int_t)p.zones, "transitions", "total",
	    (json_int_t)p.transitions, "by_kind", p.by_kind, "by_month", p.by_month, "by_day",
	    p.by_day, "glitches", "count", (json_int_t)p.glitches, "minutes", p.glitch_min,
	    "excluded", (json_int_t)p.excluded, "by_kind", p.gl_kind, "by_month", p.gl_month,
	    "early_steps", "count", (json_int_t)p.early, "deficit_s", p.early_deficit, "by_kind",
	    p.early_kind, "by_phase", p.early_phase, "pickup", lat ? lat : json_array(),
	    "ttl_violations", ttl ? ttl : json_array());
	ret = OBS_ENOMEM;
	if (d == NULL)
		goto done;
	if (o->format == REP_JSON) {
		if (json_dumpf(d, f, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
			fputc('\n', f);
	} else if (o->format == REP_HTML) {
		pop_html(f, d);
	} else {
		pop_text(f, d);
	}
	json_decref(d);
	ret = ferror(f) ? OBS_ENET : OBS_EOK;
done:
	json_decref(p.by_kind);
	json_decref(p.by_month);
	json_decref(p.by_day);
	json_decref(p.early_kind);
	json_decref(p.early_phase);
	json_decref(p.gl_kind);
	json_decref(p.gl_month);
	json_decref(p.held);
	for (size_t i = 0; i < p.parents_n; i++)
		free(p.parents[i].v);
	free(p.parents);
	for (size_t i = 0; all && i < n; i++)
		free(all[i]);
	free(all);
	return ret;
}
