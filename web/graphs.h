/* SPDX-License-Identifier: MIT */
/* Graphs drawn by librrd. One RRD file per zone and resolver vantage (secure, insecure, bogus,
 * lost per step, and the mean RTT) and per zone and provider (answered, failed, mean RTT), in
 * the state directory, named by a hash of zone and line (no DNS name ever reaches a path).
 * wg_update appends the settled steps (two steps behind the newest observation, or everything once
 * no new data arrives) from the analysis database (data time, not wall-clock time: a recorded
 * dataset is graphed at the time it was recorded); wg_png draws a PNG in memory with rrd_graph_v.
 * Single-threaded: rrd_graph_v is not thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"

typedef struct wg wg_t;

/* The graphs wg_png draws: "resolution", "validation", "latency", "answers". */
extern const char *const wg_names[];
extern const size_t wg_names_n;

/* The RRD step (seconds). */
#define WG_STEP_S 5

/* Use (and create when missing) the directory dir. Returns OBS_EOK, OBS_EINVAL (a ':' in
 * the path, which rrd_graph cannot take) or -errno; reason in err. */
int wg_new(const char *dir, wg_t **out, char *err, size_t errlen);
void wg_free(wg_t *g);

/* Append every step of every zone that is settled (older than the zone's newest observation
 * minus two steps) and not yet written. At most 6 h of data per zone per call, so one call
 * stays short; call again to catch up. *steps receives the steps written (may be NULL).
 * Returns OBS_EOK, OBS_ESQL or OBS_ERROR (librrd; reason in err). */
int wg_update(wg_t *g, an_db_t *db, int64_t *steps, char *err, size_t errlen);

/* True when the last wg_update stopped before the newest settled step of some zone. */
int wg_behind(const wg_t *g);

/* Draw graph name ("NAME" or "NAME.png") of zone over the last range seconds of its data as
 * a PNG. *png is owned by the caller (free()). Returns OBS_EOK, OBS_ENOENT (unknown graph,
 * or no data for the zone yet) or OBS_ERROR (librrd; reason in err). */
int wg_png(wg_t *g, const char *zone, const char *name, int64_t range, void **png, size_t *len,
	   char *err, size_t errlen);

/* RRD updates written since start (for /metrics). */
uint64_t wg_updates(const wg_t *g);
