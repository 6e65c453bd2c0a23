/* SPDX-License-Identifier: MIT */
/* In-process verdict latency (what obs-web pays per request): open the analysis database once,
 * then answer the same whatif N times (each builds the model from the database and evaluates
 * the step); prints the median and the 90th percentile in milliseconds.
 * Usage: whatif-bench DB ZONE AT N STEP... */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "obs_err.h"
#include "timefmt.h"
#include "verdict.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: whatif-bench DB ZONE AT N STEP...\n");
		return 2;
	}
	char err[512] = "";
	an_db_t *db = NULL;
	sigv_t *sv = NULL;
	obs_usec_t at;
	int n = atoi(argv[4]);
	if (n < 1 || n > 100000 || obs_time_parse(argv[3], 0, &at) != OBS_EOK ||
	    an_db_open(argv[1], true, 0, &db, err, sizeof(err)) != OBS_EOK ||
	    sigv_new(db, false, &sv) != OBS_EOK) {
		fprintf(stderr, "whatif-bench: %s\n", err[0] ? err : "bad arguments");
		return 1;
	}
	json_t *req = NULL;
	if (vd_steps_from_argv(argc - 5, argv + 5, argv[2], at, &req, err, sizeof(err))) {
		fprintf(stderr, "whatif-bench: %s\n", err);
		return 1;
	}
	double *ms = calloc((size_t)n, sizeof(*ms));
	const char *verdict = "?";
	json_t *doc = NULL;
	for (int i = 0; i < n; i++) {
		double t = now_ms();
		json_decref(doc);
		if (vd_whatif(db, sv, req, at, NULL, &doc, err, sizeof(err)) != OBS_EOK) {
			fprintf(stderr, "whatif-bench: %s\n", err);
			return 1;
		}
		ms[i] = now_ms() - t;
		verdict = json_string_value(json_object_get(doc, "verdict"));
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp);
	printf("median %.2f ms, p90 %.2f ms over %d answers (verdict %s)\n", ms[n / 2],
	       ms[(int)(n * 0.9)], n, verdict);
	json_decref(doc);
	json_decref(req);
	free(ms);
	sigv_free(sv);
	an_db_close(db);
	return 0;
}
