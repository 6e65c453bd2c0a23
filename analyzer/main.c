/* SPDX-License-Identifier: MIT */
/* obs-analyzer: option parsing and the command table; each verb lives in cli/cli_<verb>.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "obs_err.h"
#include "timefmt.h"
#include "verdict.h"

static const cli_cmd_t cmds[] = {
    {"ingest", true, true, cli_ingest, "ingest --db FILE COLLECTOR.db..."},
    {"findings", false, false, cli_findings, "findings --db FILE [--zone Z] [--at T] [--json]"},
    {"glitches", false, false, cli_glitches,
     "glitches --db FILE [--zone Z] [--at T] [--json] [--predicted]"},
    {"status", false, false, cli_status,
     "status --db FILE [--zone Z] [--at T] [--json] [--eps-safe S] [--max-age S]"},
    {"audit", false, false, cli_audit, "audit --db FILE [--zone Z] [--at T] [--json]"},
    {"whatif", false, true, cli_whatif,
     "whatif --db FILE --zone Z [--at T] [--json] STEP [+ STEP...]"},
    {"fetches", false, false, cli_fetches,
     "fetches --db FILE [--zone Z] [--at T] [--json] [--predicted]"},
    {"transitions", false, false, cli_transitions,
     "transitions --db FILE [--zone Z] [--at T] [--from T --to T] [--json]"},
    {"report", false, false, cli_report,
     "report --db FILE [--zone Z] [--format text|json|html] [-o FILE] [--from T --to T] "
     "[--progress]"},
    {"export", false, false, cli_export,
     "export --db FILE --what versions|transitions|glitches [--format csv|jsonl] [--zone Z] "
     "[--from T --to T]"},
};

static void usage(FILE *f)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "%s obs-analyzer %s\n", i ? "      " : "usage:", cmds[i].usage);
	fputs("  --db FILE    the analysis database\n"
	      "  --zone Z     one zone (default: every zone)\n"
	      "  --at TIME    RFC 3339 or +/-SECONDS relative to now (default: now)\n"
	      "  --json       JSON output (documents described in schemas/*.schema.json)\n"
	      "  --predicted  glitches: the cache-state model's predicted windows; fetches: those\n"
	      "               windows checked against the resolvers' fetches\n"
	      "  --eps-safe S safety margin of earliest times (default 0 s)\n"
	      "  --max-age S  data older than S seconds is stale (default: poll + 2 s)\n"
	      "  --format F   report: text, json or html; export: csv or jsonl\n"
	      "  -o FILE      report: write to FILE instead of stdout\n"
	      "  --from T, --to T  the period reported or exported\n"
	      "  --what W     export: versions, transitions or glitches\n"
	      "  --progress   report: progress on stderr (default: when stderr is a tty)\n"
	      "STEP: dnskey-add|dnskey-del P KEY, dnskey-set P KEY... [signed-by KEY...],\n"
	      "      sign-with P KEY..., ds-set KEY...|HEX..., ns-set parent|P NAME...,\n"
	      "      stop P, start P, cds-set P KEY...|HEX..., csync-set P\n"
	      "KEY:  ALG/TAG, ALG/TAG/FP (16 hex digits of SHA-256 of the RDATA), wire:BASE64\n",
	      f);
}

static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},      {"zone", required_argument, NULL, 'z'},
    {"at", required_argument, NULL, 'a'},      {"json", no_argument, NULL, 'j'},
    {"predicted", no_argument, NULL, 'p'},     {"eps-safe", required_argument, NULL, 'E'},
    {"max-age", required_argument, NULL, 'M'}, {"format", required_argument, NULL, 'F'},
    {"from", required_argument, NULL, 'R'},    {"to", required_argument, NULL, 'T'},
    {"what", required_argument, NULL, 'W'},    {"progress", no_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};

/* Options up to the next operand ("+": whatif steps such as "ds-set" are operands).
 * Returns 0 to go on, 1 after --help, 2 on a bad option. */
static int parse_opts(int argc, char **argv, cli_ctx_t *c, const char **at_s, vd_opts_t *vd)
{
	int opt;
	while ((opt = getopt_long(argc, argv, "+d:z:a:jphE:M:F:o:R:T:W:P", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			c->dbpath = optarg;
			break;
		case 'z':
			c->zone = optarg;
			break;
		case 'a':
			*at_s = optarg;
			break;
		case 'j':
			c->json = true;
			break;
		case 'p':
			c->predicted = true;
			break;
		case 'E':
		case 'M': {
			char *end;
			double v = strtod(optarg, &end);
			if (end == optarg || *end || v < 0 || v > 86400) {
				fprintf(stderr, "obs-analyzer: --%s %s: seconds, 0 to 86400\n",
					opt == 'E' ? "eps-safe" : "max-age", optarg);
				return 2;
			}
			*(opt == 'E' ? &vd->eps_safe : &vd->max_age) = (obs_usec_t)(v * 1e6);
			break;
		}
		case 'F':
			c->format = optarg;
			break;
		case 'o':
			c->out = optarg;
			break;
		case 'R':
			c->from_s = optarg;
			break;
		case 'T':
			c->to_s = optarg;
			break;
		case 'W':
			c->what = optarg;
			break;
		case 'P':
			c->progress = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512] = "";
	vd_opts_t vd = {.eps_safe = -1, .max_age = 0};
	cli_ctx_t c = {.err = err, .errlen = sizeof(err), .vd = &vd};
	const char *at_s = NULL;
	int r = parse_opts(argc, argv, &c, &at_s, &vd);
	if (r)
		return r == 1 ? 0 : 2;
	const char *verb = optind < argc ? argv[optind++] : "";
	const cli_cmd_t *cmd = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, verb) == 0)
			cmd = &cmds[i];
	/* options may also follow the verb (obs-analyzer status --db F --json) */
	if ((r = parse_opts(argc, argv, &c, &at_s, &vd)) != 0)
		return r == 1 ? 0 : 2;
	c.argc = argc - optind;
	c.argv = argv + optind;
	if (cmd == NULL || c.dbpath == NULL || (cmd->operands && c.argc == 0)) {
		if (cmd == NULL && verb[0])
			fprintf(stderr, "obs-analyzer: unknown command '%s'\n", verb);
		usage(stderr);
		return 2;
	}
	obs_clock_t clk = obs_clock_real();
	c.now = c.at = obs_clock_now(&clk);
	vd.now = c.now; /* polls stamped far after the real time make verdicts unknown */
	if (at_s && obs_time_parse(at_s, c.now, &c.at) != OBS_EOK) {
		fprintf(stderr, "obs-analyzer: --at %s: not RFC 3339 or +/-SECONDS\n", at_s);
		return 2;
	}
	int ret = an_db_open(c.dbpath, !cmd->writes, c.now, &c.db, err, sizeof(err));
	if (ret == OBS_EOK)
		ret = cmd->run(&c);
	if (ret != OBS_EOK)
		fprintf(stderr, "obs-analyzer %s: %s\n", verb, err[0] ? err : obs_strerror(ret));
	an_db_close(c.db);
	return ret == OBS_EOK ? 0 : 1;
}
