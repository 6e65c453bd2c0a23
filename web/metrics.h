/* SPDX-License-Identifier: MIT */
/* /metrics in Prometheus text format (0.0.4): queries, polls, answers by status and
 * resolver outcomes (counted incrementally from the analysis database after each ingest),
 * the collectors' own counters (polls, timeouts, queries in flight) read from their
 * databases, ingest lag and duration, zones by status, verdicts served, HTTP replies. */
#pragma once

#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "http.h"

#define WM_COUNTERS 48

/* What the live ingest knows about one collector database. */
typedef struct wm_collector {
	char path[512];
	char name[128];          /* the collector's name ("" until read) */
	uint64_t rounds, errors; /* ingest attempts, failed ones */
	obs_usec_t last_ok;      /* wall-clock time of the last successful ingest */
	obs_usec_t duration;     /* of the last ingest */
	obs_usec_t newest;       /* newest observation time ingested (collector clock) */
	char counter_name[WM_COUNTERS][32];
	int64_t counter_value[WM_COUNTERS];
	size_t counters_n;
} wm_collector_t;

int wm_new(wm_t **out);
void wm_free(wm_t *m);

/* The slot of the collector database at path (created on first use); NULL on no memory. */
wm_collector_t *wm_collector(wm_t *m, const char *path);

/* Count one HTTP reply / one verdict served (kind "status" or "whatif"; verdict NULL
 * counts as "invalid"). NULL m is a no-op. */
void wm_count_request(wm_t *m, int code);
void wm_count_verdict(wm_t *m, const char *kind, const char *verdict);

/* Bring the observation counts up to date with the analysis database (incremental per
 * collector; the last 100,000 rows of each collector are recounted so that resolver outcomes
 * settled late are counted, as ingest settles them). Returns OBS_EOK or OBS_ESQL. */
int wm_refresh(wm_t *m, an_db_t *db);

/* Serve /metrics. */
void wm_handle(wh_req_t *r);
