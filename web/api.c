/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "cache.h"
#include "detect.h"
#include "graphs.h"
#include "keys.h"
#include "metrics.h"
#include "obs_err.h"
#include "oglitch.h"
#include "report_json.h"
#include "timefmt.h"
#include "verdict.h"
#include "vers.h"
#include "audit.h"
#include "report.h"
#include "trans.h"
#include "iset.h"

#define WA_RUNS_MAX       20000  /* runs in one timeline document */
#define WA_OUTCOME_SCAN   200000 /* resolver observations scanned for outcome segments */
#define WA_PAGE_DEFAULT   100
#define WA_PAGE_MAX       1000
#define WA_SPAN_DEFAULT   900 /* seconds of timeline ending at the last data */
#define WA_WINDOW_DEFAULT 300

/* Request arguments shared by the document builders. */
typedef struct wa_args {
	obs_usec_t now, at;
	bool at_given;
	obs_usec_t from, to; /* timeline bounds; 0: default */
	int64_t span_s, window_s;
	int64_t after, limit;
	const char *role; /* observations filter, NULL: all */
} wa_args_t;

static const char *const STATUS_NAMES[] = {"answered",  "timeout",    "neterr", "truncated",
					   "malformed", "mismatched", "dropped"};
static const char *const OUTCOME_NAMES[] = {NULL, "secure", "insecure", "bogus", "lost"};

static json_t *jtime_col(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
							   : rj_time(sqlite3_column_int64(st, col));
}

static json_t *jint_col(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
		   ? json_null()
		   : json_integer(sqlite3_column_int64(st, col));
}

static json_t *jstr_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? json_string((const char *)s) : json_null();
}

static const char *status_name(int64_t s)
{
	return s >= 0 && s < 7 ? STATUS_NAMES[s] : "unknown";
}

static json_t *joutcome(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	int64_t o = sqlite3_column_int64(st, col);
	return o >= 1 && o <= 4 ? json_string(OUTCOME_NAMES[o]) : json_null();
}

static int prep(web_ctx_t *w, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(an_db_sql(w->db), sql, -1, st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database query failed");
		obs_log_fmt(&w->log, OBS_LOG_ERR, "api", "prepare: %s",
			    sqlite3_errmsg(an_db_sql(w->db)));
		return OBS_ESQL;
	}
	return OBS_EOK;
}

int wa_zone_name(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);
	if (n == 0 || n > 254 || outlen < 256)
		return OBS_ESYNTAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\' || c == '"' || c == '<' ||
		    c == '>')
			return OBS_ESYNTAX;
	}
	if (strstr(in, "..") != NULL || (in[0] == '.' && n > 1))
		return OBS_ESYNTAX;
	memcpy(out, in, n);
	if (in[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return n > 255 ? OBS_ESYNTAX : OBS_EOK;
}

bool wa_zone_known(web_ctx_t *w, const char *zone)
{
	sqlite3_stmt *st = NULL;
	char err[64];
	if (prep(w, "SELECT 1 FROM target WHERE zone = ?1 LIMIT 1", &st, err, sizeof(err)))
		return false;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return ok;
}

/* The zone's latest answered poll at or before at (0: none). */
static obs_usec_t last_seen(web_ctx_t *w, const char *zone, obs_usec_t at)
{
	sqlite3_stmt *st = NULL;
	char err[64];
	obs_usec_t t = 0;
	if (prep(w,
		 "SELECT MAX(MIN(r.last_seen, ?2)) FROM run r JOIN series s ON s.id = r.series_id "
		 "JOIN target t ON t.id = s.target_id WHERE t.zone = ?1 AND r.first_seen <= ?2",
		 &st, err, sizeof(err)))
		return 0;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return t;
}

/* ---- zone summaries ---------------------------------------------------------------- */

struct counts {
	int64_t glitches, glitches_open, findings, findings_open;
	int64_t sev_open[4];
};

static void count_glitch(void *arg, const og_glitch_t *g)
{
	struct counts *c = arg;
	if (g->excluded)
		return;
	c->glitches++;
	if (g->hi == INT64_MAX)
		c->glitches_open++;
}

static void count_finding(void *arg, const det_finding_t *f)
{
	struct counts *c = arg;
	c->findings++;
	if (f->hi == INT64_MAX) {
		c->findings_open++;
		c->sev_open[f->sev]++;
	}
}

static int zone_summary(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
			size_t errlen)
{
	sqlite3_stmt *st = NULL;
	json_t *providers = json_array(), *collectors = json_array();
	int64_t servers = 0, vantages = 0;
	obs_usec_t first = 0;
	int ret = prep(w,
		       "SELECT 1, t.origin, NULL, NULL FROM target t WHERE t.zone = ?1 AND "
		       "t.kind = 'provider' GROUP BY t.origin "
		       "UNION ALL SELECT 2, c.name, NULL, NULL FROM target t JOIN collector c ON "
		       "c.id = t.collector_id WHERE t.zone = ?1 GROUP BY c.name "
		       "UNION ALL SELECT 3, NULL, COUNT(DISTINCT CASE WHEN t.kind <> 'resolver' "
		       "THEN t.address END), COUNT(DISTINCT CASE WHEN t.kind = 'resolver' THEN "
		       "t.collector_id || '/' || t.origin END) FROM target t WHERE t.zone = ?1 "
		       "UNION ALL SELECT 4, NULL, MIN(t.first_seen), NULL FROM target t WHERE "
		       "t.zone = ?1 ORDER BY 1, 2",
		       &st, err, errlen);
	if (ret)
		goto fail;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		switch (sqlite3_column_int(st, 0)) {
		case 1:
			json_array_append_new(providers, jstr_col(st, 1));
			break;
		case 2:
			json_array_append_new(collectors, jstr_col(st, 1));
			break;
		case 3:
			servers = sqlite3_column_int64(st, 2);
			vantages = sqlite3_column_int64(st, 3);
			break;
		default:
			first = sqlite3_column_int64(st, 2);
		}
	}
	sqlite3_finalize(st);
	st = NULL;

	struct counts c = {0};
	if ((ret = og_run(w->db, zone, a->at, 0, count_glitch, NULL, &c)) ||
	    (ret = det_run(w->db, zone, a->at, NULL, w->sv, count_finding, &c))) {
		snprintf(err, errlen, "zone %s: analysis failed: %s", zone, obs_strerror(ret));
		goto fail;
	}
	json_t *status = NULL;
	char serr[256] = "";
	int sret = vd_status(w->db, w->sv, zone, a->at, NULL, &status, serr, sizeof(serr));
	json_t *sval = json_null(), *serr_j = json_null();
	if (sret == OBS_EOK && status && json_is_string(json_object_get(status, "status")))
		sval = json_incref(json_object_get(status, "status"));
	else
		serr_j = json_string(serr[0] ? serr : obs_strerror(sret));
	json_decref(status);
	obs_usec_t last = last_seen(w, zone, a->at);
	json_error_t je;
	*out = json_pack_ex(
	    &je, 0,
	    "{s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, "
	    "s:{s:I, s:I, s:I, s:I}}",
	    "zone", zone, "providers", providers, "collectors", collectors, "servers",
	    (json_int_t)servers, "vantages", (json_int_t)vantages, "first_seen",
	    first ? rj_time(first) : json_null(), "last_seen", last ? rj_time(last) : json_null(),
	    "data_age", last ? json_real((double)(a->at - last) / 1e6) : json_null(), "status",
	    sval, "status_error", serr_j, "glitches", (json_int_t)c.glitches, "glitches_open",
	    (json_int_t)c.glitches_open, "findings", (json_int_t)c.findings, "findings_open",
	    (json_int_t)c.findings_open, "findings_open_by_severity", "INFO",
	    (json_int_t)c.sev_open[0], "WARN", (json_int_t)c.sev_open[1], "ERROR",
	    (json_int_t)c.sev_open[2], "CRITICAL", (json_int_t)c.sev_open[3]);
	if (*out == NULL)
		snprintf(err, errlen, "zone %s: summary: %s", zone, je.text);
	return *out ? OBS_EOK : OBS_ENOMEM;
fail:
	sqlite3_finalize(st);
	json_decref(providers);
	json_decref(collectors);
	return ret;
}

static int doc_zones(web_ctx_t *w, const wa_args_t *a, json_t **out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	json_t *zones = json_array();
	int ret = prep(w, "SELECT DISTINCT zone FROM target ORDER BY zone", &st, err, errlen);
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		json_t *z = NULL;
		if ((ret = zone_summary(w, (const char *)sqlite3_column_text(st, 0), a, &z, err,
					errlen)) == OBS_EOK)
			json_array_append_new(zones, z);
	}
	sqlite3_finalize(st);
	if (ret) {
		json_decref(zones);
		return ret;
	}
	*out = json_pack("{s:o, s:o, s:I}", "at", rj_time(a->at), "zones", zones, "generation",
			 (json_int_t)w->generation);
	return *out ? OBS_EOK : OBS_ENOMEM;
}

static int doc_zone(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
		    size_t errlen)
{
	json_t *z = NULL;
	int ret = zone_summary(w, zone, a, &z, err, errlen);
	if (ret == OBS_EOK) {
		json_object_set_new(z, "at", rj_time(a->at));
		json_object_set_new(z, "generation", json_integer((json_int_t)w->generation));
		*out = z;
	}
	return ret;
}

/* ---- servers and vantages -------------------------------------------------------------- */

static int doc_servers(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
		       size_t errlen)
{
	obs_usec_t hi = last_seen(w, zone, a->at);
	if (hi == 0)
		hi = a->at;
	obs_usec_t lo = hi - a->window_s * OBS_USEC_PER_SEC;
	sqlite3_stmt *st = NULL;
	int ret = prep(
	    w,
	    "WITH st AS (SELECT s.target_id AS tid, COUNT(*) AS n, SUM(o.status = 0) AS ok, "
	    "SUM(o.status = 1) AS tmo, AVG(CASE WHEN o.status = 0 THEN o.rtt END) AS rtt, "
	    "MAX(o.t) AS last_t, MAX(CASE WHEN o.status = 0 THEN o.t END) AS last_ok, "
	    "SUM((s.flags & 2) = 0 AND s.role <> 'bogus' AND o.outcome = 1) AS sec, "
	    "SUM((s.flags & 2) = 0 AND s.role <> 'bogus' AND o.outcome = 2) AS ins, "
	    "SUM((s.flags & 2) = 0 AND s.role <> 'bogus' AND o.outcome = 3) AS bog, "
	    "SUM((s.flags & 2) = 0 AND s.role <> 'bogus' AND o.outcome = 4) AS lost "
	    "FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON "
	    "t.id = s.target_id WHERE t.zone = ?1 AND o.t > ?2 AND o.t <= ?3 GROUP BY s.target_id) "
	    "SELECT t.kind, t.origin, t.host, t.address, t.pinned, c.name, t.first_seen, "
	    "IFNULL(st.n, 0), IFNULL(st.ok, 0), IFNULL(st.tmo, 0), st.rtt, st.last_t, st.last_ok, "
	    "IFNULL(st.sec, 0), IFNULL(st.ins, 0), IFNULL(st.bog, 0), IFNULL(st.lost, 0) "
	    "FROM target t JOIN collector c ON c.id = t.collector_id LEFT JOIN st ON st.tid = t.id "
	    "WHERE t.zone = ?1 ORDER BY t.kind, t.origin, t.address, c.name",
	    &st, err, errlen);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	json_t *servers = json_array(), *vantages = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		json_t *rtt = sqlite3_column_type(st, 10) == SQLITE_NULL
				  ? json_null()
				  : json_real(sqlite3_column_double(st, 10) / 1000.0);
		json_t *e = json_pack(
		    "{s:s, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:o, s:o, s:o}}", "kind",
		    kind, "host", jstr_col(st, 2), "address", jstr_col(st, 3), "collector",
		    jstr_col(st, 5), "first_seen", jtime_col(st, 6), "pinned", jstr_col(st, 4),
		    "window", "polls", (json_int_t)sqlite3_column_int64(st, 7), "answered",
		    (json_int_t)sqlite3_column_int64(st, 8), "timeouts",
		    (json_int_t)sqlite3_column_int64(st, 9), "rtt_ms_avg", rtt, "last_poll",
		    jtime_col(st, 11), "last_answer", jtime_col(st, 12));
		if (e == NULL)
			continue;
		if (strcmp(kind, "resolver") == 0) {
			json_t *win = json_object_get(e, "window");
			json_object_set_new(win, "secure", jint_col(st, 13));
			json_object_set_new(win, "insecure", jint_col(st, 14));
			json_object_set_new(win, "bogus", jint_col(st, 15));
			json_object_set_new(win, "lost", jint_col(st, 16));
			char v[300];
			snprintf(v, sizeof(v), "%s/%s", sqlite3_column_text(st, 5),
				 sqlite3_column_text(st, 1));
			json_object_set_new(e, "vantage", json_string(v));
			json_object_set_new(e, "resolver", jstr_col(st, 1));
			json_array_append_new(vantages, e);
		} else {
			json_object_set_new(e, "provider", jstr_col(st, 1));
			json_object_del(e, "pinned");
			json_array_append_new(servers, e);
		}
	}
	sqlite3_finalize(st);
	*out = json_pack("{s:s, s:o, s:{s:o, s:o}, s:o, s:o}", "zone", zone, "at", rj_time(a->at),
			 "window", "lo", rj_time(lo), "hi", rj_time(hi), "servers", servers,
			 "vantages", vantages);
	return *out ? OBS_EOK : OBS_ENOMEM;
}

/* ---- versions timeline ----------------------------------------------------------------- */

/* A wire-format domain name as presentation text, every byte outside [A-Za-z0-9-_*]
 * escaped (\DDD, or \. for a dot inside a label). */
static void dname_text(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	out[0] = '\0';
	while (i < len && o + 6 < outlen) {
		size_t l = p[i++];
		if (l == 0)
			break;
		if (l > 63 || i + l > len) {
			snprintf(out + o, outlen - o, "?");
			return;
		}
		for (size_t k = 0; k < l && o + 6 < outlen; k++) {
			unsigned char c = p[i + k];
			if (isalnum(c) || c == '-' || c == '_' || c == '*')
				out[o++] = (char)c;
			else if (c == '.' || c == '\\')
				o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
			else
				o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
		}
		i += l;
		out[o++] = '.';
	}
	if (o == 0 && o + 2 < outlen)
		out[o++] = '.';
	out[o < outlen ? o : outlen - 1] = '\0';
}

static const char *kind_name(int k)
{
	switch (k) {
	case VK_ANSWER:
		return "answer";
	case VK_REFERRAL:
		return "referral";
	case VK_NXDOMAIN:
		return "nxdomain";
	case VK_NODATA:
		return "nodata";
	default:
		return "unknown";
	}
}

static json_t *version_doc(const vers_t *v)
{
	json_t *items = json_array(), *signers = json_array();
	size_t pos = 0, len;
	const uint8_t *it;
	if (v->kind == VK_ANSWER || v->kind == VK_REFERRAL) {
		while (vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
			char buf[1100];
			buf[0] = '\0';
			if (v->type == 48 || v->type == 60) { /* DNSKEY, CDNSKEY */
				key_info_t k;
				if (keys_parse(it, len, &k) == OBS_EOK)
					snprintf(buf, sizeof(buf), "%u/%u %s%s", k.alg, k.tag,
						 (k.flags & KEY_F_SEP) ? "KSK" : "ZSK",
						 (k.flags & KEY_F_REVOKE) ? " REVOKED" : "");
			} else if (v->type == 43 || v->type == 59) { /* DS, CDS */
				ds_info_t d;
				if (keys_ds_parse(it, len, &d) == OBS_EOK)
					snprintf(buf, sizeof(buf), "%u/%u digest %u", d.alg, d.tag,
						 d.dtype);
			} else if (v->type == 2) { /* NS */
				dname_text(it, len, buf, sizeof(buf));
			} else {
				snprintf(buf, sizeof(buf), "%zu bytes", len);
			}
			if (buf[0])
				json_array_append_new(items, json_string(buf));
		}
		pos = 0;
		while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
			const uint8_t *rd;
			size_t rdlen;
			sig_info_t si;
			char buf[32];
			if (sigv_rdata(v, it, len, &rd, &rdlen) == OBS_EOK &&
			    sigv_info(rd, rdlen, &si) == OBS_EOK) {
				snprintf(buf, sizeof(buf), "%u/%u", si.alg, si.tag);
				json_array_append_new(signers, json_string(buf));
			}
		}
	}
	return json_pack(
	    "{s:I, s:s, s:i, s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)v->id, "kind",
	    kind_name(v->kind), "type", (int)v->type, "owner", v->owner, "rr_count",
	    (json_int_t)vers_count(v->rdata, v->rdata_len), "sig_count",
	    (json_int_t)vers_count(v->rrsig, v->rrsig_len), "items", items, "signers", signers,
	    "ttl_max", v->ttl_max_s >= 0 ? json_integer(v->ttl_max_s) : json_null(), "ttl_min",
	    v->ttl_min_s >= 0 ? json_integer(v->ttl_min_s) : json_null());
}

/* Targets of the zone as timeline entries, keyed by target id. */
static int timeline_targets(web_ctx_t *w, const char *zone, json_t *map, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = prep(w,
		       "SELECT t.id, t.kind, t.origin, t.host, t.address, c.name FROM target t "
		       "JOIN collector c ON c.id = t.collector_id WHERE t.zone = ?1",
		       &st, err, errlen);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		json_t *e = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "kind", kind, "name",
				      jstr_col(st, 2), "host", jstr_col(st, 3), "address",
				      jstr_col(st, 4), "collector", jstr_col(st, 5), "rows",
				      json_array(), "outcomes", json_array());
		if (e && strcmp(kind, "resolver") != 0)
			json_object_del(e, "outcomes");
		if (e)
			json_object_set_new(map, key, e);
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

static int timeline_runs(web_ctx_t *w, const char *zone, obs_usec_t lo, obs_usec_t hi, json_t *map,
			 json_t *versions, bool *truncated, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = prep(
	    w,
	    "SELECT s.target_id, s.id, s.role, s.qtype, s.flags, s.qname, r.version_id, "
	    "r.first_seen, r.last_seen, r.prev_poll, r.next_poll, r.count, r.ttl_max_s "
	    "FROM run r JOIN series s ON s.id = r.series_id JOIN target t ON t.id = s.target_id "
	    "WHERE t.zone = ?1 AND r.first_seen <= ?3 AND COALESCE(r.next_poll, r.last_seen) >= ?2 "
	    "AND s.role IN ('dnskey', 'ds', 'ns', 'referral', 'cds', 'cdnskey') AND "
	    "(t.kind <> 'resolver' OR (s.flags & 2) <> 0) "
	    "ORDER BY s.target_id, s.role, s.id, r.first_seen LIMIT ?4",
	    &st, err, errlen);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, WA_RUNS_MAX + 1);
	int64_t cur_series = -1, n = 0;
	json_t *runs = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (++n > WA_RUNS_MAX) {
			*truncated = true;
			break;
		}
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *t = json_object_get(map, key);
		if (t == NULL)
			continue;
		int64_t sid = sqlite3_column_int64(st, 1);
		if (sid != cur_series) {
			cur_series = sid;
			runs = json_array();
			json_array_append_new(
			    json_object_get(t, "rows"),
			    json_pack("{s:o, s:o, s:o, s:b, s:o}", "role", jstr_col(st, 2), "qtype",
				      jint_col(st, 3), "qname", jstr_col(st, 5), "cd",
				      (sqlite3_column_int64(st, 4) & 2) != 0, "runs", runs));
		}
		int64_t vid = sqlite3_column_int64(st, 6);
		json_array_append_new(
		    runs, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "version",
				    vid ? json_integer(vid) : json_null(), "first_seen",
				    jtime_col(st, 7), "last_seen", jtime_col(st, 8), "lo",
				    jtime_col(st, 9), "hi", jtime_col(st, 10), "count",
				    jint_col(st, 11), "ttl", jint_col(st, 12)));
		if (vid) {
			char vk[24];
			snprintf(vk, sizeof(vk), "%lld", (long long)vid);
			if (json_object_get(versions, vk) == NULL)
				json_object_set_new(versions, vk, json_null());
		}
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

/* Outcome segments per resolver vantage and question (CD=0, not the known-bad canary). */
static int timeline_outcomes(web_ctx_t *w, const char *zone, obs_usec_t lo, obs_usec_t hi,
			     json_t *map, bool *truncated, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = prep(w,
		       "SELECT s.target_id, s.id, s.role, s.qname, s.qtype, o.t, o.outcome "
		       "FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON "
		       "t.id = s.target_id WHERE t.zone = ?1 AND t.kind = 'resolver' AND "
		       "(s.flags & 2) = 0 AND s.role <> 'bogus' AND o.t >= ?2 AND o.t <= ?3 "
		       "ORDER BY s.target_id, s.id, o.t LIMIT ?4",
		       &st, err, errlen);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, WA_OUTCOME_SCAN + 1);
	int64_t cur = -1, n = 0, seg_out = -2;
	json_t *seg = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (++n > WA_OUTCOME_SCAN) {
			*truncated = true;
			break;
		}
		int64_t sid = sqlite3_column_int64(st, 1);
		int64_t oc =
		    sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
		obs_usec_t t = sqlite3_column_int64(st, 5);
		if (sid == cur && oc == seg_out) {
			json_object_set_new(seg, "last", rj_time(t));
			continue;
		}
		if (seg && sid == cur)
			json_object_set_new(seg, "hi", rj_time(t));
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *tg = json_object_get(map, key);
		cur = sid;
		seg_out = oc;
		seg = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:n}", "role", jstr_col(st, 2),
				"qname", jstr_col(st, 3), "qtype", jint_col(st, 4), "outcome",
				oc >= 1 && oc <= 4 ? json_string(OUTCOME_NAMES[oc]) : json_null(),
				"lo", rj_time(t), "last", rj_time(t), "hi");
		if (tg && seg)
			json_array_append_new(json_object_get(tg, "outcomes"), seg);
		else {
			json_decref(seg);
			seg = NULL;
		}
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

static int doc_timeline(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
			size_t errlen)
{
	obs_usec_t hi = a->to ? a->to : (a->at_given ? a->at : last_seen(w, zone, a->at));
	if (hi == 0)
		hi = a->at;
	obs_usec_t lo = a->from ? a->from : hi - a->span_s * OBS_USEC_PER_SEC;
	if (lo >= hi) {
		snprintf(err, errlen, "from must be before to");
		return OBS_ESYNTAX;
	}
	json_t *map = json_object(), *versions = json_object();
	bool truncated = false;
	vers_cache_t *vc = NULL;
	int ret;
	if ((ret = timeline_targets(w, zone, map, err, errlen)) ||
	    (ret = timeline_runs(w, zone, lo, hi, map, versions, &truncated, err, errlen)) ||
	    (ret = timeline_outcomes(w, zone, lo, hi, map, &truncated, err, errlen)) ||
	    (ret = vers_cache_new(w->db, &vc)))
		goto fail;
	const char *vk;
	json_t *vv;
	json_object_foreach(versions, vk, vv)
	{
		const vers_t *v = vers_get(vc, strtoll(vk, NULL, 10));
		if (v)
			json_object_set_new(versions, vk, version_doc(v));
	}
	json_t *servers = json_array(), *vantages = json_array();
	const char *tk;
	json_t *tv;
	json_object_foreach(map, tk, tv)
	{
		const char *kind = json_string_value(json_object_get(tv, "kind"));
		if (kind && strcmp(kind, "resolver") == 0)
			json_array_append(vantages, tv);
		else
			json_array_append(servers, tv);
	}
	*out = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "zone", zone, "at",
			 rj_time(a->at), "lo", rj_time(lo), "hi", rj_time(hi), "versions", versions,
			 "servers", servers, "vantages", vantages, "truncated", truncated);
	versions = NULL;
	ret = *out ? OBS_EOK : OBS_ENOMEM;
fail:
	vers_cache_free(vc);
	json_decref(map);
	json_decref(versions);
	return ret;
}

/* ---- observations (paged by id) -------------------------------------------------------- */

/* The polls are chunks of one series each (analyzer/ochunk.h), so "the next page by id" over
 * every series of a zone cannot stop early: it reads ids in windows (after, after + win],
 * growing, until the page is full or the ids run out; each window reads only the chunks whose
 * ids reach into it. */
static int doc_observations(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out,
			    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t max_id = 0;
	if (an_db_int(w->db, "SELECT coalesce(max(id_last), 0) FROM obs_chunk", &max_id)) {
		snprintf(err, errlen, "database query failed");
		return OBS_ESQL;
	}
	int ret = prep(
	    w,
	    "SELECT o.id, o.t, c.name, t.kind, t.origin, t.host, t.address, s.qname, s.qtype, "
	    "s.flags, s.role, o.attempt, o.transport, o.status, o.rtt, o.rcode, o.flags, o.ede, "
	    "o.outcome, o.version_id, o.ttl_s FROM observation o JOIN series s ON "
	    "s.id = o.series_id JOIN target t ON t.id = s.target_id JOIN collector c ON "
	    "c.id = o.collector_id WHERE t.zone = ?1 AND o.id > ?2 AND o.id <= ?6 AND (?3 IS NULL "
	    "OR s.role = ?3) AND o.t <= ?4 ORDER BY o.id LIMIT ?5",
	    &st, err, errlen);
	if (ret)
		return ret;
	json_t *arr = json_array();
	int64_t n = 0, last = 0, lo = a->after, win = 4096;
	bool more = false;
	while (!more && lo < max_id) {
		int64_t hi = lo > max_id - win ? max_id : lo + win;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, lo);
		if (a->role)
			sqlite3_bind_text(st, 3, a->role, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, a->at);
		sqlite3_bind_int64(st, 5, a->limit + 1 - n);
		sqlite3_bind_int64(st, 6, hi);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (++n > a->limit) {
				more = true;
				break;
			}
			last = sqlite3_column_int64(st, 0);
			int64_t sflags = sqlite3_column_int64(st, 9);
			json_array_append_new(
			    arr,
			    json_pack(
				"{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:b, s:b, "
				"s:b}, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				"id", (json_int_t)last, "t", jtime_col(st, 1), "collector",
				jstr_col(st, 2), "kind", jstr_col(st, 3), "origin", jstr_col(st, 4),
				"host", jstr_col(st, 5), "address", jstr_col(st, 6), "qname",
				jstr_col(st, 7), "qtype", jint_col(st, 8), "role", jstr_col(st, 10),
				"query", "rd", (sflags & 1) != 0, "cd", (sflags & 2) != 0, "do",
				(sflags & 4) != 0, "attempt", jint_col(st, 11), "transport",
				sqlite3_column_int(st, 12) ? "tcp" : "udp", "status",
				status_name(sqlite3_column_int64(st, 13)), "rtt_ms",
				sqlite3_column_type(st, 14) == SQLITE_NULL
				    ? json_null()
				    : json_real(sqlite3_column_double(st, 14) / 1000.0),
				"rcode", jint_col(st, 15), "flags", jint_col(st, 16), "ede",
				jstr_col(st, 17), "outcome", joutcome(st, 18), "version",
				jint_col(st, 19), "ttl", jint_col(st, 20)));
		}
		lo = hi;
		win = win > INT64_MAX / 4 ? INT64_MAX : win * 4;
	}
	sqlite3_finalize(st);
	*out =
	    json_pack("{s:s, s:o, s:I, s:I, s:o, s:o}", "zone", zone, "at", rj_time(a->at), "after",
		      (json_int_t)a->after, "limit", (json_int_t)a->limit, "observations", arr,
		      "next_after", more ? json_integer(last) : json_null());
	return *out ? OBS_EOK : OBS_ENOMEM;
}

/* ---- analyzer documents ----------------------------------------------------------------- */

static void add_glitch(void *arg, const og_glitch_t *g)
{
	rj_add_glitch(arg, g);
}

static void add_vantage(void *arg, const og_vantage_t *v)
{
	rj_add_vantage(arg, v);
}

static void add_finding(void *arg, const det_finding_t *f)
{
	rj_add_finding(arg, f);
}

static int doc_glitches(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
			size_t errlen)
{
	json_t *doc = rj_document(zone, a->at, "glitches");
	if (doc == NULL)
		return OBS_ENOMEM;
	int ret = og_run(w->db, zone, a->at, 0, add_glitch, add_vantage, doc);
	if (ret) {
		snprintf(err, errlen, "zone %s: observed glitches failed: %s", zone,
			 obs_strerror(ret));
		json_decref(doc);
		return ret;
	}
	json_object_set_new(doc, "kind", json_string("observed"));
	*out = doc;
	return OBS_EOK;
}

static int doc_findings(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
			size_t errlen)
{
	json_t *doc = rj_document(zone, a->at, "findings");
	if (doc == NULL)
		return OBS_ENOMEM;
	int ret = det_run(w->db, zone, a->at, NULL, w->sv, add_finding, doc);
	if (ret) {
		snprintf(err, errlen, "zone %s: findings failed: %s", zone, obs_strerror(ret));
		json_decref(doc);
		return ret;
	}
	*out = doc;
	return OBS_EOK;
}

static int doc_status(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
		      size_t errlen)
{
	return vd_status(w->db, w->sv, zone, a->at, NULL, out, err, errlen);
}

static int doc_predicted(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out,
			 char *err, size_t errlen)
{
	return vd_predicted(w->db, w->sv, zone, a->at, out, err, errlen);
}

static int doc_audit(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out, char *err,
		     size_t errlen)
{
	return au_audit(w->db, w->sv, zone, a->at, 0, out, err, errlen);
}

static int doc_transitions(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out,
			   char *err, size_t errlen)
{
	trans_set_t *ts = NULL;
	int ret = trans_run(w->db, zone, a->at, NULL, &ts);
	if (ret) {
		snprintf(err, errlen, "zone %s: transitions failed: %s", zone, obs_strerror(ret));
		return ret;
	}
	*out = rep_transitions_doc(ts, ISET_NEG_INF, ISET_INF);
	trans_free(ts);
	return *out ? OBS_EOK : OBS_ENOMEM;
}

static int doc_index(json_t **out)
{
	*out =
	    json_pack("{s:s, s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s]}", "api", "v1", "endpoints",
		      "GET /api/v1/zones", "GET /api/v1/zones/{zone}",
		      "GET /api/v1/zones/{zone}/status", "GET /api/v1/zones/{zone}/servers",
		      "GET /api/v1/zones/{zone}/timeline", "GET /api/v1/zones/{zone}/observations",
		      "GET /api/v1/zones/{zone}/glitches", "GET /api/v1/zones/{zone}/findings",
		      "GET /api/v1/zones/{zone}/predicted", "GET /api/v1/zones/{zone}/transitions",
		      "GET /api/v1/zones/{zone}/audit", "POST /api/v1/zones/{zone}/whatif",
		      "GET /api/v1/zones/{zone}/graphs/{resolution,validation,latency,answers}.png",
		      "GET /metrics");
	return *out ? OBS_EOK : OBS_ENOMEM;
}

/* ---- request handling ------------------------------------------------------------------- */

static bool int_param(wh_req_t *r, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const char *s = wh_query(r, key);
	if (s == NULL)
		return true;
	char *e = NULL;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (s[0] == '\0' || *e != '\0' || errno || v < lo || v > hi) {
		wh_error(r, 400, "parameter %s: an integer in [%lld, %lld] expected", key,
			 (long long)lo, (long long)hi);
		return false;
	}
	*out = v;
	return true;
}

static bool time_param(wh_req_t *r, const char *key, obs_usec_t now, obs_usec_t *out, bool *given)
{
	const char *s = wh_query(r, key);
	if (s == NULL)
		return true;
	if (obs_time_parse(s, now, out) != OBS_EOK) {
		wh_error(r, 400, "parameter %s: RFC 3339 time or +/-SECONDS expected", key);
		return false;
	}
	if (given)
		*given = true;
	return true;
}

static bool parse_args(wh_req_t *r, wa_args_t *a)
{
	static const char *const roles[] = {"dnskey", "ds",  "ns",      "referral",
					    "soa",    "cds", "cdnskey", "csync",
					    "canary", "nx",  "bogus",   "addr"};
	a->now = a->at = obs_clock_now(&r->w->clock);
	a->span_s = WA_SPAN_DEFAULT;
	a->window_s = WA_WINDOW_DEFAULT;
	a->limit = WA_PAGE_DEFAULT;
	if (!time_param(r, "at", a->now, &a->at, &a->at_given) ||
	    !time_param(r, "from", a->now, &a->from, NULL) ||
	    !time_param(r, "to", a->now, &a->to, NULL) ||
	    !int_param(r, "span", 10, 7 * 86400, &a->span_s) ||
	    !int_param(r, "window", 10, 86400, &a->window_s) ||
	    !int_param(r, "after", 0, INT64_MAX, &a->after) ||
	    !int_param(r, "limit", 1, WA_PAGE_MAX, &a->limit))
		return false;
	a->role = wh_query(r, "role");
	if (a->role) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
			ok |= strcmp(a->role, roles[i]) == 0;
		if (!ok) {
			wh_error(r, 400, "parameter role: unknown role");
			return false;
		}
	}
	return true;
}

typedef int (*zone_doc_fn)(web_ctx_t *w, const char *zone, const wa_args_t *a, json_t **out,
			   char *err, size_t errlen);

static void reply_doc(wh_req_t *r, int ret, json_t *doc, const char *err)
{
	if (ret == OBS_EOK)
		wh_json(r, 200, doc);
	else
		wh_error(r, wh_status_of(ret), "%s", err[0] ? err : obs_strerror(ret));
}

/* Reply with a GET document from the cache (cache.h: same data generation, at most
 * WC_MAX_AGE old), or build it, cache it and reply. zone NULL: the zones list. Status
 * documents count in the verdict metrics whether built or served from the cache. */
static void serve_doc(wh_req_t *r, const char *zone, zone_doc_fn fn, const wa_args_t *a)
{
	web_ctx_t *w = r->w;
	const char *key = evhttp_request_get_uri(r->req);
	struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
	bool status = fn == doc_status;
	size_t len = 0;
	obs_usec_t built = 0;
	const char *tag = NULL;
	const char *body = wc_get(w->cache, key, w->generation, a->now, &len, &built, &tag);
	if (body) {
		char age[24];
		snprintf(age, sizeof(age), "%lld",
			 (long long)((a->now - built) / OBS_USEC_PER_SEC));
		evhttp_add_header(oh, "Age", age);
		evhttp_add_header(oh, "X-Obs-Cache", "hit");
		if (status)
			wm_count_verdict(w->metrics, "status", tag);
		wh_send(r, 200, "application/json", body, len);
		return;
	}
	char err[512] = "";
	json_t *doc = NULL;
	int ret =
	    zone ? fn(w, zone, a, &doc, err, sizeof(err)) : doc_zones(w, a, &doc, err, sizeof(err));
	const char *word =
	    ret == OBS_EOK && status ? json_string_value(json_object_get(doc, "status")) : NULL;
	if (status)
		wm_count_verdict(w->metrics, "status", ret == OBS_EOK ? word : "error");
	if (ret != OBS_EOK) {
		reply_doc(r, ret, doc, err);
		return;
	}
	char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL) {
		json_decref(doc);
		wh_error(r, 500, "out of memory");
		return;
	}
	wc_put(w->cache, key, w->generation, a->now, s, strlen(s), word);
	json_decref(doc);
	evhttp_add_header(oh, "X-Obs-Cache", "miss");
	wh_send(r, 200, "application/json", s, strlen(s));
	free(s);
}

#define WA_STEP_TEXT_MAX 2048 /* bytes of a step in CLI syntax ("step" of a whatif request) */
#define WA_STEP_ARGS_MAX 128  /* words in it */

/* A whatif request may give its steps in the CLI syntax of DESIGN.md §10 ("step": "sign-with
 * a 13/1607 + dnskey-del b 13/15951", as an operator types it on the dashboard) instead of
 * "steps": they are parsed by the analyzer's own CLI parser into "steps". Returns false after
 * replying with an error. */
static bool steps_from_text(wh_req_t *r, json_t *req, const char *zone)
{
	json_t *jt = json_object_get(req, "step");
	if (jt == NULL)
		return true;
	if (json_object_get(req, "steps") != NULL) {
		wh_error(r, 400, "give either \"step\" or \"steps\", not both");
		return false;
	}
	const char *text = json_string_value(jt);
	size_t n = text ? strlen(text) : 0;
	if (text == NULL || n == 0 || n > WA_STEP_TEXT_MAX) {
		wh_error(r, 400, "field step: the step as text (1 to %d bytes) expected",
			 WA_STEP_TEXT_MAX);
		return false;
	}
	char buf[WA_STEP_TEXT_MAX + 1], *argv[WA_STEP_ARGS_MAX];
	int argc = 0;
	memcpy(buf, text, n + 1);
	for (char *p = buf; *p;) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			*p++ = '\0';
			continue;
		}
		if (c < 0x20 || c >= 0x7f) {
			wh_error(r, 400, "field step: printable ASCII expected");
			return false;
		}
		if (argc == WA_STEP_ARGS_MAX) {
			wh_error(r, 400, "field step: more than %d words", WA_STEP_ARGS_MAX);
			return false;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
	}
	if (argc == 0) {
		wh_error(r, 400, "field step: empty");
		return false;
	}
	char err[512] = "";
	json_t *parsed = NULL;
	if (vd_steps_from_argv(argc, argv, zone, 0, &parsed, err, sizeof(err)) != OBS_EOK) {
		wh_error(r, 400, "field step: %s", err[0] ? err : "not a step");
		return false;
	}
	json_object_set(req, "steps", json_object_get(parsed, "steps"));
	json_object_del(req, "step");
	json_decref(parsed);
	return true;
}

static void handle_whatif(wh_req_t *r, const char *zone)
{
	web_ctx_t *w = r->w;
	if (!wh_authorized(r))
		return;
	const char *ct =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		wh_error(r, 415, "Content-Type must be application/json");
		return;
	}
	char *body = NULL;
	size_t len = 0;
	if (wh_body(r, &body, &len) != OBS_EOK)
		return;
	json_error_t je;
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	free(body);
	if (req == NULL) {
		wh_error(r, 400, "malformed JSON: %s (line %d, column %d)", je.text, je.line,
			 je.column);
		return;
	}
	if (!json_is_object(req)) {
		json_decref(req);
		wh_error(r, 400, "the request must be a JSON object");
		return;
	}
	json_t *jz = json_object_get(req, "zone");
	char rz[256];
	if (jz == NULL) {
		json_object_set_new(req, "zone", json_string(zone));
	} else if (!json_is_string(jz) || wa_zone_name(json_string_value(jz), rz, sizeof(rz)) ||
		   strcmp(rz, zone) != 0) {
		json_decref(req);
		wh_error(r, 400, "field zone does not name the zone of the URL");
		return;
	}
	if (!steps_from_text(r, req, zone)) {
		json_decref(req);
		return;
	}
	char err[512] = "";
	json_t *out = NULL;
	int ret =
	    vd_whatif(w->db, w->sv, req, obs_clock_now(&w->clock), NULL, &out, err, sizeof(err));
	json_decref(req);
	if (ret == OBS_EOK && out)
		wm_count_verdict(w->metrics, "whatif",
				 json_string_value(json_object_get(out, "verdict")));
	else
		wm_count_verdict(w->metrics, "whatif", "error");
	reply_doc(r, ret, out, err);
}

static void handle_zone(wh_req_t *r, const wa_args_t *a)
{
	web_ctx_t *w = r->w;
	char zone[256];
	if (wa_zone_name(r->seg[3], zone, sizeof(zone)) != OBS_EOK) {
		wh_error(r, 400, "not a valid zone name");
		return;
	}
	if (!wa_zone_known(w, zone)) {
		wh_error(r, 404, "zone %s: not in the analysis database", zone);
		return;
	}
	const char *what = r->seg_n > 4 ? r->seg[4] : "";
	bool get = r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD;
	if (strcmp(what, "whatif") == 0 && r->seg_n == 5) {
		if (r->method != EVHTTP_REQ_POST)
			wh_error(r, 405, "method not allowed: POST expected");
		else
			handle_whatif(r, zone);
		return;
	}
	if (strcmp(what, "graphs") == 0 && r->seg_n == 6) {
		if (!get) {
			wh_error(r, 405, "method not allowed");
			return;
		}
		int64_t range = 900;
		if (!int_param(r, "range", 60, 30 * 86400, &range))
			return;
		if (w->graphs == NULL) {
			wh_error(r, 404, "graphs are off (no --state-dir)");
			return;
		}
		char err[256] = "";
		void *png = NULL;
		size_t len = 0;
		int ret = wg_png(w->graphs, zone, r->seg[5], range, &png, &len, err, sizeof(err));
		if (ret == OBS_EOK)
			wh_send(r, 200, "image/png", png, len);
		else
			wh_error(r, wh_status_of(ret), "%s", err[0] ? err : obs_strerror(ret));
		free(png);
		return;
	}
	static const struct {
		const char *name;
		zone_doc_fn fn;
	} docs[] = {{"", doc_zone},
		    {"status", doc_status},
		    {"servers", doc_servers},
		    {"timeline", doc_timeline},
		    {"observations", doc_observations},
		    {"glitches", doc_glitches},
		    {"findings", doc_findings},
		    {"predicted", doc_predicted},
		    {"transitions", doc_transitions},
		    {"audit", doc_audit}};
	for (size_t i = 0; r->seg_n <= 5 && i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (strcmp(what, docs[i].name) != 0)
			continue;
		if (!get) {
			wh_error(r, 405, "method not allowed");
			return;
		}
		serve_doc(r, zone, docs[i].fn, a);
		return;
	}
	wh_error(r, 404, "no such endpoint");
}

void wa_handle(wh_req_t *r)
{
	wa_args_t a = {0};
	if (!parse_args(r, &a))
		return;
	bool get = r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD;
	if (r->seg_n == 2) {
		json_t *doc = NULL;
		if (!get)
			wh_error(r, 405, "method not allowed");
		else if (doc_index(&doc) == OBS_EOK)
			wh_json(r, 200, doc);
		else
			wh_error(r, 500, "out of memory");
		return;
	}
	if (strcmp(r->seg[2], "zones") != 0) {
		wh_error(r, 404, "no such endpoint");
		return;
	}
	if (r->seg_n == 3) {
		if (!get) {
			wh_error(r, 405, "method not allowed");
			return;
		}
		serve_doc(r, NULL, NULL, &a);
		return;
	}
	handle_zone(r, &a);
}

int wa_check_all(web_ctx_t *w, FILE *out)
{
	wa_args_t a = {
	    .span_s = WA_SPAN_DEFAULT, .window_s = WA_WINDOW_DEFAULT, .limit = WA_PAGE_DEFAULT};
	a.now = a.at = obs_clock_now(&w->clock);
	char err[512] = "";
	json_t *zones = NULL;
	int ret = doc_zones(w, &a, &zones, err, sizeof(err));
	if (ret) {
		fprintf(out, "zones: %s\n", err[0] ? err : obs_strerror(ret));
		return ret;
	}
	static const struct {
		const char *name;
		zone_doc_fn fn;
		bool ours;
	} docs[] = {{"zone", doc_zone, true},
		    {"servers", doc_servers, true},
		    {"timeline", doc_timeline, true},
		    {"observations", doc_observations, true},
		    {"glitches", doc_glitches, true},
		    {"findings", doc_findings, true},
		    {"status", doc_status, false},
		    {"predicted", doc_predicted, false},
		    {"transitions", doc_transitions, false},
		    {"audit", doc_audit, false}};
	size_t i;
	json_t *z;
	json_array_foreach(json_object_get(zones, "zones"), i, z)
	{
		const char *zone = json_string_value(json_object_get(z, "zone"));
		for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++) {
			json_t *doc = NULL;
			err[0] = '\0';
			int r = docs[k].fn(w, zone, &a, &doc, err, sizeof(err));
			char *s = r == OBS_EOK ? json_dumps(doc, JSON_COMPACT) : NULL;
			fprintf(out, "%s %s: %s", zone, docs[k].name,
				r == OBS_EOK ? "ok" : (err[0] ? err : obs_strerror(r)));
			if (s)
				fprintf(out, " (%zu bytes)", strlen(s));
			fprintf(out, "\n");
			free(s);
			json_decref(doc);
			if (r != OBS_EOK && docs[k].ours && ret == OBS_EOK)
				ret = r;
		}
		for (size_t g = 0; w->graphs && g < wg_names_n; g++) {
			void *png = NULL;
			size_t len = 0;
			err[0] = '\0';
			char name[32];
			snprintf(name, sizeof(name), "%s.png", wg_names[g]);
			int r = wg_png(w->graphs, zone, name, 900, &png, &len, err, sizeof(err));
			fprintf(out, "%s graph %s: %s (%zu bytes)\n", zone, wg_names[g],
				r == OBS_EOK ? "ok" : err, len);
			free(png);
			if (r != OBS_EOK && ret == OBS_EOK)
				ret = r;
		}
	}
	json_decref(zones);
	return ret;
}
