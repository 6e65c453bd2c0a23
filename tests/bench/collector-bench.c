/* SPDX-License-Identifier: MIT */
/* Benchmark driver for the collector's engine and store (make bench): keeps N queries
 * outstanding against one server, parses and stores every answer, and reports the sustained
 * rate and CPU per answer. With --blackhole it instead measures the memory of N queries in
 * flight against a socket that never answers.
 * Usage: collector-bench --server ADDR[@PORT] --inflight N --seconds S --db FILE
 *                        [--blackhole] QNAME/TYPE... */
#include <event2/event.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "obs_err.h"
#include "store.h"

struct bench {
	obs_store_t *store;
	eng_t *eng;
	int64_t *series; /* per query kind */
	uint64_t answered, other;
	obs_usec_t commit_us; /* time spent in store_commit during the run */
	bool blackhole;
};

static void on_result(void *arg, const eng_result_t *r)
{
	struct bench *b = arg;
	size_t kind = (size_t)(uintptr_t)r->req->user;
	store_obs_t o = eng_result_obs(r, b->series[kind]);
	if (store_observe(b->store, &o, NULL) != OBS_EOK) {
		fprintf(stderr, "store: %s\n", store_errmsg(b->store));
		exit(1);
	}
	if (r->status == ST_ANSWERED)
		b->answered++;
	else
		b->other++;
	if (r->final && !b->blackhole)
		eng_submit(b->eng, r->req);
}

static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bench *b = arg;
	obs_usec_t t0 = obs_mono_now();
	store_commit(b->store);
	b->commit_us += obs_mono_now() - t0;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},  {"inflight", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 't'}, {"db", required_argument, NULL, 'd'},
	    {"blackhole", no_argument, NULL, 'b'},     {"offload", no_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	const char *server = NULL, *db = NULL;
	size_t inflight = 100;
	double seconds = 10;
	struct bench b = {0};
	bool offload = false; /* the collector's default (udp-offload: 0) */
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case 'n':
			inflight = strtoul(optarg, NULL, 10);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'd':
			db = optarg;
			break;
		case 'b':
			b.blackhole = true;
			break;
		case 'o':
			offload = true;
			break;
		default:
			return 2;
		}
	}
	size_t kinds = (size_t)(argc - optind);
	if (!db || kinds == 0 || inflight == 0 || (!server && !b.blackhole)) {
		fprintf(stderr, "usage: collector-bench --server ADDR --inflight N --seconds S "
				"--db FILE [--blackhole] [--offload] QNAME/TYPE...\n");
		return 2;
	}
	obs_addr_t addr;
	int hole = -1;
	if (b.blackhole) { /* a bound socket that is never read: queries stay in flight */
		hole = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(0x7f000205)};
		socklen_t sl = sizeof(sa);
		if (bind(hole, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(hole, (struct sockaddr *)&sa, &sl) != 0)
			return 1;
		obs_addr_from_raw((const uint8_t *)&sa.sin_addr, 4, ntohs(sa.sin_port), &addr);
	} else if (obs_addr_parse(server, 53, &addr) != OBS_EOK) {
		fprintf(stderr, "bad server %s\n", server);
		return 2;
	}
	struct event_base *base = event_base_new();
	obs_clock_t clock = obs_clock_real();
	char err[256];
	if (store_open(db, "bench", obs_clock_now(&clock), &b.store, err, sizeof(err)) != OBS_EOK ||
	    eng_new(base, &clock, inflight, on_result, &b, &b.eng) != OBS_EOK) {
		fprintf(stderr, "setup failed: %s\n", err);
		return 1;
	}
	eng_set_offload(b.eng, offload);
	int64_t target;
	store_target(b.store, "provider", "bench.", "p", "ns.", server ? server : "blackhole", NULL,
		     0, &target);
	b.series = calloc(kinds, sizeof(*b.series));
	store_commit(b.store);
	long rss_start = rss_kb();
	eng_req_t *reqs = calloc(inflight, sizeof(*reqs));
	eng_target_t et;
	eng_target_init(&et, &addr, UINT64_C(1000000000));
	for (size_t k = 0; k < kinds; k++) {
		obs_cfg_rrkey_t key;
		char *slash = strrchr(argv[optind + k], '/');
		if (!slash) {
			fprintf(stderr, "QNAME/TYPE expected\n");
			return 2;
		}
		*slash = '\0';
		key.type = obs_rrtype_from_str(slash + 1);
		key.name = argv[optind + k];
		store_series(b.store, target, key.name, key.type, PROBE_DO, "bench", &b.series[k]);
		for (size_t i = k; i < inflight; i += kinds) {
			if (probe_build(key.name, key.type, PROBE_DO, &reqs[i].q) != OBS_EOK)
				return 2;
			reqs[i].target = &et;
			reqs[i].timeout =
			    b.blackhole ? 60 * OBS_USEC_PER_SEC : 2 * OBS_USEC_PER_SEC;
			reqs[i].user = (void *)(uintptr_t)k;
		}
	}
	store_commit(b.store);
	long rss0 = rss_kb();
	double cpu0 = cpu_seconds();
	obs_usec_t t0 = obs_mono_now();
	for (size_t i = 0; i < inflight; i++)
		eng_submit(b.eng, &reqs[i]);
	if (b.blackhole) {
		eng_stats_t st;
		eng_get_stats(b.eng, &st);
		long rss1 = rss_kb();
		printf("inflight=%llu engine_bytes_per_inflight=%.0f "
		       "with_request_bytes_per_inflight=%.0f\n",
		       (unsigned long long)st.inflight,
		       (double)(rss1 - rss0) * 1024.0 / (double)st.inflight,
		       (double)(rss1 - rss_start) * 1024.0 / (double)st.inflight);
		return 0;
	}
	struct event *commit = event_new(base, -1, EV_PERSIST, commit_cb, &b);
	struct timeval ctv = {0, 200000};
	event_add(commit, &ctv);
	struct timeval stv = {(time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
	event_base_once(base, -1, EV_TIMEOUT, stop_cb, base, &stv);
	event_base_dispatch(base);
	obs_usec_t c0 = obs_mono_now();
	store_commit(b.store);
	b.commit_us += obs_mono_now() - c0;
	double wall = (double)(obs_mono_now() - t0) / 1e6;
	double cpu = cpu_seconds() - cpu0;
	/* loop_cpu: the loop's own CPU; make bench charges the whole process (its rusage) */
	printf("answered=%llu other=%llu seconds=%.2f qps=%.0f loop_cpu_us_per_answer=%.2f "
	       "commit_ms=%.1f\n",
	       (unsigned long long)b.answered, (unsigned long long)b.other, wall,
	       (double)b.answered / wall, cpu * 1e6 / (double)(b.answered ? b.answered : 1),
	       (double)b.commit_us / 1e3);
	event_free(commit);
	eng_free(b.eng);
	store_close(b.store);
	event_base_free(base);
	for (size_t i = 0; i < inflight; i++) {
		probe_free(&reqs[i].q);
		eng_req_clear(&reqs[i]);
	}
	free(reqs);
	free(b.series);
	if (hole >= 0)
		close(hole);
	return 0;
}
