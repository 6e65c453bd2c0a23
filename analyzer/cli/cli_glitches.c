/* SPDX-License-Identifier: MIT */
/* obs-analyzer glitches: observed glitch windows per vantage (text or JSON). */
#include <stdio.h>

#include "cli.h"
#include "obs_err.h"
#include "oglitch.h"
#include "report_json.h"
#include "timefmt.h"
#include "verdict.h"

struct out {
	json_t *doc;
	bool json;
};

static void print_glitch(void *arg, const og_glitch_t *g)
{
	struct out *o = arg;
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN];
	if (o->json) {
		rj_add_glitch(o->doc, g);
		return;
	}
	printf("%s %s %s/%u [%s, %s) %lld polls%s%s", g->vantage, g->kind, g->qname, g->qtype,
	       obs_time_format(g->first_bad, a, sizeof(a)),
	       g->hi == INT64_MAX ? "open" : obs_time_format(g->hi, b, sizeof(b)),
	       (long long)g->polls, g->excluded ? " (excluded: O-1)" : "",
	       g->cached_n ? " cached:" : "");
	for (size_t i = 0; i < g->cached_n; i++)
		printf(" %s=v%lld(ttl %lld)", g->cached[i].role, (long long)g->cached[i].version_id,
		       (long long)g->cached[i].ttl_s);
	printf("\n");
}

static void add_vantage(void *arg, const og_vantage_t *v)
{
	struct out *o = arg;
	if (o->json)
		rj_add_vantage(o->doc, v);
	else if (v->broken)
		printf("%s excluded: broken in the baseline (O-1)\n", v->vantage);
}

static int one_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	(void)arg;
	struct out o = {.json = c->json};
	if (c->json && (o.doc = rj_document(zone, c->at, "glitches")) == NULL)
		return OBS_ENOMEM;
	int ret = og_run(c->db, zone, c->at, 0, print_glitch, add_vantage, &o);
	if (ret == OBS_EOK && c->json)
		cli_print_json(o.doc);
	json_decref(o.doc);
	return ret;
}

static int one_zone_predicted(cli_ctx_t *c, const char *zone, void *arg)
{
	json_t *doc = NULL;
	int ret = vd_predicted(c->db, arg, zone, c->at, &doc, c->err, c->errlen);
	if (ret == OBS_EOK && c->json) {
		cli_print_json(doc);
	} else if (ret == OBS_EOK) {
		size_t i, j;
		const json_t *g, *w;
		json_array_foreach(json_object_get(doc, "predicted"), i, g)
		{
			printf("%s %s %s %s:", zone, json_string_value(json_object_get(g, "id")),
			       json_string_value(json_object_get(g, "tier")),
			       json_string_value(json_object_get(g, "severity")));
			json_array_foreach(json_object_get(g, "windows"), j, w)
			{
				const char *lo = json_string_value(json_object_get(w, "lo"));
				const char *hi = json_string_value(json_object_get(w, "hi"));
				printf(" [%s, %s)", lo ? lo : "-inf", hi ? hi : "open");
			}
			printf(" %s\n", json_string_value(json_object_get(g, "reason")));
		}
	}
	json_decref(doc);
	return ret;
}

int cli_glitches(cli_ctx_t *c)
{
	if (!c->predicted)
		return cli_each_zone(c, one_zone, NULL);
	sigv_t *sv = NULL;
	int ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = cli_each_zone(c, one_zone_predicted, sv);
	sigv_free(sv);
	return ret;
}
