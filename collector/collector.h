/* SPDX-License-Identifier: MIT */
/* The active collector: builds targets and series from the configuration, runs polling
 * rounds on a libevent loop through the engine, discovers name servers (parent referral, glue,
 * provider apex NS, addresses through a resolver), keeps polling a server while resolvers may
 * still use it, classifies resolver answers, and writes everything through the store. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "store.h"

typedef struct coll coll_t;

typedef struct coll_opts {
	bool once;              /* one round at every target, then stop */
	const char *db;         /* overrides the configured database path when not NULL */
	const char *iface;      /* capture DNS live on this interface too (NULL: no capture) */
	const char *write_pcap; /* write the collector's own traffic to this pcap file */
	const obs_clock_t
	    *mono; /* the monotonic clock, borrowed (NULL: obs_clock_mono()); with
		    * the realtime clock given to coll_new it detects wall-clock steps */
} coll_opts_t;

/* Read a capture file (pcap or pcapng) into the collector's database and return: the passive
 * mode offline. Logs a summary line. */
int coll_read_capture(const obs_config_t *cfg, const char *db, const char *path,
		      const obs_clock_t *clock, const obs_log_t *log);

/* Create a collector. cfg, clock and log are borrowed and must outlive it. The database is
 * opened here; on failure the reason is logged. */
int coll_new(const obs_config_t *cfg, const coll_opts_t *opts, struct event_base *base,
	     const obs_clock_t *clock, const obs_log_t *log, coll_t **out);

/* Run until SIGINT / SIGTERM (or, with once, until the round is done). Commits on exit. */
int coll_run(coll_t *c);

/* Read the realtime and the monotonic clock and compare their deltas since the last check
 * (clockstep.h); a wall-clock step is logged, counted (counter clock_steps) and stored (table
 * clock_step). The loop does this at every polling round and stats tick; exposed for tests.
 * Returns true when this check saw a step. */
bool coll_clock_check(coll_t *c);

/* Commit, close the database, free. NULL is a no-op. */
void coll_free(coll_t *c);
