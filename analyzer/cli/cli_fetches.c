/* SPDX-License-Identifier: MIT */
/* obs-analyzer fetches: per resolver its fetches of the zone's DNSKEY, DS and NS versions
 * (passive evidence), its TTL profile and its T-1 / T-2 flags; capture windows with drops.
 * Text, or JSON following schemas/fetches.schema.json.
 * fetches --predicted: the model's predicted pair windows checked against those fetches
 * (fetch_pred.h): who held a failing pair, with evidence; JSON following
 * schemas/fetch-predicted.schema.json. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fetch.h"
#include "fetch_pred.h"
#include "obs_err.h"
#include "timefmt.h"
#include "report_json.h"

static const char *const sev_names[2] = {"INFO", "WARN"};

struct out {
	json_t *doc;
	bool json;
	int err;
};

static const char *type_name(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case 2:
		return "NS";
	case 43:
		return "DS";
	case 48:
		return "DNSKEY";
	default:
		snprintf(buf, len, "TYPE%u", t);
		return buf;
	}
}

static json_t *jsecs(obs_usec_t d)
{
	return json_real((double)d / 1e6);
}

static json_t *jstrs(const char (*s)[80], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

static json_t *jfetch(const fetch_event_t *e)
{
	char tb[16];
	return json_pack(
	    "{s:I, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:b}", "observation",
	    (json_int_t)e->obs_id, "t", rj_time(e->t), "until", rj_time(e->until), "next",
	    rj_time(e->next), "client", e->client, "server", e->server, "owner", e->owner, "type",
	    type_name(e->type, tb, sizeof(tb)), "kind", e->kind == 2 ? "referral" : "answer",
	    "version", (json_int_t)e->version_id, "ttl", (json_int_t)e->ttl_s, "late_refetch",
	    e->late_refetch, "incomplete", e->incomplete, "in_referral", e->in_referral);
}

static json_t *jflag(const fetch_flag_t *f)
{
	char tb[16];
	json_t *fetch = f->fetch_obs
			    ? json_pack("{s:I, s:o, s:o}", "observation", (json_int_t)f->fetch_obs,
					"t", rj_time(f->fetch_t), "expiry", rj_time(f->expiry))
			    : json_null();
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:I, "
			 "s:{s:I, s:I}}",
			 "id", f->id, "severity", sev_names[f->sev ? 1 : 0], "version",
			 (json_int_t)f->version_id, "type", type_name(f->type, tb, sizeof(tb)),
			 "via", f->via, "source", f->passive ? "capture" : "poll", "lo",
			 rj_time(f->lo), "hi", rj_time(f->hi), "answers", (json_int_t)f->answers,
			 "ttl_answer", (json_int_t)f->ttl_answer_s, "ttl_auth",
			 f->ttl_auth_s >= 0 ? json_integer(f->ttl_auth_s) : json_null(), "fetch",
			 fetch ? fetch : json_null(), "hold_until", rj_time(f->hold_until), "held",
			 (json_int_t)f->held_s, "evidence", "first_observation",
			 (json_int_t)f->first_obs, "last_observation", (json_int_t)f->last_obs);
}

static void add_resolver(struct out *o, const fetch_resolver_t *r)
{
	json_t *fetches = json_array(), *flags = json_array(), *links = json_array();
	for (size_t i = 0; fetches && i < r->fetches_n; i++)
		json_array_append_new(fetches, jfetch(&r->fetches[i]));
	for (size_t i = 0; flags && i < r->flags_n; i++)
		json_array_append_new(flags, jflag(&r->flags[i]));
	for (size_t i = 0; links && i < r->links_n; i++)
		json_array_append_new(links,
				      json_pack("{s:s, s:s, s:I}", "service", r->links[i].service,
						"upstream", r->links[i].upstream, "matches",
						(json_int_t)r->links[i].matches));
	json_t *x = json_pack(
	    "{s:s, s:o, s:o, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o}", "resolver",
	    r->name, "service", jstrs(r->service, r->service_n), "upstream",
	    jstrs(r->upstream, r->upstream_n), "profile", fetch_profile_names[r->profile],
	    "stretch", r->profile == FETCH_STRETCH ? json_integer(r->stretch_s) : json_null(),
	    "stale", r->stale_s ? json_integer(r->stale_s) : json_null(), "answers", "served",
	    (json_int_t)r->answers, "checked", (json_int_t)r->checked, "incomplete",
	    (json_int_t)r->incomplete, "unmatched", (json_int_t)r->unmatched, "fetches",
	    fetches ? fetches : json_null(), "flags", flags ? flags : json_null(), "links",
	    links ? links : json_null());
	if (x == NULL || json_array_append_new(json_object_get(o->doc, "resolvers"), x))
		o->err = OBS_ENOMEM;
}

static void on_resolver(void *arg, const fetch_resolver_t *r)
{
	struct out *o = arg;
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN], tb[16];
	if (o->json) {
		add_resolver(o, r);
		return;
	}
	printf("resolver %s:", r->name);
	for (size_t i = 0; i < r->service_n; i++)
		printf(" service %s", r->service[i]);
	for (size_t i = 0; i < r->upstream_n; i++)
		printf(" upstream %s", r->upstream[i]);
	printf("\n  profile %s", fetch_profile_names[r->profile]);
	if (r->profile == FETCH_STRETCH)
		printf("(%lld s)", (long long)r->stretch_s);
	if (r->stale_s)
		printf(", stale up to %lld s", (long long)r->stale_s);
	printf("; %zu fetches, %lld answers served, %lld checked, %lld incomplete (drops), %lld "
	       "without a matching fetch\n",
	       r->fetches_n, (long long)r->answers, (long long)r->checked, (long long)r->incomplete,
	       (long long)r->unmatched);
	for (size_t i = 0; i < r->links_n; i++)
		printf("  link %s -> upstream %s (%lld queries explained)\n", r->links[i].service,
		       r->links[i].upstream, (long long)r->links[i].matches);
	for (size_t i = 0; i < r->fetches_n; i++) {
		const fetch_event_t *e = &r->fetches[i];
		printf("  fetch %s %s %s/%s v%lld ttl %lld from %s by %s, cached to %s",
		       obs_time_format(e->t, a, sizeof(a)),
		       e->in_referral ? "in-referral"
		       : e->kind == 2 ? "referral"
				      : "answer",
		       e->owner, type_name(e->type, tb, sizeof(tb)), (long long)e->version_id,
		       (long long)e->ttl_s, e->server, e->client,
		       obs_time_format(e->until, b, sizeof(b)));
		if (e->late_refetch)
			printf(", refetched late (%.3f s)", (double)(e->next - e->t) / 1e6);
		printf("%s\n", e->incomplete ? " [incomplete: capture drops]" : "");
	}
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *f = &r->flags[i];
		printf("  %s %s v%lld %s via %s (%s) [%s, %s] %lld answers, TTL up to %lld", f->id,
		       sev_names[f->sev ? 1 : 0], (long long)f->version_id,
		       type_name(f->type, tb, sizeof(tb)), f->via, f->passive ? "capture" : "poll",
		       obs_time_format(f->lo, a, sizeof(a)), obs_time_format(f->hi, b, sizeof(b)),
		       (long long)f->answers, (long long)f->ttl_answer_s);
		if (f->ttl_auth_s >= 0)
			printf(" (authoritative %lld)", (long long)f->ttl_auth_s);
		if (f->fetch_obs)
			printf(", fetched %s expiring %s",
			       obs_time_format(f->fetch_t, a, sizeof(a)),
			       obs_time_format(f->expiry, b, sizeof(b)));
		printf(", held %lld s; evidence obs %lld..%lld\n", (long long)f->held_s,
		       (long long)f->first_obs, (long long)f->last_obs);
	}
}

static void on_drop(void *arg, const fetch_drop_t *d)
{
	struct out *o = arg;
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN];
	if (o->json) {
		json_t *x =
		    json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:I}", "collector", d->collector,
			      "lo", rj_time(d->lo), "hi", rj_time(d->hi), "duration",
			      jsecs(d->hi - d->lo), "received", (json_int_t)d->received, "dropped",
			      (json_int_t)d->dropped, "ifdropped", (json_int_t)d->ifdropped);
		if (x == NULL || json_array_append_new(json_object_get(o->doc, "drops"), x))
			o->err = OBS_ENOMEM;
		return;
	}
	printf("capture %s dropped %lld (kernel) and %lld (interface) of %lld packets in [%s, %s): "
	       "passive evidence incomplete there\n",
	       d->collector, (long long)d->dropped, (long long)d->ifdropped, (long long)d->received,
	       obs_time_format(d->lo, a, sizeof(a)), obs_time_format(d->hi, b, sizeof(b)));
}

static int one_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	(void)arg;
	if (zone[0] == '\0')
		return OBS_EOK; /* passive traffic outside every configured zone */
	struct out o = {.json = c->json};
	if (c->json) {
		o.doc = json_pack("{s:s, s:o, s:[], s:[]}", "zone", zone, "at", rj_time(c->at),
				  "resolvers", "drops");
		if (o.doc == NULL)
			return OBS_ENOMEM;
	} else {
		printf("zone %s\n", zone);
	}
	int ret = fetch_run(c->db, zone, c->at, NULL, on_resolver, on_drop, &o);
	if (ret == OBS_EOK)
		ret = o.err;
	if (ret == OBS_EOK && c->json)
		cli_print_json(o.doc);
	json_decref(o.doc);
	return ret;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static void print_windows(const json_t *ws)
{
	size_t i;
	const json_t *w;
	json_array_foreach(ws, i, w)
	{
		const char *lo = json_string_value(json_object_get(w, "lo"));
		const char *hi = json_string_value(json_object_get(w, "hi"));
		printf(" [%s, %s)", lo ? lo : "-inf", hi ? hi : "open");
	}
}

static void print_evidence(const char *which, const json_t *ev)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(ev, "fetches"), i, f)
	{
		printf("      %s: obs %lld fetched %s by %s from %s, v%lld ttl %lld, held to %s\n",
		       which, (long long)json_integer_value(json_object_get(f, "observation")),
		       jstr(f, "t"), jstr(f, "client"), jstr(f, "server"),
		       (long long)json_integer_value(json_object_get(f, "version")),
		       (long long)json_integer_value(json_object_get(f, "ttl")),
		       jstr(f, "held_until"));
	}
	json_int_t more = json_integer_value(json_object_get(ev, "more"));
	if (more)
		printf("      %s: %lld more fetches\n", which, (long long)more);
}

static void print_pred(const char *zone, const json_t *doc)
{
	size_t i, j;
	const json_t *p, *r;
	const json_t *cov = json_object_get(doc, "coverage");
	printf("zone %s: predicted pair windows against the fetches of %zu resolvers; capture ",
	       zone, json_array_size(json_object_get(doc, "resolvers")));
	if (json_is_object(cov))
		printf("[%s, %s]\n", jstr(cov, "lo"), jstr(cov, "hi"));
	else
		printf("none\n");
	json_array_foreach(json_object_get(doc, "resolvers"), i, r)
	{
		printf("  resolver %s: profile %s, %lld fetches, model profile %s\n",
		       jstr(r, "resolver"), jstr(r, "profile"),
		       (long long)json_integer_value(json_object_get(r, "fetches")),
		       jstr(r, "model_profile"));
	}
	json_array_foreach(json_object_get(doc, "excluded"), i, r)
	{
		printf("  excluded %s: %lld of its %lld queries are the observatory's own polls\n",
		       jstr(r, "client"),
		       (long long)json_integer_value(json_object_get(r, "matching_polls")),
		       (long long)json_integer_value(json_object_get(r, "queries")));
	}
	json_array_foreach(json_object_get(doc, "drops"), i, r)
	{
		printf("  capture %s dropped packets in [%s, %s): absence there is inconclusive\n",
		       jstr(r, "collector"), jstr(r, "lo"), jstr(r, "hi"));
	}
	json_array_foreach(json_object_get(doc, "predicted"), i, p)
	{
		const json_t *a = json_object_get(p, "a"), *b = json_object_get(p, "b");
		const char *oc = jstr(p, "outcome");
		if (strcmp(oc, "held") != 0 && strcmp(oc, "inconclusive") != 0)
			continue; /* counted in the summary; --json lists them */
		printf("%s %s %s (%s) %s x %s:", jstr(p, "id"), jstr(p, "tier"),
		       jstr(p, "severity"), jstr(p, "profile"), jstr(a, "label"), jstr(b, "label"));
		print_windows(json_object_get(p, "windows"));
		printf(" -> %s\n", jstr(p, "outcome"));
		json_array_foreach(json_object_get(p, "held_by"), j, r)
		{
			printf("    held by %s (%s, %s):", jstr(r, "resolver"),
			       jstr(json_object_get(r, "profile"), "profile"), jstr(r, "order"));
			print_windows(json_object_get(r, "held"));
			printf("\n");
			print_evidence("a", json_object_get(r, "a"));
			print_evidence("b", json_object_get(r, "b"));
		}
	}
	const json_t *s = json_object_get(doc, "summary");
	printf(
	    "summary: %lld held, %lld not held, %lld inconclusive, %lld not captured (--json lists "
	    "every window); named:",
	    (long long)json_integer_value(json_object_get(s, "held")),
	    (long long)json_integer_value(json_object_get(s, "not_held")),
	    (long long)json_integer_value(json_object_get(s, "inconclusive")),
	    (long long)json_integer_value(json_object_get(s, "not_captured")));
	json_array_foreach(json_object_get(s, "named"), i, r) printf(" %s", json_string_value(r));
	printf("\n");
}

static int one_zone_pred(cli_ctx_t *c, const char *zone, void *arg)
{
	if (zone[0] == '\0')
		return OBS_EOK;
	json_t *doc = NULL;
	int ret = fetch_pred_run(c->db, arg, zone, c->at, NULL, &doc, c->err, c->errlen);
	if (ret == OBS_EOK && c->json)
		cli_print_json(doc);
	else if (ret == OBS_EOK)
		print_pred(zone, doc);
	json_decref(doc);
	return ret;
}

int cli_fetches(cli_ctx_t *c)
{
	if (!c->predicted)
		return cli_each_zone(c, one_zone, NULL);
	sigv_t *sv = NULL;
	int ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = cli_each_zone(c, one_zone_pred, sv);
	sigv_free(sv);
	return ret;
}
