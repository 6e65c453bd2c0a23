/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "obs_err.h"
#include "report.h"
#include "report_int.h"
#include "timefmt.h"
#include "audit.h"
#include "verdict.h"

json_t *rep_jtime(obs_usec_t t)
{
	if (t == INT64_MAX || t == INT64_MIN)
		return json_null();
	char buf[OBS_TIME_STRLEN];
	return json_string(obs_time_format(t, buf, sizeof(buf)));
}

json_t *rep_jsecs(obs_usec_t d)
{
	return d < 0 ? json_null() : json_real((double)d / 1e6);
}

/* a space-separated list as a JSON array of strings */
json_t *rep_jlist(const char *l)
{
	json_t *a = json_array();
	const char *p = l;
	while (a && p && *p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		p = e ? e + 1 : NULL;
	}
	return a;
}

json_t *rep_event_json(const trans_set_t *s, size_t i)
{
	const trans_event_t *e = trans_event_get(s, i);
	if (e == NULL)
		return NULL;
	return json_pack(
	    "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, "
	    "s:o, s:I, s:I, s:o}",
	    "id", (json_int_t)i, "origin", e->origin, "class", trans_class_names[e->cls], "before",
	    rep_jlist(e->before), "after", rep_jlist(e->after), "added", rep_jlist(e->added),
	    "removed", rep_jlist(e->removed), "lo", rep_jtime(e->lo), "first", rep_jtime(e->first),
	    "all", rep_jtime(e->all), "propagation",
	    e->all == INT64_MAX ? json_null() : rep_jsecs(e->all - e->first), "servers",
	    (json_int_t)e->servers, "servers_done", (json_int_t)e->servers_done, "ttl_before",
	    e->ttl_before_s < 0 ? json_null() : json_integer(e->ttl_before_s), "ttl_after",
	    e->ttl_after_s < 0 ? json_null() : json_integer(e->ttl_after_s), "version_before",
	    (json_int_t)e->version_before, "version_after", (json_int_t)e->version_after, "pickup",
	    rep_jsecs(e->pickup));
}

json_t *rep_trans_json(const trans_set_t *s, const trans_t *t)
{
	json_t *ev = json_array(), *ph = json_array();
	for (size_t i = 0; ev && i < t->events_n; i++)
		json_array_append_new(ev, rep_event_json(s, t->events[i]));
	for (size_t k = 0; ph && k < t->phases_n; k++) {
		const trans_phase_t *p = &t->phases[k];
		json_t *ids = json_array();
		for (size_t i = 0; ids && i < p->events_n; i++)
			json_array_append_new(ids, json_integer((json_int_t)p->events[i]));
		json_array_append_new(
		    ph, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "name", p->name,
				  "first", rep_jtime(p->first), "all", rep_jtime(p->all), "events",
				  ids ? ids : json_array(), "gate",
				  p->gate ? json_string(p->gate) : json_null(), "waited",
				  p->gate ? rep_jsecs(p->waited < 0 ? 0 : p->waited) : json_null(),
				  "needed", rep_jsecs(p->needed), "early", p->early));
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, "
			 "s:o, s:o}",
			 "zone", trans_zone(s), "kind", trans_kind_names[t->kind], "method",
			 t->method ? json_string(t->method) : json_null(), "providers",
			 rep_jlist(t->providers), "keys_old", rep_jlist(t->keys_old), "keys_new",
			 rep_jlist(t->keys_new), "lo", rep_jtime(t->lo), "first",
			 rep_jtime(t->first), "last", rep_jtime(t->last), "duration",
			 t->last == INT64_MAX ? json_null() : rep_jsecs(t->last - t->first),
			 "propagation", rep_jsecs(t->propagation), "pickup", rep_jsecs(t->pickup),
			 "early_steps", (json_int_t)t->early_steps, "complete", t->complete,
			 "phases", ph ? ph : json_array(), "events", ev ? ev : json_array());
}

bool rep_in_period(const trans_t *t, obs_usec_t from, obs_usec_t to)
{
	obs_usec_t end = t->last == INT64_MAX ? INT64_MAX : t->last;
	return t->first <= to && end >= from;
}

json_t *rep_transitions_doc(const trans_set_t *s, obs_usec_t from, obs_usec_t to)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (rep_in_period(t, from, to))
			json_array_append_new(a, rep_trans_json(s, t));
	}
	if (a == NULL)
		return NULL;
	return json_pack("{s:s, s:o, s:o, s:o}", "zone", trans_zone(s), "at",
			 rep_jtime(trans_at(s)), "poll",
			 trans_poll(s) ? rep_jsecs(trans_poll(s)) : json_null(), "transitions", a);
}

static void secs_text(char *buf, size_t len, obs_usec_t d)
{
	if (d < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1fs", (double)d / 1e6);
}

void rep_transitions_text(FILE *f, const trans_set_t *s, obs_usec_t from, obs_usec_t to)
{
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN], w[32], n[32], p[32];
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (!rep_in_period(t, from, to))
			continue;
		secs_text(p, sizeof(p), t->pickup);
		fprintf(
		    f, "%s %s%s%s [%s] %s .. %s%s old {%s} new {%s} pickup %s%s\n", trans_zone(s),
		    trans_kind_names[t->kind], t->method ? " " : "", t->method ? t->method : "",
		    t->providers, obs_time_format(t->first, a, sizeof(a)),
		    t->last == INT64_MAX ? "incomplete" : obs_time_format(t->last, b, sizeof(b)),
		    t->complete ? "" : " (incomplete)", t->keys_old, t->keys_new, p,
		    t->early_steps ? " EARLY" : "");
		for (size_t k = 0; k < t->phases_n; k++) {
			const trans_phase_t *ph = &t->phases[k];
			secs_text(w, sizeof(w), ph->gate ? (ph->waited < 0 ? 0 : ph->waited) : -1);
			secs_text(n, sizeof(n), ph->needed);
			fprintf(f, "  %-14s %s", ph->name,
				obs_time_format(ph->first, a, sizeof(a)));
			if (ph->gate)
				fprintf(f, " after %s: waited %s, needed %s%s", ph->gate, w, n,
					ph->early ? " EARLY" : "");
			fputc('\n', f);
			for (size_t e = 0; e < ph->events_n; e++) {
				const trans_event_t *ev = trans_event_get(s, ph->events[e]);
				secs_text(w, sizeof(w),
					  ev->all == INT64_MAX ? -1 : ev->all - ev->first);
				fprintf(f, "    %s %s +{%s} -{%s} at %s propagation %s (%zu/%zu)\n",
					ev->origin, trans_class_names[ev->cls], ev->added,
					ev->removed, obs_time_format(ev->first, a, sizeof(a)), w,
					ev->servers_done, ev->servers);
			}
		}
	}
}

json_t *rep_glitch_json(const char *zone, const og_glitch_t *g)
{
	obs_usec_t hi = g->hi;
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:b, "
	    "s:b}",
	    "zone", zone, "vantage", g->vantage, "resolver", g->resolver, "kind", g->kind, "qname",
	    g->qname, "qtype", (int)g->qtype, "role", g->role, "lo", rep_jtime(g->lo), "first_bad",
	    rep_jtime(g->first_bad), "last_bad", rep_jtime(g->last_bad), "hi", rep_jtime(hi),
	    "duration", hi == INT64_MAX ? json_null() : rep_jsecs(hi - g->first_bad), "polls",
	    (json_int_t)g->polls, "excluded", g->excluded, "validating", g->validating);
}

void rep_html_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "&#%u;", *p);
			else
				fputc(*p, f);
		}
	}
}

/* ---- per-zone data shared by the text, JSON and HTML forms */

static int glitch_keep(rep_zone_t *z, const og_glitch_t *g)
{
	if (z->glitches_n == z->glitches_cap) {
		size_t nc = z->glitches_cap ? z->glitches_cap * 2 : 16;
		og_glitch_t *n = realloc(z->glitches, nc * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		z->glitches = n;
		z->glitches_cap = nc;
	}
	z->glitches[z->glitches_n++] = *g;
	return OBS_EOK;
}

static void on_glitch(void *arg, const og_glitch_t *g)
{
	rep_zone_t *z = arg;
	if (glitch_keep(z, g))
		z->oom = true;
}

static const char *const OUTCOMES[5] = {"none", "secure", "insecure", "bogus", "lost"};

/* resolver rows: per vantage and canary question, segments of equal outcome (CD=0); per
 * vantage, segments of the DNSKEY keys its cache held (CD=1 DNSKEY reads) */
static int load_vantages(an_db_t *db, rep_zone_t *z)
{
	sqlite3_stmt *st = NULL;
	vers_cache_t *vc = NULL;
	char buf[2048];
	int ret = vers_cache_new(db, &vc);
	if (ret)
		return ret;
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT c.name || '/' || tg.host, s.qname, s.qtype, s.role, s.flags, "
		"o.t - c.clock_offset_us, o.outcome, o.version_id FROM observation o "
		"JOIN series s ON s.id = o.series_id JOIN target tg ON tg.id = "
		"s.target_id JOIN collector c ON c.id = tg.collector_id WHERE tg.zone "
		"= ?1 AND tg.kind = 'resolver' AND o.t <= ?2 AND ((s.role = 'canary' "
		"AND (s.flags & 2) = 0 AND o.outcome IS NOT NULL) OR (s.role = "
		"'dnskey' AND (s.flags & 2) != 0 AND o.version_id IS NOT NULL)) ORDER "
		"BY tg.id, s.id, o.t",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, z->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, z->at);
	rep_row_t *row = NULL;
	char key[600];
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *vant = (const char *)sqlite3_column_text(st, 0);
		const char *qn = (const char *)sqlite3_column_text(st, 1);
		int qt = sqlite3_column_int(st, 2);
		bool keys = strcmp((const char *)sqlite3_column_text(st, 3), "dnskey") == 0;
		obs_usec_t t = sqlite3_column_int64(st, 5);
		if (keys)
			snprintf(key, sizeof(key), "%s keys cached", vant);
		else
			snprintf(key, sizeof(key), "%s %s/%d", vant, qn, qt);
		if (row == NULL || strcmp(row->label, key) != 0) {
			if (z->rows_n == z->rows_cap) {
				size_t nc = z->rows_cap ? z->rows_cap * 2 : 16;
				rep_row_t *n = realloc(z->rows, nc * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				z->rows = n;
				z->rows_cap = nc;
			}
			row = &z->rows[z->rows_n++];
			memset(row, 0, sizeof(*row));
			snprintf(row->label, sizeof(row->label), "%s", key);
			row->keys = keys;
		}
		const char *val;
		if (keys) {
			const vers_t *v = vers_get(vc, sqlite3_column_int64(st, 7));
			if (v == NULL)
				continue;
			int cr = trans_content(v, TC_DNSKEY, buf, sizeof(buf));
			if (cr != OBS_EOK && cr != OBS_ETOOBIG)
				continue;
			val = buf;
		} else {
			int out = sqlite3_column_int(st, 6);
			val = OUTCOMES[out >= 1 && out <= 4 ? out : 0];
		}
		rep_rseg_t *last = row->n ? &row->segs[row->n - 1] : NULL;
		if (last && strcmp(last->value, val) == 0) {
			last->last = t;
			continue;
		}
		if (last)
			last->hi = t;
		if (row->n == row->cap) {
			size_t nc = row->cap ? row->cap * 2 : 8;
			rep_rseg_t *n = realloc(row->segs, nc * sizeof(*n));
			if (n == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			row->segs = n;
			row->cap = nc;
		}
		rep_rseg_t *g = &row->segs[row->n++];
		g->first = g->last = t;
		g->hi = INT64_MAX;
		snprintf(g->value, sizeof(g->value), "%s", val);
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(st);
	vers_cache_free(vc);
	return ret;
}

void rep_zone_free(rep_zone_t *z)
{
	trans_free(z->ts);
	free(z->glitches);
	for (size_t i = 0; i < z->rows_n; i++)
		free(z->rows[i].segs);
	free(z->rows);
	json_decref(z->predicted);
	json_decref(z->audit);
}

int rep_zone_load(an_db_t *db, const char *zone, const rep_opts_t *o, bool rows, rep_zone_t *z)
{
	memset(z, 0, sizeof(*z));
	z->zone = zone;
	z->at = o->at;
	int ret = trans_run(db, zone, o->at, NULL, &z->ts);
	if (ret == OBS_EOK)
		ret = og_run(db, zone, o->at, 0, on_glitch, NULL, z);
	if (ret == OBS_EOK && z->oom)
		ret = OBS_ENOMEM;
	if (ret == OBS_EOK && rows)
		ret = load_vantages(db, z);
	if (ret == OBS_EOK && rows) { /* the cache-state model: predicted windows, audit */
		sigv_t *sv = NULL;
		char err[256];
		ret = sigv_new(db, false, &sv);
		if (ret == OBS_EOK)
			ret = vd_predicted(db, sv, zone, o->at, &z->predicted, err, sizeof(err));
		if (ret == OBS_EOK)
			ret = au_audit(db, sv, zone, o->at, 0, &z->audit, err, sizeof(err));
		sigv_free(sv);
	}
	return ret;
}

static bool glitch_in(const og_glitch_t *g, const rep_opts_t *o)
{
	return g->first_bad <= o->to && (g->hi == INT64_MAX || g->hi >= o->from);
}

static json_t *predicted_windows(const rep_zone_t *z)
{
	json_t *p = z->predicted ? json_object_get(z->predicted, "predicted") : NULL;
	return p ? json_incref(p) : json_array();
}

static json_t *zone_json(const rep_zone_t *z, const rep_opts_t *o)
{
	const trans_set_t *s = z->ts;
	json_t *servers = json_array(), *vant = json_array(), *gl = json_array(),
	       *early = json_array();
	for (size_t i = 0; i < trans_timeline_count(s); i++) {
		const trans_timeline_t *t = trans_timeline_get(s, i);
		json_t *segs = json_array();
		for (size_t k = 0; segs && k < t->segs_n; k++) {
			const trans_seg_t *g = &t->segs[k];
			if (g->first > o->to || (g->hi != INT64_MAX && g->hi < o->from))
				continue;
			json_array_append_new(
			    segs,
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "lo", rep_jtime(g->lo),
				      "first", rep_jtime(g->first), "last", rep_jtime(g->last),
				      "hi", rep_jtime(g->hi), "content", rep_jlist(g->content),
				      "version", (json_int_t)g->version_id));
		}
		json_array_append_new(servers,
				      json_pack("{s:s, s:s, s:s, s:s, s:o}", "origin", t->origin,
						"server", t->server, "collector", t->collector,
						"class", trans_class_names[t->cls], "segments",
						segs ? segs : json_array()));
	}
	for (size_t i = 0; i < z->rows_n; i++) {
		const rep_row_t *r = &z->rows[i];
		json_t *segs = json_array();
		for (size_t k = 0; segs && k < r->n; k++) {
			const rep_rseg_t *g = &r->segs[k];
			if (g->first > o->to || (g->hi != INT64_MAX && g->hi < o->from))
				continue;
			json_array_append_new(
			    segs, json_pack("{s:o, s:o, s:o, s:o}", "first", rep_jtime(g->first),
					    "last", rep_jtime(g->last), "hi", rep_jtime(g->hi),
					    r->keys ? "keys" : "outcome",
					    r->keys ? rep_jlist(g->value) : json_string(g->value)));
		}
		json_array_append_new(vant, json_pack("{s:s, s:s, s:o}", "row", r->label, "kind",
						      r->keys ? "keys" : "outcome", "segments",
						      segs ? segs : json_array()));
	}
	for (size_t i = 0; i < z->glitches_n; i++)
		if (glitch_in(&z->glitches[i], o))
			json_array_append_new(gl, rep_glitch_json(z->zone, &z->glitches[i]));
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (!rep_in_period(t, o->from, o->to))
			continue;
		for (size_t k = 0; k < t->phases_n; k++) {
			const trans_phase_t *p = &t->phases[k];
			if (!p->early)
				continue;
			json_array_append_new(
			    early,
			    json_pack("{s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:o}", "kind",
				      trans_kind_names[t->kind], "providers",
				      rep_jlist(t->providers), "phase", p->name, "at",
				      rep_jtime(p->first), "gate", p->gate, "waited",
				      rep_jsecs(p->waited < 0 ? 0 : p->waited), "needed",
				      rep_jsecs(p->needed), "early_by",
				      rep_jsecs(p->needed - (p->waited < 0 ? 0 : p->waited))));
		}
	}
	json_t *tr = rep_transitions_doc(s, o->from, o->to);
	json_t *doc = json_pack(
	    "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:s}}", "report",
	    "zone", "zone", z->zone, "at", rep_jtime(o->at), "from", rep_jtime(o->from), "to",
	    rep_jtime(o->to), "poll", trans_poll(s) ? rep_jsecs(trans_poll(s)) : json_null(),
	    "servers", servers ? servers : json_array(), "vantages", vant ? vant : json_array(),
	    "transitions",
	    tr && json_object_get(tr, "transitions")
		? json_incref(json_object_get(tr, "transitions"))
		: json_array(),
	    "glitches", gl ? gl : json_array(), "audit", early ? early : json_array(), "predicted",
	    "glitches", predicted_windows(z), "note",
	    "windows of the cache-state model (schemas/predicted.schema.json); audit_model: steps "
	    "that opened them (schemas/audit.schema.json)");
	if (doc)
		json_object_set_new(doc, "audit_model",
				    z->audit ? json_incref(json_object_get(z->audit, "audit"))
					     : json_array());
	json_decref(tr);
	return doc;
}

static void zone_text(FILE *f, const rep_zone_t *z, const rep_opts_t *o)
{
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN];
	const trans_set_t *s = z->ts;
	fprintf(f, "zone %s at %s\n", z->zone, obs_time_format(o->at, a, sizeof(a)));
	fprintf(f, "\nservers (what each served):\n");
	for (size_t i = 0; i < trans_timeline_count(s); i++) {
		const trans_timeline_t *t = trans_timeline_get(s, i);
		fprintf(f, "  %s %s %s:\n", t->origin, t->server, trans_class_names[t->cls]);
		for (size_t k = 0; k < t->segs_n; k++) {
			const trans_seg_t *g = &t->segs[k];
			if (g->first > o->to || (g->hi != INT64_MAX && g->hi < o->from))
				continue;
			fprintf(f, "    %s .. %s {%s}\n", obs_time_format(g->first, a, sizeof(a)),
				obs_time_format(g->last, b, sizeof(b)), g->content);
		}
	}
	fprintf(f, "\nvantages:\n");
	for (size_t i = 0; i < z->rows_n; i++) {
		const rep_row_t *r = &z->rows[i];
		fprintf(f, "  %s:", r->label);
		for (size_t k = 0; k < r->n; k++)
			if (!(r->segs[k].first > o->to ||
			      (r->segs[k].hi != INT64_MAX && r->segs[k].hi < o->from)))
				fprintf(f, " %s {%s}",
					obs_time_format(r->segs[k].first, a, sizeof(a)),
					r->segs[k].value);
		fputc('\n', f);
	}
	fprintf(f, "\ntransitions:\n");
	rep_transitions_text(f, s, o->from, o->to);
	fprintf(f, "\nobserved glitches:\n");
	for (size_t i = 0; i < z->glitches_n; i++) {
		const og_glitch_t *g = &z->glitches[i];
		if (!glitch_in(g, o))
			continue;
		fprintf(f, "  %s %s %s/%u %s .. %s%s\n", g->vantage, g->kind, g->qname, g->qtype,
			obs_time_format(g->first_bad, a, sizeof(a)),
			g->hi == INT64_MAX ? "open" : obs_time_format(g->hi, b, sizeof(b)),
			g->excluded ? " (excluded: O-1)" : "");
	}
	fprintf(f, "\npredicted glitches (cache-state model):\n");
	size_t pi, pj;
	const json_t *g, *w;
	json_array_foreach(z->predicted ? json_object_get(z->predicted, "predicted") : NULL, pi, g)
	{
		fprintf(f, "  %s %s %s:", json_string_value(json_object_get(g, "id")),
			json_string_value(json_object_get(g, "tier")),
			json_string_value(json_object_get(g, "severity")));
		json_array_foreach(json_object_get(g, "windows"), pj, w)
		{
			const char *lo = json_string_value(json_object_get(w, "lo"));
			const char *hi = json_string_value(json_object_get(w, "hi"));
			fprintf(f, " [%s, %s)", lo ? lo : "-inf", hi ? hi : "open");
		}
		fprintf(f, " %s\n", json_string_value(json_object_get(g, "reason")));
	}
	fprintf(f, "\naudit (cache-state model: changes that opened a window):\n");
	json_array_foreach(z->audit ? json_object_get(z->audit, "audit") : NULL, pi, g)
	    fprintf(f, "  %s at %s: safe from %s, early by %.1f s\n",
		    json_string_value(json_object_get(g, "origin")),
		    json_string_value(json_object_get(g, "changed_at")),
		    json_string_value(json_object_get(g, "safe_from")),
		    json_number_value(json_object_get(g, "early_by")));
	fprintf(f, "\naudit (steps taken early):\n");
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		for (size_t k = 0; rep_in_period(t, o->from, o->to) && k < t->phases_n; k++) {
			const trans_phase_t *p = &t->phases[k];
			if (p->early)
				fprintf(f,
					"  %s [%s] %s at %s: waited %.1fs after %s, needed %.1fs\n",
					trans_kind_names[t->kind], t->providers, p->name,
					obs_time_format(p->first, a, sizeof(a)),
					(double)(p->waited < 0 ? 0 : p->waited) / 1e6, p->gate,
					(double)p->needed / 1e6);
		}
	}
}

int rep_zone(an_db_t *db, const char *zone, const rep_opts_t *o, FILE *f)
{
	rep_zone_t z;
	int ret = rep_zone_load(db, zone, o, true, &z);
	if (ret == OBS_EOK) {
		if (o->format == REP_JSON) {
			json_t *d = zone_json(&z, o);
			if (d == NULL)
				ret = OBS_ENOMEM;
			else if (json_dumpf(d, f, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
				fputc('\n', f);
			json_decref(d);
		} else if (o->format == REP_HTML) {
			ret = rep_html_zone(f, &z, o);
		} else {
			zone_text(f, &z, o);
		}
	}
	rep_zone_free(&z);
	if (ret == OBS_EOK && ferror(f))
		ret = OBS_ENET;
	return ret;
}
