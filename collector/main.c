/* SPDX-License-Identifier: MIT */
/* obs-collector: glue between the command line, the configuration and the collector. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"
#include "obs_err.h"

#define OBS_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: obs-collector run -c FILE [--db FILE] [--once] [-i IFACE] [-w FILE] [-v|-q]\n"
	    "       obs-collector run -c FILE [--db FILE] -r CAPTURE\n"
	    "       obs-collector check -c FILE\n"
	    "       obs-collector keys\n"
	    "\n"
	    "  run     poll every server and resolver of the configured zones into SQLite\n"
	    "  check   validate the configuration; problems as file:line:key: problem\n"
	    "  keys    list every configuration key with its type and default\n"
	    "\n"
	    "  -c, --config FILE   configuration (YAML)\n"
	    "      --db FILE       database path (overrides collector.db)\n"
	    "      --once          one round at every target, then exit\n"
	    "  -i, --interface IF  also capture DNS live on interface IF (passive mode)\n"
	    "  -r, --read FILE     read a pcap or pcapng capture into the database, then exit\n"
	    "  -w, --write FILE    write the collector's own queries and answers to a pcap file\n"
	    "  -v, --verbose       more log output (repeatable)\n"
	    "  -q, --quiet         errors only\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this text\n"
	    "Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error.\n");
}

static void report(void *arg, const char *file, int line, const char *key, const char *problem)
{
	(void)arg;
	fprintf(stderr, "%s:%d:%s: %s\n", file, line, key, problem);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"db", required_argument, NULL, 'd'},
	    {"once", no_argument, NULL, 'o'},         {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},        {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *config = NULL, *capture = NULL;
	coll_opts_t opts = {0};
	obs_log_t log = {.level = OBS_LOG_INFO, .out = NULL};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:i:r:w:vqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			opts.db = optarg;
			break;
		case 'o':
			opts.once = true;
			break;
		case 'i':
			opts.iface = optarg;
			break;
		case 'r':
			capture = optarg;
			break;
		case 'w':
			opts.write_pcap = optarg;
			break;
		case 'v':
			log.level = log.level < OBS_LOG_DEBUG ? log.level + 1 : log.level;
			break;
		case 'q':
			log.level = OBS_LOG_ERR;
			break;
		case 'V':
			printf("obs-collector %s\n", OBS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	const char *cmd = optind < argc ? argv[optind] : NULL;
	if (cmd && strcmp(cmd, "keys") == 0) {
		obs_config_print_keys(stdout);
		return 0;
	}
	if (cmd == NULL || (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) ||
	    optind + 1 != argc || config == NULL) {
		usage(stderr);
		return 2;
	}
	obs_config_t *cfg = NULL;
	int ret = obs_config_load(config, report, NULL, &cfg);
	if (ret != OBS_EOK)
		return 2;
	if (strcmp(cmd, "check") == 0) {
		printf("%s: ok (%zu zone(s), %zu resolver(s))\n", config, cfg->zones_n,
		       cfg->resolvers_n);
		obs_config_free(cfg);
		return 0;
	}
	obs_clock_t clock = obs_clock_real();
	if (capture) {
		ret = coll_read_capture(cfg, opts.db ? opts.db : cfg->db, capture, &clock, &log);
		obs_config_free(cfg);
		return ret == OBS_EOK ? 0 : 1;
	}
	struct event_base *base = event_base_new();
	coll_t *c = NULL;
	if (base == NULL || coll_new(cfg, &opts, base, &clock, &log, &c) != OBS_EOK) {
		if (base)
			event_base_free(base);
		obs_config_free(cfg);
		return 1;
	}
	ret = coll_run(c);
	coll_free(c);
	event_base_free(base);
	obs_config_free(cfg);
	return ret == OBS_EOK ? 0 : 1;
}
