/* SPDX-License-Identifier: MIT */
/* obs-controller: options; the modules do the work (controller/ctl.h). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "obs_err.h"
#include "timefmt.h"

#define APPLY_ARGS_MAX 32

static void usage(FILE *f)
{
	fputs(
	    "usage: obs-controller --plan FILE --apply CMD --token-file FILE [--url URL]\n"
	    "                      [--zone Z] [--poll D] [--max-blocked D] [--max-step D]\n"
	    "                      [--no-gate --fixed-wait D] [--record FILE] [--label NAME] [-q]\n"
	    "  --plan FILE        one step per line: NAME OP ARG... [+ OP ARG...] ('-': stdin)\n"
	    "  --apply CMD        applies a step: CMD NAME OP ARG... (words split on spaces)\n"
	    "  --token-file FILE  obs-web's bearer token\n"
	    "  --url URL          obs-web (default http://127.0.0.1:8053)\n"
	    "  --zone Z           default example.lab.\n"
	    "  --poll D           the observatory's poll period: re-ask interval (default 1s)\n"
	    "  --max-blocked D    halt after stop/unknown for this long (default 120s)\n"
	    "  --max-step D       halt when one step waited this long in all (default 600s)\n"
	    "  --no-gate          ask, print, but ignore the verdicts (a violating run)\n"
	    "  --fixed-wait D     with --no-gate: wait after each served step (default 1s)\n"
	    "  --record FILE      JSON lines: one per step (verdicts, waits), appended\n"
	    "  --label NAME       the run's name in the output and the record\n",
	    f);
}

static const struct option opts[] = {{"plan", required_argument, NULL, 'p'},
				     {"apply", required_argument, NULL, 'a'},
				     {"token-file", required_argument, NULL, 't'},
				     {"url", required_argument, NULL, 'u'},
				     {"zone", required_argument, NULL, 'z'},
				     {"poll", required_argument, NULL, 'P'},
				     {"max-blocked", required_argument, NULL, 'B'},
				     {"max-step", required_argument, NULL, 'S'},
				     {"no-gate", no_argument, NULL, 'n'},
				     {"fixed-wait", required_argument, NULL, 'f'},
				     {"record", required_argument, NULL, 'r'},
				     {"label", required_argument, NULL, 'l'},
				     {"quiet", no_argument, NULL, 'q'},
				     {"help", no_argument, NULL, 'h'},
				     {NULL, 0, NULL, 0}};

typedef struct args {
	const char *plan, *apply, *token_file, *record;
	char apply_buf[1024];
	const char *apply_argv[APPLY_ARGS_MAX + 1];
	char token[512];
} args_t;

static int duration(const char *name, const char *s, obs_usec_t *out)
{
	if (obs_duration_parse(s, out) == OBS_EOK && *out > 0)
		return 0;
	fprintf(stderr, "obs-controller: --%s %s: a positive duration expected (1s, 500ms)\n", name,
		s);
	return 2;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int parse(int argc, char **argv, ctl_opts_t *o, args_t *a)
{
	int opt, bad = 0;
	while ((opt = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			a->plan = optarg;
			break;
		case 'a':
			a->apply = optarg;
			break;
		case 't':
			a->token_file = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'z':
			o->zone = optarg;
			break;
		case 'P':
			bad |= duration("poll", optarg, &o->poll);
			break;
		case 'B':
			bad |= duration("max-blocked", optarg, &o->max_blocked);
			break;
		case 'S':
			bad |= duration("max-step", optarg, &o->max_step);
			break;
		case 'n':
			o->gate = false;
			break;
		case 'f':
			bad |= duration("fixed-wait", optarg, &o->fixed_wait);
			break;
		case 'r':
			a->record = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'q':
			o->log.level = OBS_LOG_ERR;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (bad)
		return 2;
	if (optind != argc || !a->plan || !a->apply || !a->token_file) {
		usage(stderr);
		return 2;
	}
	snprintf(a->apply_buf, sizeof(a->apply_buf), "%s", a->apply);
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(a->apply_buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == APPLY_ARGS_MAX)
			return fprintf(stderr, "obs-controller: --apply: too many words\n"), 2;
		a->apply_argv[n++] = t;
	}
	if (n == 0)
		return fprintf(stderr, "obs-controller: --apply: empty command\n"), 2;
	a->apply_argv[n] = NULL;
	o->apply = a->apply_argv;
	o->settle = o->poll + o->poll / 5;
	return 0;
}

static int read_token(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "obs-controller: token file %s: %s\n", path, strerror(errno));
		return OBS_ENOENT;
	}
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "obs-controller: token file %s is empty\n", path);
		return OBS_ESYNTAX;
	}
	return OBS_EOK;
}

int main(int argc, char **argv)
{
	ctl_opts_t o = {.url = "http://127.0.0.1:8053",
			.zone = "example.lab.",
			.poll = OBS_USEC_PER_SEC,
			.max_blocked = 120 * OBS_USEC_PER_SEC,
			.max_step = 600 * OBS_USEC_PER_SEC,
			.fixed_wait = OBS_USEC_PER_SEC,
			.timeout = 5 * OBS_USEC_PER_SEC,
			.gate = true,
			.tty = stdout,
			.log = {.level = OBS_LOG_INFO, .out = NULL}};
	args_t a = {0};
	int rc = parse(argc, argv, &o, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (read_token(a.token_file, a.token, sizeof(a.token)))
		return 2;
	o.token = a.token;
	ctl_plan_t plan;
	char err[512] = "";
	int ret = ctl_plan_read(a.plan, o.zone, &plan, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "obs-controller: %s\n", err[0] ? err : obs_strerror(ret));
		return 2;
	}
	if (a.record && (o.record = fopen(a.record, "a")) == NULL) {
		fprintf(stderr, "obs-controller: --record %s: %s\n", a.record, strerror(errno));
		ctl_plan_free(&plan);
		return 2;
	}
	ret = ctl_run(&plan, &o);
	if (o.record)
		fclose(o.record);
	ctl_plan_free(&plan);
	if (ret)
		fprintf(stderr, "obs-controller: %s: %s\n", o.zone,
			ret == OBS_ELIMIT ? "halted: the gate did not open (see above)"
					  : obs_strerror(ret));
	return ret == OBS_EOK ? 0 : 1;
}
