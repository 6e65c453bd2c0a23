/* SPDX-License-Identifier: MIT */
/* Observation chunks: how the analysis database stores the polls (analysis migration 9).
 *
 * A collector repeats the same answer for hours: one row per poll made ingest copy and index
 * every poll (tests/bench/analyzer-replay.sh). A chunk holds up to OC_CHUNK_MAX consecutive
 * polls of one series that share their key (collector, attempt, transport, status, rcode,
 * flags, EDE, version, recursive) and whose times do not go back; what varies from poll to poll
 * (time, observation id, collector row id, TTL, RTT, wire, outcome) is delta-coded in a blob.
 *
 * The virtual table module "obs_chunks" shows the chunks as the former table `observation`,
 * one row per poll with the same columns and ids, so every reader keeps its SQL. It uses the
 * constraints series_id =, collector_id =, id =, t ranges and src_id lower bounds to pick
 * chunks, and delivers ORDER BY t [, id] (either direction, with series_id =) and ORDER BY
 * series_id, t [, id] itself. It is read-only; ingest writes through oc_writer_*. */
#ifndef OBS_OCHUNK_H
#define OBS_OCHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* A live ingest rewrites each series' open chunk to append its new polls: 512 polls (~5 KB)
 * keep that near one database page per series, and a chunk still holds minutes to hours. */
#define OC_CHUNK_MAX 512

/* Register the module on db (before the migrations: migration 9 creates the table).
 * declaring (may be NULL; owned by the caller, alive as long as db): raised while the module
 * declares the table's columns, which SQLite parses as a CREATE TABLE, so that an authorizer
 * that refuses schema changes can let that one through. */
int oc_register(sqlite3 *db, int *declaring);

/* One poll as ingest hands it over. Nullable columns have a has_ flag. */
typedef struct oc_poll {
	int64_t id, src_id, t, series_id, collector_id;
	int attempt, transport, status;
	bool has_rtt, has_rcode, has_flags, has_outcome, has_version, has_ttl, has_wire, recursive;
	int64_t rtt, rcode, flags, outcome, version_id, ttl_s, wire_src_id;
	const char *ede; /* NULL: none */
} oc_poll_t;

/* The writer keeps one open chunk per series (resumed from the series' last chunk in the
 * database) and writes them back at oc_writer_flush. Owned by the caller; statements are
 * prepared on db, which must outlive it. */
typedef struct oc_writer oc_writer_t;

int oc_writer_new(sqlite3 *db, oc_writer_t **out);
int oc_writer_add(oc_writer_t *w, const oc_poll_t *p);
int oc_writer_flush(oc_writer_t *w); /* every open chunk written; the writer stays usable */
void oc_writer_free(oc_writer_t *w);

/* Set the outcome of the poll with observation id `id` (a resolver's outcome settles after its
 * row was ingested). OBS_ENOENT when no poll has that id. */
int oc_set_outcome(sqlite3 *db, int64_t id, int64_t outcome);

#endif
