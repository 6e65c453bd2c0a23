/* SPDX-License-Identifier: MIT */
/* The per-zone HTML report: one self-contained page (inline CSS and SVG, nothing loaded from
 * elsewhere). Every DNS name and every text from the database is escaped. */
#include <stdint.h>
#include <string.h>

#include "obs_err.h"
#include "report_int.h"
#include "timefmt.h"

#define W_LABEL 330
#define W_PLOT  900
#define ROW_H   16

struct axis {
	obs_usec_t t0, t1;
};

static double x_of(const struct axis *a, obs_usec_t t)
{
	if (t < a->t0)
		t = a->t0;
	if (t > a->t1)
		t = a->t1;
	double span = (double)(a->t1 - a->t0);
	return W_LABEL + (span > 0 ? (double)(t - a->t0) / span * W_PLOT : 0);
}

static unsigned hue_of(const char *s)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % 360;
}

static const char *outcome_color(const char *v)
{
	if (strcmp(v, "secure") == 0)
		return "#3a3";
	if (strcmp(v, "insecure") == 0)
		return "#aaa";
	if (strcmp(v, "bogus") == 0)
		return "#d22";
	if (strcmp(v, "lost") == 0)
		return "#e90";
	return "#ddd";
}

static void rect(FILE *f, const struct axis *a, double y, obs_usec_t lo, obs_usec_t hi,
		 const char *fill, const char *title)
{
	double x0 = x_of(a, lo), x1 = x_of(a, hi);
	if (x1 - x0 < 1)
		x1 = x0 + 1;
	fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' fill='%s'><title>", x0, y,
		x1 - x0, ROW_H - 3, fill);
	rep_html_escape(f, title);
	fputs("</title></rect>\n", f);
}

static void label(FILE *f, double y, const char *text)
{
	fprintf(f, "<text x='4' y='%.1f' class='l'>", y + ROW_H - 5);
	rep_html_escape(f, text);
	fputs("</text>\n", f);
}

static void table_row(FILE *f, const char *const *cells, size_t n)
{
	fputs("<tr>", f);
	for (size_t i = 0; i < n; i++) {
		fputs("<td>", f);
		rep_html_escape(f, cells[i] ? cells[i] : "");
		fputs("</td>", f);
	}
	fputs("</tr>\n", f);
}

int rep_html_zone(FILE *f, const rep_zone_t *z, const rep_opts_t *o)
{
	const trans_set_t *s = z->ts;
	struct axis ax = {INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < trans_timeline_count(s); i++) {
		const trans_timeline_t *t = trans_timeline_get(s, i);
		if (t->segs_n && t->segs[0].first < ax.t0)
			ax.t0 = t->segs[0].first;
		if (t->segs_n && t->segs[t->segs_n - 1].last > ax.t1)
			ax.t1 = t->segs[t->segs_n - 1].last;
	}
	for (size_t i = 0; i < z->rows_n; i++) {
		const rep_row_t *r = &z->rows[i];
		if (r->n && r->segs[0].first < ax.t0)
			ax.t0 = r->segs[0].first;
		if (r->n && r->segs[r->n - 1].last > ax.t1)
			ax.t1 = r->segs[r->n - 1].last;
	}
	if (o->from != INT64_MIN && o->from > ax.t0)
		ax.t0 = o->from;
	if (o->to != INT64_MAX && o->to < ax.t1)
		ax.t1 = o->to;
	if (ax.t0 == INT64_MAX || ax.t1 <= ax.t0) {
		ax.t0 = o->at - 60 * OBS_USEC_PER_SEC;
		ax.t1 = o->at;
	}
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN], buf[1024];
	fputs("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Zone report: ", f);
	rep_html_escape(f, z->zone);
	fputs("</title>\n<style>body{font:13px sans-serif;margin:1em}table{border-collapse:"
	      "collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:"
	      "left;vertical-align:top}.l{font:11px monospace}.early{color:#c00;font-weight:bold}"
	      "svg{border:1px solid #ddd}h2{margin-top:1.2em}</style></head><body>\n<h1>Zone ",
	      f);
	rep_html_escape(f, z->zone);
	fprintf(f, "</h1>\n<p>at %s; timeline %s .. %s</p>\n", obs_time_format(o->at, a, sizeof(a)),
		obs_time_format(ax.t0, buf, sizeof(a)), obs_time_format(ax.t1, b, sizeof(b)));

	/* the timeline: servers, then vantages, with transitions and glitch windows */
	size_t rows = trans_timeline_count(s) + z->rows_n + 2;
	double h = (double)rows * ROW_H + 30;
	fprintf(f,
		"<h2>Timeline</h2>\n<svg xmlns='http://www.w3.org/2000/svg' width='%d' "
		"height='%.0f' role='img'>\n",
		W_LABEL + W_PLOT + 10, h);
	double y = 20;
	fprintf(f,
		"<text x='%d' y='12' class='l'>%s</text><text x='%d' y='12' class='l' "
		"text-anchor='end'>%s</text>\n",
		W_LABEL, obs_time_format(ax.t0, a, sizeof(a)), W_LABEL + W_PLOT,
		obs_time_format(ax.t1, b, sizeof(b)));
	for (size_t i = 0; i < trans_timeline_count(s); i++, y += ROW_H) {
		const trans_timeline_t *t = trans_timeline_get(s, i);
		snprintf(buf, sizeof(buf), "%s %s %s", t->origin, t->server,
			 trans_class_names[t->cls]);
		label(f, y, buf);
		for (size_t k = 0; k < t->segs_n; k++) {
			const trans_seg_t *g = &t->segs[k];
			obs_usec_t end = k + 1 < t->segs_n ? t->segs[k + 1].first : g->last;
			if (g->first > ax.t1 || end < ax.t0)
				continue;
			char fill[32];
			snprintf(fill, sizeof(fill), "hsl(%u,60%%,%s)", hue_of(g->content),
				 g->content[0] ? "60%" : "90%");
			snprintf(buf, sizeof(buf), "%s .. %s: %s",
				 obs_time_format(g->first, a, sizeof(a)),
				 obs_time_format(g->last, b, sizeof(b)),
				 g->content[0] ? g->content : "(none)");
			rect(f, &ax, y, g->first, end, fill, buf);
		}
	}
	double yv = y;
	for (size_t i = 0; i < z->rows_n; i++, y += ROW_H) {
		const rep_row_t *r = &z->rows[i];
		label(f, y, r->label);
		for (size_t k = 0; k < r->n; k++) {
			const rep_rseg_t *g = &r->segs[k];
			obs_usec_t end = g->hi == INT64_MAX ? g->last : g->hi;
			if (g->first > ax.t1 || end < ax.t0)
				continue;
			char fill[32];
			if (r->keys)
				snprintf(fill, sizeof(fill), "hsl(%u,60%%,60%%)", hue_of(g->value));
			snprintf(buf, sizeof(buf), "%s .. %s: %s",
				 obs_time_format(g->first, a, sizeof(a)),
				 obs_time_format(g->last, b, sizeof(b)), g->value);
			rect(f, &ax, y, g->first, end, r->keys ? fill : outcome_color(g->value),
			     buf);
		}
	}
	/* glitch windows over the vantage rows */
	for (size_t i = 0; i < z->glitches_n; i++) {
		const og_glitch_t *g = &z->glitches[i];
		obs_usec_t hi = g->hi == INT64_MAX ? ax.t1 : g->hi;
		double x0 = x_of(&ax, g->first_bad), x1 = x_of(&ax, hi);
		fprintf(
		    f,
		    "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='rgba(220,0,0,.12)' "
		    "stroke='#d22' stroke-dasharray='2'><title>",
		    x0, yv, x1 - x0 < 1 ? 1 : x1 - x0, y - yv);
		snprintf(buf, sizeof(buf), "observed %s at %s (%s/%u)", g->kind, g->vantage,
			 g->qname, g->qtype);
		rep_html_escape(f, buf);
		fputs("</title></rect>\n", f);
	}
	/* transition phases as vertical marks */
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		for (size_t k = 0; k < t->phases_n; k++) {
			const trans_phase_t *p = &t->phases[k];
			if (p->first < ax.t0 || p->first > ax.t1)
				continue;
			double x = x_of(&ax, p->first);
			fprintf(f,
				"<line x1='%.1f' y1='16' x2='%.1f' y2='%.1f' stroke='%s' "
				"stroke-width='1'><title>",
				x, x, y, p->early ? "#c00" : "#36c");
			snprintf(buf, sizeof(buf), "%s [%s] %s%s", trans_kind_names[t->kind],
				 t->providers, p->name, p->early ? " (early)" : "");
			rep_html_escape(f, buf);
			fputs("</title></line>\n", f);
		}
	}
	fputs("</svg>\n<p class='l'>bars: content served (hover for keys / names); vantage "
	      "rows: green secure, grey insecure, red bogus, orange lost; dashed red: observed "
	      "glitch windows; vertical lines: transition phases (red: taken early)</p>\n",
	      f);

	fputs("<h2>Transitions</h2>\n<table><tr><th>kind</th><th>method</th><th>providers</th>"
	      "<th>first</th><th>last</th><th>old keys</th><th>new keys</th><th>pick-up "
	      "(s)</th><th>phases</th></tr>\n",
	      f);
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (!rep_in_period(t, o->from, o->to))
			continue;
		char pk[32] = "-";
		if (t->pickup >= 0)
			snprintf(pk, sizeof(pk), "%.1f", (double)t->pickup / 1e6);
		const char *cells[] = {
		    trans_kind_names[t->kind],
		    t->method ? t->method : "",
		    t->providers,
		    obs_time_format(t->first, a, sizeof(a)),
		    t->last == INT64_MAX ? "incomplete" : obs_time_format(t->last, b, sizeof(b)),
		    t->keys_old,
		    t->keys_new,
		    pk};
		fputs("<tr>", f);
		for (size_t c = 0; c < 8; c++) {
			fputs("<td>", f);
			rep_html_escape(f, cells[c]);
			fputs("</td>", f);
		}
		fputs("<td>", f);
		for (size_t k = 0; k < t->phases_n; k++) {
			const trans_phase_t *p = &t->phases[k];
			fprintf(f, "<div%s>", p->early ? " class='early'" : "");
			if (p->gate)
				snprintf(buf, sizeof(buf),
					 "%s %s (waited %.1fs after %s, needed %.1fs)", p->name,
					 obs_time_format(p->first, a, sizeof(a)),
					 (double)(p->waited < 0 ? 0 : p->waited) / 1e6, p->gate,
					 (double)p->needed / 1e6);
			else
				snprintf(buf, sizeof(buf), "%s %s", p->name,
					 obs_time_format(p->first, a, sizeof(a)));
			rep_html_escape(f, buf);
			fputs("</div>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<h2>Observed glitches</h2>\n<table><tr><th>vantage</th><th>kind</th>"
	      "<th>question</th><th>first bad</th><th>until</th><th>polls</th><th>note</th></tr>\n",
	      f);
	for (size_t i = 0; i < z->glitches_n; i++) {
		const og_glitch_t *g = &z->glitches[i];
		char q[300], n[32];
		snprintf(q, sizeof(q), "%s/%u", g->qname, g->qtype);
		snprintf(n, sizeof(n), "%lld", (long long)g->polls);
		const char *cells[] = {g->vantage,
				       g->kind,
				       q,
				       obs_time_format(g->first_bad, a, sizeof(a)),
				       g->hi == INT64_MAX ? "open"
							  : obs_time_format(g->hi, b, sizeof(b)),
				       n,
				       g->excluded ? "excluded: broken in the baseline (O-1)" : ""};
		table_row(f, cells, 7);
	}
	fputs("</table>\n<h2>Predicted glitches (cache-state model)</h2>\n<table><tr><th>ID</th>"
	      "<th>tier</th><th>severity</th><th>windows</th><th>pairs</th><th>reason</th></tr>\n",
	      f);
	size_t pi, pj;
	const json_t *g, *wj;
	json_array_foreach(z->predicted ? json_object_get(z->predicted, "predicted") : NULL, pi, g)
	{
		char wins[512] = "", pairs[32];
		size_t used = 0;
		json_array_foreach(json_object_get(g, "windows"), pj, wj)
		{
			const char *lo = json_string_value(json_object_get(wj, "lo"));
			const char *hi = json_string_value(json_object_get(wj, "hi"));
			int n = snprintf(wins + used, sizeof(wins) - used, "%s[%s, %s)",
					 pj ? " " : "", lo ? lo : "-inf", hi ? hi : "open");
			if (n < 0 || (size_t)n >= sizeof(wins) - used)
				break;
			used += (size_t)n;
		}
		snprintf(pairs, sizeof(pairs), "%lld",
			 (long long)json_integer_value(json_object_get(g, "pairs")));
		const char *cells[] = {json_string_value(json_object_get(g, "id")),
				       json_string_value(json_object_get(g, "tier")),
				       json_string_value(json_object_get(g, "severity")),
				       wins,
				       pairs,
				       json_string_value(json_object_get(g, "reason"))};
		table_row(f, cells, 6);
	}
	fputs("</table>\n<h2>Audit (cache-state model): changes that opened a window</h2>\n"
	      "<table><tr><th>origin</th><th>changed at</th><th>safe from</th><th>early by (s)</th>"
	      "<th>IDs</th><th>vantages failed</th></tr>\n",
	      f);
	json_array_foreach(z->audit ? json_object_get(z->audit, "audit") : NULL, pi, g)
	{
		char by[32], ids[128] = "", van[512] = "";
		snprintf(by, sizeof(by), "%.1f", json_number_value(json_object_get(g, "early_by")));
		json_array_foreach(json_object_get(g, "ids"), pj, wj)
		{
			strncat(ids, pj ? " " : "", sizeof(ids) - strlen(ids) - 1);
			strncat(ids, json_string_value(wj), sizeof(ids) - strlen(ids) - 1);
		}
		json_array_foreach(json_object_get(g, "vantages"), pj, wj)
		{
			strncat(van, pj ? ", " : "", sizeof(van) - strlen(van) - 1);
			strncat(van, json_string_value(wj), sizeof(van) - strlen(van) - 1);
		}
		const char *cells[] = {json_string_value(json_object_get(g, "origin")),
				       json_string_value(json_object_get(g, "changed_at")),
				       json_string_value(json_object_get(g, "safe_from")),
				       by,
				       ids,
				       van};
		table_row(f, cells, 6);
	}
	fputs("</table>\n<h2>Audit: steps taken early (transition phases)</h2>\n"
	      "<table><tr><th>transition</th><th>providers</th><th>phase</th><th>at</th><th>after"
	      "</th><th>waited (s)</th><th>needed (s)</th></tr>\n",
	      f);
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		for (size_t k = 0; rep_in_period(t, o->from, o->to) && k < t->phases_n; k++) {
			const trans_phase_t *p = &t->phases[k];
			if (!p->early)
				continue;
			char w[32], n[32];
			snprintf(w, sizeof(w), "%.1f",
				 (double)(p->waited < 0 ? 0 : p->waited) / 1e6);
			snprintf(n, sizeof(n), "%.1f", (double)p->needed / 1e6);
			const char *cells[] = {trans_kind_names[t->kind],
					       t->providers,
					       p->name,
					       obs_time_format(p->first, a, sizeof(a)),
					       p->gate,
					       w,
					       n};
			table_row(f, cells, 7);
		}
	}
	fputs("</table>\n</body></html>\n", f);
	return OBS_EOK;
}
