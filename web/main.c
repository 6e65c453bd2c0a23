/* SPDX-License-Identifier: MIT */
/* obs-web: options and the event loop; the modules do the work (web/web.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api.h"
#include "http.h"
#include "live.h"
#include "obs_err.h"
#include "server.h"
#include "timefmt.h"

static void usage(FILE *f)
{
	fputs("usage: obs-web --db FILE [--listen ADDR:PORT] [--token-file FILE]\n"
	      "               [--collector DB]... [--ingest-every DURATION] [--state-dir DIR]\n"
	      "               [--allow-host NAME]... [--max-connections N] [--once-check]\n"
	      "               [-v|-q]\n"
	      "  --db FILE           the analysis database (written only with --collector)\n"
	      "  --listen ADDR:PORT  default 127.0.0.1:8053\n"
	      "  --token-file FILE   bearer token for whatif and state-changing endpoints\n"
	      "  --collector DB      a collector database to ingest (repeatable): live mode\n"
	      "  --ingest-every D    ingest period (default 500ms)\n"
	      "  --state-dir DIR     RRD files for the graphs (no graphs without it)\n"
	      "  --allow-host NAME   another accepted Host header value (repeatable)\n"
	      "  --max-connections N connection cap (default 4096; 503 beyond it)\n"
	      "  --once-check        ingest once, build every document and graph, exit\n",
	      f);
}

static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
				     {"listen", required_argument, NULL, 'l'},
				     {"token-file", required_argument, NULL, 't'},
				     {"collector", required_argument, NULL, 'c'},
				     {"ingest-every", required_argument, NULL, 'i'},
				     {"state-dir", required_argument, NULL, 's'},
				     {"allow-host", required_argument, NULL, 'H'},
				     {"once-check", no_argument, NULL, 'o'},
				     {"max-connections", required_argument, NULL, 'm'},
				     {"verbose", no_argument, NULL, 'v'},
				     {"quiet", no_argument, NULL, 'q'},
				     {"help", no_argument, NULL, 'h'},
				     {NULL, 0, NULL, 0}};

/* Returns 0 to run, 1 after --help, 2 on a usage error. */
static int parse(int argc, char **argv, web_ctx_t *w)
{
	int opt;
	while ((opt = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			w->opts.db_path = optarg;
			break;
		case 'l':
			w->opts.listen = optarg;
			break;
		case 't':
			w->opts.token_file = optarg;
			break;
		case 'c':
			if (w->opts.collectors_n == WEB_MAX_COLLECTORS)
				return fprintf(stderr, "obs-web: too many --collector\n"), 2;
			w->opts.collectors[w->opts.collectors_n++] = optarg;
			break;
		case 'i':
			if (obs_duration_parse(optarg, &w->opts.ingest_every) != OBS_EOK ||
			    w->opts.ingest_every < 100000)
				return fprintf(stderr, "obs-web: --ingest-every: >= 100ms\n"), 2;
			break;
		case 's':
			w->opts.state_dir = optarg;
			break;
		case 'H':
			if (w->opts.allow_hosts_n == WEB_MAX_HOSTS)
				return fprintf(stderr, "obs-web: too many --allow-host\n"), 2;
			w->opts.allow_hosts[w->opts.allow_hosts_n++] = optarg;
			break;
		case 'o':
			w->opts.once_check = true;
			break;
		case 'm': {
			char *e = NULL;
			errno = 0;
			unsigned long v = strtoul(optarg, &e, 10);
			if (errno || e == optarg || *e || optarg[0] == '-' || v < 1 || v > 1000000)
				return fprintf(stderr, "obs-web: --max-connections: 1..1000000\n"),
				       2;
			w->opts.max_connections = v;
			break;
		}
		case 'v':
			w->log.level = OBS_LOG_DEBUG;
			break;
		case 'q':
			w->log.level = OBS_LOG_ERR;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (w->opts.db_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig, (void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	web_ctx_t w = {.opts = {.listen = "127.0.0.1:8053", .ingest_every = 500000},
		       .log = {.level = OBS_LOG_INFO},
		       .clock = obs_clock_real()};
	int r = parse(argc, argv, &w);
	if (r)
		return r == 1 ? 0 : 2;
	char err[512] = "";
	struct event *sigs[2] = {NULL, NULL};
	int ret = ws_open(&w, err, sizeof(err));
	if (ret == OBS_EOK && w.opts.once_check) {
		int ir = wl_round(&w);
		ret = wa_check_all(&w, stdout);
		if (ret == OBS_EOK)
			ret = ir;
		snprintf(err, sizeof(err), "check failed");
	} else if (ret == OBS_EOK && (ret = wh_start(&w, err, sizeof(err))) == OBS_EOK &&
		   (ret = wl_start(&w)) == OBS_EOK) {
		signal(SIGPIPE, SIG_IGN);
		sigs[0] = evsignal_new(w.base, SIGINT, on_signal, w.base);
		sigs[1] = evsignal_new(w.base, SIGTERM, on_signal, w.base);
		for (int i = 0; i < 2; i++)
			if (sigs[i])
				event_add(sigs[i], NULL);
		obs_log_fmt(&w.log, OBS_LOG_INFO, "obs-web", "listening on %s (%zu collectors)",
			    w.opts.listen, w.opts.collectors_n);
		event_base_dispatch(w.base);
	}
	if (ret != OBS_EOK)
		fprintf(stderr, "obs-web: %s\n", err[0] ? err : obs_strerror(ret));
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	ws_close(&w);
	return ret == OBS_EOK ? 0 : 1;
}
