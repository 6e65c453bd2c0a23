/* SPDX-License-Identifier: MIT */
/* Live mode: every --ingest-every, ingest each collector database given on the command line
 * into the analysis database (analyzer/ingest.h, incremental), one collector per loop turn so
 * HTTP requests are served between them; then refresh the metric counts and append the
 * settled RRD steps (at most a bounded chunk per turn). Also reads each collector's own
 * counters (read-only) for /metrics. */
#pragma once

#include "web.h"

/* Create the timer of w; the first round starts at once. Without collectors a round only
 * refreshes the metric counts and the graphs from the (read-only) analysis database.
 * Returns OBS_EOK or OBS_ENOMEM. */
int wl_start(web_ctx_t *w);
void wl_free(wl_t *l);

/* One full round now, blocking (for --once-check and tests). Returns OBS_EOK or the first
 * error (logged with the collector's path). */
int wl_round(web_ctx_t *w);
