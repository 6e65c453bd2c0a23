/* SPDX-License-Identifier: MIT */
/* obs-analyzer findings: the detector catalogue's findings per zone (text or JSON). */
#include <stdio.h>

#include "cli.h"
#include "detect.h"
#include "obs_err.h"
#include "report_json.h"
#include "timefmt.h"

struct out {
	json_t *doc;
	bool json;
	sigv_t *sv;
};

static void print_finding(void *arg, const det_finding_t *f)
{
	struct out *o = arg;
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN];
	if (o->json) {
		rj_add_finding(o->doc, f);
		return;
	}
	printf("%-8s %-5s %s [%s, %s) %s%s%s%s: %s\n", det_sev_names[f->sev], f->id, f->zone,
	       obs_time_format(f->lo, a, sizeof(a)),
	       f->hi == INT64_MAX ? "open" : obs_time_format(f->hi, b, sizeof(b)), f->provider,
	       f->server[0] ? " " : "", f->server, f->vantage, f->msg);
}

static int one_zone(cli_ctx_t *c, const char *zone, void *arg)
{
	struct out o = {.json = c->json, .sv = arg};
	if (c->json && (o.doc = rj_document(zone, c->at, "findings")) == NULL)
		return OBS_ENOMEM;
	int ret = det_run(c->db, zone, c->at, NULL, o.sv, print_finding, &o);
	if (ret == OBS_EOK && c->json)
		cli_print_json(o.doc);
	json_decref(o.doc);
	return ret;
}

int cli_findings(cli_ctx_t *c)
{
	sigv_t *sv = NULL;
	int ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = cli_each_zone(c, one_zone, sv);
	sigv_free(sv);
	return ret;
}
