/* SPDX-License-Identifier: MIT */
/* Ingest: copy a collector database into the analysis database incrementally (a high-water
 * mark per collector and source table), derive runs with conservative bounds, the largest
 * TTL served per version (authoritative answers only: parent and provider polls, and captured
 * iterative queries, RD=0), the zone key table, and the clock offsets between collectors. The
 * passive tables of collector schema 2 (query/response pairs, captures, windows with drops) are
 * copied too, with their own high-water marks; a schema-1 file simply has none.
 * Idempotent: ingesting the same file twice changes nothing. The collector file is only
 * read (SQLITE_OPEN_READONLY, PRAGMA query_only, attached with mode=ro). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"

typedef struct ing_stats {
	char collector[128];      /* the collector's name */
	int64_t targets, series;  /* rows copied */
	int64_t versions;         /* new merged versions */
	int64_t observations;     /* rows copied */
	int64_t passive_pairs;    /* passive query/response pairs copied (passive_pair) */
	int64_t outcomes_updated; /* resolver outcomes settled after the previous ingest */
	int64_t runs_series;      /* series whose runs were rebuilt */
	int64_t keys;             /* new zone keys */
	int64_t offset_samples;   /* shared transitions behind this collector's clock offset */
	int64_t clock_offset_us;
} ing_stats_t;

/* The collector schema version this analyzer understands. */
int ing_known_collector_schema(void);

/* Ingest the collector database at path. Refuses (OBS_ESCHEMA) a file that is not a collector
 * database or whose schema version is unknown, naming the file and both versions in err.
 * stats may be NULL. Returns OBS_EOK, OBS_ESCHEMA, OBS_ESQL or OBS_ENOMEM. */
int ing_collector(an_db_t *db, const char *path, obs_usec_t now, ing_stats_t *stats, char *err,
		  size_t errlen);

/* Rebuild the runs of one series from its observations at and after its open run. */
int ing_rebuild_runs(an_db_t *db, int64_t series_id);

/* Re-estimate every collector's clock offset against the reference (lowest id) collector. */
int ing_clock_offsets(an_db_t *db);
