/* SPDX-License-Identifier: MIT */
/* obs-analyzer: thin glue over the analyzer library. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "ingest.h"
#include "obs_err.h"
#include "report_json.h"
#include "timefmt.h"

static const char usage[] =
    "usage: obs-analyzer ingest --db FILE COLLECTOR.db...\n"
    "       obs-analyzer findings|glitches --db FILE [--zone Z] [--at TIME] [--json]\n"
    "  --db FILE    the analysis database\n  --zone Z     one zone (default: every zone)\n"
    "  --at TIME    RFC 3339 or +/-SECONDS relative to now (default: now)\n"
    "  --json       JSON output (schemas/findings.schema.json, schemas/glitches.schema.json)\n";

struct out {
	json_t *doc;
	bool json;
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

static int analyse(an_db_t *db, const char *cmd, const char *zone, obs_usec_t at, bool json)
{
	sigv_t *sv = NULL;
	int ret = sigv_new(db, false, &sv);
	sqlite3_stmt *st = NULL;
	if (ret == OBS_EOK &&
	    sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT DISTINCT zone FROM target WHERE ?1 IS NULL "
			       "OR zone = ?1 ORDER BY zone",
			       -1, &st, NULL) != SQLITE_OK)
		ret = OBS_ESQL;
	if (st)
		sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	bool glitches = strcmp(cmd, "glitches") == 0;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		const char *z = (const char *)sqlite3_column_text(st, 0);
		struct out o = {.json = json};
		if (json &&
		    (o.doc = rj_document(z, at, glitches ? "glitches" : "findings")) == NULL)
			ret = OBS_ENOMEM;
		else if (glitches)
			ret = og_run(db, z, at, 0, print_glitch, add_vantage, &o);
		else
			ret = det_run(db, z, at, NULL, sv, print_finding, &o);
		if (ret == OBS_EOK && json)
			json_dumpf(o.doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS), printf("\n");
		json_decref(o.doc);
	}
	sqlite3_finalize(st);
	sigv_free(sv);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'}, {"zone", required_argument, NULL, 'z'},
	    {"at", required_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0}};
	const char *dbpath = NULL, *zone = NULL, *at_s = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "d:z:a:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dbpath = optarg;
			break;
		case 'z':
			zone = optarg;
			break;
		case 'a':
			at_s = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	const char *cmd = optind < argc ? argv[optind++] : "";
	bool ingest = strcmp(cmd, "ingest") == 0;
	if (dbpath == NULL || (!ingest && strcmp(cmd, "findings") && strcmp(cmd, "glitches")) ||
	    (ingest && optind >= argc)) {
		fputs(usage, stderr);
		return 2;
	}
	obs_clock_t clk = obs_clock_real();
	obs_usec_t now = obs_clock_now(&clk), at = now;
	if (at_s && obs_time_parse(at_s, now, &at) != OBS_EOK) {
		fprintf(stderr, "obs-analyzer: --at %s: not RFC 3339 or +/-SECONDS\n", at_s);
		return 2;
	}
	char err[512] = "";
	an_db_t *db = NULL;
	int ret = an_db_open(dbpath, !ingest, now, &db, err, sizeof(err));
	for (int i = optind; ingest && ret == OBS_EOK && i < argc; i++) {
		ing_stats_t s;
		if ((ret = ing_collector(db, argv[i], now, &s, err, sizeof(err))) == OBS_EOK)
			printf("%s: collector %s: %lld observations, %lld new versions, %lld keys, "
			       "%lld series re-run, clock offset %.3f s (%lld samples)\n",
			       argv[i], s.collector, (long long)s.observations,
			       (long long)s.versions, (long long)s.keys, (long long)s.runs_series,
			       (double)s.clock_offset_us / 1e6, (long long)s.offset_samples);
	}
	if (!ingest && ret == OBS_EOK)
		ret = analyse(db, cmd, zone, at, json);
	if (ret != OBS_EOK)
		fprintf(stderr, "obs-analyzer %s: %s\n", cmd, err[0] ? err : obs_strerror(ret));
	an_db_close(db);
	return ret == OBS_EOK ? 0 : 1;
}
