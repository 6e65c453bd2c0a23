/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "obs_err.h"
#include "report_json.h"
#include "timefmt.h"

json_t *rj_time(obs_usec_t t)
{
	if (t == INT64_MAX || t == INT64_MIN)
		return json_null();
	char buf[OBS_TIME_STRLEN];
	return json_string(obs_time_format(t, buf, sizeof(buf)));
}

static json_t *jdur(obs_usec_t lo, obs_usec_t hi)
{
	if (hi == INT64_MAX || lo == INT64_MIN)
		return json_null();
	return json_real((double)(hi - lo) / 1e6);
}

json_t *rj_document(const char *zone, obs_usec_t at, const char *array_key)
{
	json_t *d = json_object();
	if (d == NULL)
		return NULL;
	if (json_object_set_new(d, "zone", json_string(zone)) ||
	    json_object_set_new(d, "at", rj_time(at)) ||
	    json_object_set_new(d, array_key, json_array())) {
		json_decref(d);
		return NULL;
	}
	return d;
}

static json_t *ids(const int64_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *opt_str(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

int rj_add_finding(json_t *doc, const det_finding_t *f)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:{s:o, s:o}}", "id", f->id,
	    "severity", det_sev_names[f->sev], "zone", f->zone, "provider", opt_str(f->provider),
	    "server", opt_str(f->server), "vantage", opt_str(f->vantage), "lo", rj_time(f->lo),
	    "hi", rj_time(f->hi), "duration", jdur(f->lo, f->hi), "message", f->msg, "evidence",
	    "versions", ids(f->versions, f->versions_n), "observations", ids(f->obs, f->obs_n));
	if (o == NULL)
		return OBS_ENOMEM;
	return json_array_append_new(json_object_get(doc, "findings"), o) ? OBS_ENOMEM : OBS_EOK;
}

int rj_add_glitch(json_t *doc, const og_glitch_t *g)
{
	json_t *cached = json_array();
	for (size_t i = 0; cached && i < g->cached_n; i++)
		json_array_append_new(cached,
				      json_pack("{s:I, s:s, s:I, s:I}", "version",
						(json_int_t)g->cached[i].version_id, "role",
						g->cached[i].role, "ttl_remaining",
						(json_int_t)g->cached[i].ttl_s, "observation",
						(json_int_t)g->cached[i].first_obs));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:b, s:o, "
	    "s:{s:I, s:I}}",
	    "vantage", g->vantage, "resolver", g->resolver, "address", g->address, "kind", g->kind,
	    "qname", g->qname, "qtype", (int)g->qtype, "role", g->role, "lo", rj_time(g->lo),
	    "first_bad", rj_time(g->first_bad), "last_bad", rj_time(g->last_bad), "hi",
	    rj_time(g->hi), "duration", jdur(g->first_bad, g->hi), "polls", (json_int_t)g->polls,
	    "excluded", g->excluded, "validating", g->validating, "cached",
	    cached ? cached : json_null(), "evidence", "first_observation",
	    (json_int_t)g->first_obs, "last_observation", (json_int_t)g->last_obs);
	if (o == NULL)
		return OBS_ENOMEM;
	return json_array_append_new(json_object_get(doc, "glitches"), o) ? OBS_ENOMEM : OBS_EOK;
}

int rj_add_vantage(json_t *doc, const og_vantage_t *v)
{
	json_t *a = json_object_get(doc, "vantages");
	if (a == NULL) {
		a = json_array();
		if (a == NULL || json_object_set_new(doc, "vantages", a))
			return OBS_ENOMEM;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:b}", "vantage", v->vantage,
			      "resolver", v->resolver, "address", v->address, "baseline_polls",
			      (json_int_t)v->baseline_polls, "baseline_failures",
			      (json_int_t)v->baseline_fail, "broken", v->broken, "validating",
			      !v->nonvalidating);
	if (o == NULL)
		return OBS_ENOMEM;
	return json_array_append_new(a, o) ? OBS_ENOMEM : OBS_EOK;
}
