/* SPDX-License-Identifier: MIT */
/* obs-analyzer export: versions (runs at authoritative servers), transitions or observed
 * glitches as CSV (RFC 4180, header line first) or JSON lines, one record per line, documented
 * field by field in datasets/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "obs_err.h"
#include "oglitch.h"
#include "report.h"
#include "timefmt.h"
#include "trans.h"
#include "vers.h"

struct ex {
	bool csv;
	obs_usec_t from, to;
};

/* one CSV field: quoted when it holds a comma, a quote, CR or LF */
static void csv_field(const char *s, bool last)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

/* a JSON object as one CSV line, fields in the order of names */
static void csv_row(json_t *o, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(o, names[i]);
		char buf[64];
		char *dump = NULL;
		const char *s = "";
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)),
			    s = buf;
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.6f", json_real_value(v)), s = buf;
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		else if (json_is_array(v)) {
			/* lists of strings joined by spaces; other arrays as compact JSON */
			size_t k, len = 0;
			json_t *e;
			bool strings = true;
			json_array_foreach(v, k, e) strings = strings && json_is_string(e);
			if (strings) {
				json_array_foreach(v, k, e) len += strlen(json_string_value(e)) + 1;
				dump = calloc(1, len + 1);
				json_array_foreach(v, k, e) if (dump)
				{
					if (k)
						strcat(dump, " ");
					strcat(dump, json_string_value(e));
				}
			} else {
				dump = json_dumps(v, JSON_COMPACT);
			}
			s = dump ? dump : "";
		}
		csv_field(s, i + 1 == n);
		free(dump);
	}
}

static void emit(const struct ex *x, json_t *o, const char *const *names, size_t n)
{
	if (o == NULL)
		return;
	if (x->csv)
		csv_row(o, names, n);
	else {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
	}
}

static void header(const struct ex *x, const char *const *names, size_t n)
{
	for (size_t i = 0; x->csv && i < n; i++)
		csv_field(names[i], i + 1 == n);
}

static const char *const TR_FIELDS[] = {
    "zone", "kind",     "method",      "providers", "keys_old",    "keys_new", "lo",        "first",
    "last", "duration", "propagation", "pickup",    "early_steps", "complete", "phase_list"};

static int tr_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	const struct ex *x = arg;
	trans_set_t *s = NULL;
	int ret = trans_run(c->db, zone, c->at, NULL, &s);
	if (ret)
		return ret;
	for (size_t i = 0; i < trans_count(s); i++) {
		const trans_t *t = trans_get(s, i);
		if (t->first > x->to || (t->last != INT64_MAX && t->last < x->from))
			continue;
		json_t *o = rep_trans_json(s, t);
		if (o == NULL) {
			ret = OBS_ENOMEM;
			break;
		}
		if (x->csv) {
			/* phases as "name@first[!]" (! = taken early), separated by spaces */
			json_t *pl = json_array();
			char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN + 80];
			for (size_t k = 0; pl && k < t->phases_n; k++) {
				snprintf(b, sizeof(b), "%s@%s%s", t->phases[k].name,
					 obs_time_format(t->phases[k].first, a, sizeof(a)),
					 t->phases[k].early ? "!" : "");
				json_array_append_new(pl, json_string(b));
			}
			json_object_set_new(o, "phase_list", pl ? pl : json_array());
			emit(x, o, TR_FIELDS, sizeof(TR_FIELDS) / sizeof(TR_FIELDS[0]));
		} else {
			emit(x, o, NULL, 0);
		}
		json_decref(o);
	}
	trans_free(s);
	return ret;
}

static const char *const GL_FIELDS[] = {"zone",  "vantage",  "resolver", "kind",      "qname",
					"qtype", "role",     "lo",       "first_bad", "last_bad",
					"hi",    "duration", "polls",    "excluded",  "validating"};

struct gl_arg {
	const struct ex *x;
	const char *zone;
};

static void gl_one(void *arg, const og_glitch_t *g)
{
	struct gl_arg *a = arg;
	if (g->first_bad > a->x->to || (g->hi != INT64_MAX && g->hi < a->x->from))
		return;
	json_t *o = rep_glitch_json(a->zone, g);
	emit(a->x, o, GL_FIELDS, sizeof(GL_FIELDS) / sizeof(GL_FIELDS[0]));
	json_decref(o);
}

static int gl_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	struct gl_arg a = {arg, zone};
	return og_run(c->db, zone, c->at, 0, gl_one, NULL, &a);
}

static const char *const V_FIELDS[] = {
    "zone", "origin", "server",  "collector", "role",  "qname", "qtype", "version", "hash",
    "kind", "class",  "content", "lo",        "first", "last",  "hi",    "polls",   "ttl_max"};

static int versions(cli_ctx_t *c, const struct ex *x)
{
	sqlite3_stmt *st = NULL;
	vers_cache_t *vc = NULL;
	char buf[4096], hex[65];
	int ret = vers_cache_new(c->db, &vc);
	if (ret)
		return ret;
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(
		an_db_sql(c->db),
		"SELECT tg.zone, tg.origin, tg.address, co.name, s.role, s.qname, s.qtype, "
		"r.version_id, r.prev_poll - co.clock_offset_us, r.first_seen - "
		"co.clock_offset_us, "
		"r.last_seen - co.clock_offset_us, r.next_poll - co.clock_offset_us, r.count, "
		"r.ttl_max_s FROM run r JOIN series s ON s.id = r.series_id JOIN target tg ON "
		"tg.id "
		"= s.target_id JOIN collector co ON co.id = tg.collector_id WHERE tg.kind IN "
		"('provider', 'parent') AND (s.flags & 1) = 0 AND (?1 IS NULL OR tg.zone = ?1) AND "
		"r.first_seen <= ?2 AND (r.next_poll IS NULL OR r.next_poll >= ?3) AND "
		"r.first_seen <= ?4 ORDER BY tg.zone, tg.id, s.id, r.first_seen",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, c->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, x->to);
	sqlite3_bind_int64(st, 3, x->from);
	sqlite3_bind_int64(st, 4, c->at);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *origin = (const char *)sqlite3_column_text(st, 1);
		const char *role = (const char *)sqlite3_column_text(st, 4);
		int64_t vid = sqlite3_column_int64(st, 7);
		const vers_t *v = vers_get(vc, vid);
		enum trans_class cls = trans_class_of(origin, role, false);
		if (cls == TC__N)
			cls = trans_class_of(origin, role, true);
		buf[0] = 0;
		hex[0] = 0;
		static const char *const kinds[5] = {"none", "answer", "referral", "nxdomain",
						     "nodata"};
		const char *kind = "none";
		if (v) {
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", v->hash[i]);
			kind = v->kind >= 1 && v->kind <= 4 ? kinds[v->kind] : "none";
			if (cls != TC__N)
				trans_content(v, cls, buf, sizeof(buf));
		}
		json_t *o = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
		    "s:o, s:I, s:o}",
		    "zone", (const char *)sqlite3_column_text(st, 0), "origin", origin, "server",
		    (const char *)sqlite3_column_text(st, 2), "collector",
		    (const char *)sqlite3_column_text(st, 3), "role", role, "qname",
		    (const char *)sqlite3_column_text(st, 5), "qtype", sqlite3_column_int(st, 6),
		    "version", (json_int_t)vid, "hash", hex, "kind", kind, "class",
		    cls == TC__N ? json_null() : json_string(trans_class_names[cls]), "content",
		    cls == TC__N ? json_null() : json_string(buf), "lo",
		    sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null() : json_integer(0),
		    "first", json_integer(0), "last", json_integer(0), "hi",
		    sqlite3_column_type(st, 11) == SQLITE_NULL ? json_null() : json_integer(0),
		    "polls", (json_int_t)sqlite3_column_int64(st, 12), "ttl_max",
		    sqlite3_column_type(st, 13) == SQLITE_NULL
			? json_null()
			: json_integer(sqlite3_column_int64(st, 13)));
		if (o == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		/* times as RFC 3339 (null: unbounded) */
		static const char *const tk[4] = {"lo", "first", "last", "hi"};
		for (int i = 0; i < 4; i++) {
			int col = 8 + i;
			if (sqlite3_column_type(st, col) == SQLITE_NULL)
				continue;
			char a[OBS_TIME_STRLEN];
			json_object_set_new(o, tk[i],
					    json_string(obs_time_format(
						sqlite3_column_int64(st, col), a, sizeof(a))));
		}
		if (x->csv) {
			/* content as a space-separated list in CSV, as an array in JSON lines */
			emit(x, o, V_FIELDS, sizeof(V_FIELDS) / sizeof(V_FIELDS[0]));
		} else {
			json_t *l = json_array();
			const char *p = buf;
			while (l && cls != TC__N && p && *p) {
				const char *e = strchr(p, ' ');
				json_array_append_new(
				    l, json_stringn(p, e ? (size_t)(e - p) : strlen(p)));
				p = e ? e + 1 : NULL;
			}
			if (cls != TC__N)
				json_object_set_new(o, "content", l ? l : json_array());
			else
				json_decref(l);
			emit(x, o, NULL, 0);
		}
		json_decref(o);
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(st);
	vers_cache_free(vc);
	return ret;
}

int cli_export(cli_ctx_t *c)
{
	struct ex x = {0};
	int ret = cli_period(c, &x.from, &x.to);
	if (ret != OBS_EOK)
		return ret;
	if (c->format == NULL || strcmp(c->format, "csv") == 0)
		x.csv = true;
	else if (strcmp(c->format, "jsonl") != 0) {
		snprintf(c->err, c->errlen, "--format %s: not csv or jsonl", c->format);
		return OBS_EINVAL;
	}
	if (c->what == NULL) {
		snprintf(c->err, c->errlen, "--what versions|transitions|glitches is required");
		return OBS_EINVAL;
	}
	if (strcmp(c->what, "versions") == 0) {
		header(&x, V_FIELDS, sizeof(V_FIELDS) / sizeof(V_FIELDS[0]));
		return versions(c, &x);
	}
	if (strcmp(c->what, "transitions") == 0) {
		header(&x, TR_FIELDS, sizeof(TR_FIELDS) / sizeof(TR_FIELDS[0]));
		return cli_each_zone(c, tr_zone, &x);
	}
	if (strcmp(c->what, "glitches") == 0) {
		header(&x, GL_FIELDS, sizeof(GL_FIELDS) / sizeof(GL_FIELDS[0]));
		return cli_each_zone(c, gl_zone, &x);
	}
	snprintf(c->err, c->errlen, "--what %s: not versions, transitions or glitches", c->what);
	return OBS_EINVAL;
}
