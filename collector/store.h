/* SPDX-License-Identifier: MIT */
/* The collector's SQLite store (schemas/collector): one writer, WAL, batched transactions.
 * Observations, deduplicated wires, content-addressed versions, runs with their conservative
 * bounds, NS listings and addresses, counters. Every write joins the open batch; the batch is
 * committed by store_commit() (the collector calls it on a timer and at shutdown), so nothing
 * committed is lost when the process is killed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "clock.h"
#include "clockstep.h"

typedef struct obs_store obs_store_t;

/* observation.status */
enum store_status {
	ST_ANSWERED = 0,
	ST_TIMEOUT = 1,
	ST_NETERR = 2,
	ST_TRUNCATED = 3,
	ST_MALFORMED = 4,
	ST_MISMATCHED = 5,
	ST_DROPPED = 6,
	ST_UNMATCHED = 7, /* passive: a response with no query before it */
};
#define ST_COUNT 8

/* observation.outcome for resolver series */
enum store_outcome {
	OUT_NONE = 0,
	OUT_SECURE = 1,
	OUT_INSECURE = 2,
	OUT_BOGUS = 3,
	OUT_LOST = 4,
};

extern const char *const store_status_names[ST_COUNT];
extern const char *const store_outcome_names[5];

typedef struct store_obs {
	int64_t series_id;
	obs_usec_t t; /* when the attempt was sent (realtime) */
	unsigned attempt;
	unsigned transport; /* 0 UDP, 1 TCP */
	enum store_status status;
	obs_usec_t rtt; /* < 0: none */
	const ans_summary_t
	    *ans; /* the parsed answer (status ST_ANSWERED / ST_TRUNCATED), or NULL */
	enum store_outcome outcome;
	const uint8_t *wire; /* the raw response or NULL; the ID bytes are zeroed before storing */
	const uint8_t *wire_hash; /* ans_wire_hash(wire), or NULL to compute it */
	size_t wire_len;
} store_obs_t;

/* Open or create the database at path and apply migrations. Refuses a newer schema
 * (OBS_ESCHEMA) and a database made by another collector name (OBS_ECONFIG). On failure the
 * reason is written to err (errlen bytes). */
int store_open(const char *path, const char *collector, obs_usec_t now, obs_store_t **out,
	       char *err, size_t errlen);

/* Commit the open batch and close. NULL is a no-op. */
void store_close(obs_store_t *s);

/* Commit the open batch (flushing pending run and version updates). When the commit (or a
 * write SQLite answers by rolling the transaction back, as on a full disk) fails, the batch is
 * rolled back and lost (counted in store_health), the store's memo is made to agree with the
 * database again, and the next write starts a new batch: storing resumes by itself once the
 * cause is gone. Targets, series and captures are committed as soon as they are created, so a
 * lost batch never takes an id a caller keeps. */
int store_commit(obs_store_t *s);

typedef struct store_health {
	uint64_t recoveries;        /* batches rolled back after a failure */
	uint64_t lost_observations; /* observation rows they held */
	uint64_t stale_handles;     /* outcomes, packets, anomalies of lost rows not written */
	bool memo_lost;             /* the memo could not be rebuilt (no memory): writes refused */
} store_health_t;

void store_health(const obs_store_t *s, store_health_t *out);

/* Rows written since the last commit. */
size_t store_pending(const obs_store_t *s);

/* Find or create a target row; *id receives its id. */
int store_target(obs_store_t *s, const char *kind, const char *zone, const char *origin,
		 const char *host, const char *address, const char *pinned, obs_usec_t now,
		 int64_t *id);

/* Find or create a series row; loads its open run so runs continue across restarts. */
int store_series(obs_store_t *s, int64_t target_id, const char *qname, uint16_t qtype,
		 unsigned flags, const char *role, int64_t *id);

/* Record one attempt: the observation row, its wire, its version and the run. *obs_id (may
 * be NULL) receives the observation's handle: its row id until a batch is lost (store_commit),
 * then the row id with the store's epoch in the top bits. Handles are only passed back to
 * the store (store_set_outcome, store_passive_packet, store_ttl_anomaly), which ignore those
 * of lost rows. */
int store_observe(obs_store_t *s, const store_obs_t *o, int64_t *obs_id);

/* Set the outcome class of an observation already written (resolver pairs). */
int store_set_outcome(obs_store_t *s, int64_t obs_id, enum store_outcome outcome);

/* An NS host name listed for zone by a target (upsert of last_listed). */
int store_ns_listing(obs_store_t *s, const char *zone, int64_t source_target_id, const char *ns,
		     uint32_t ttl, obs_usec_t t);

/* An address of an NS host name, learnt from source ("config", "glue", "resolver"). */
int store_ns_address(obs_store_t *s, const char *zone, const char *ns, const char *address,
		     const char *source, obs_usec_t t);

/* Sample counters (name[i] = value[i]) at time t. */
int store_counters(obs_store_t *s, obs_usec_t t, const char *const *names, const uint64_t *values,
		   size_t n);

/* Passive capture: the ports, response time and transport of a passive observation. */
int store_passive_packet(obs_store_t *s, int64_t obs_id, uint16_t client_port, uint16_t server_port,
			 obs_usec_t t_response, unsigned transport);

/* A TTL anomaly (ans_ttl_anomaly) of version v, answered by observation obs_id of series_id
 * at t: a ttl_anomaly row. Nothing is written when v shows none; v must have been stored by
 * store_observe() first (OBS_EINVAL otherwise). */
int store_ttl_anomaly(obs_store_t *s, int64_t obs_id, int64_t series_id, obs_usec_t t,
		      const ans_version_t *v);

/* A wall-clock step the collector detected (clockstep.h): a clock_step row. */
int store_clock_step(obs_store_t *s, const cstep_event_t *ev);

/* A capture source ("live:IFACE" or "file:PATH") starts; *id receives its id. */
int store_capture_open(obs_store_t *s, const char *source, int linktype, int snaplen, obs_usec_t t,
		       int64_t *id);

/* A capture source ends at t. */
int store_capture_close(obs_store_t *s, int64_t id, obs_usec_t t);

/* libpcap counters of a live capture over [t_start, t_end). */
int store_capture_stats(obs_store_t *s, int64_t id, obs_usec_t t_start, obs_usec_t t_end,
			uint64_t received, uint64_t dropped, uint64_t ifdropped);

/* The SQLite error text of the last failure (for the top layer's log line). */
const char *store_errmsg(const obs_store_t *s);

/* The schema version this build writes. */
int store_schema_version(void);
