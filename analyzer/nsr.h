/* SPDX-License-Identifier: MIT */
/* NS reachability NSR(p) (reference §5.3): per provider, the set of instants at which some
 * resolver may send a query to one of p's servers. Built from the analysis database for one
 * zone, up to an instant `at`:
 *   NSR0(p) = U { dilate(served(N), TTLmax(N) + eps) : N a parent referral NS version naming p }
 *   NSR(p)  = NSR0(p) U U { dilate(served_r(N) & NSR0(r), TTLmax(N) + eps) :
 *                           r a provider, N an apex NS version served at r naming p }  (ONESTEP)
 * served() is the union of the conservative run intervals [prev_poll, next_poll) of the
 * version (an open run, or one whose next poll is after `at`, extends to +inf). A version
 * names p when one of its NS host names is a host of a provider target of p (the collector's
 * target table; compared case-insensitively); a name that maps to no target counts for the
 * pseudo-provider "?". eps is the poll period. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "an_db.h"
#include "clock.h"

typedef struct nsr nsr_t;

/* eps argument of nsr_build: estimate the poll period from the zone's referral and apex NS
 * runs (mean spacing of consecutive polls inside runs; 0 when there is no such run). */
#define NSR_EPS_AUTO (-1)

/* Build NSR for every provider of zone from db, from the runs that started at or before at.
 * eps: the margin added to every TTL (microseconds), or NSR_EPS_AUTO. When the database holds
 * no referral run for the zone at all (the parent was never observed), nothing is known about
 * the delegation and every provider counts as reachable at every instant (the old, unfiltered
 * behaviour); nsr_parent_seen() says which case applies.
 * Returns OBS_EOK, OBS_ESQL or OBS_ENOMEM; *out is owned by the caller (nsr_free). */
int nsr_build(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t eps, nsr_t **out);

/* Free; NULL is a no-op. */
void nsr_free(nsr_t *n);

/* True when provider (a target origin, e.g. "a", or "?") is NS-reachable at t. */
bool nsr_reachable(const nsr_t *n, const char *provider, obs_usec_t t);

/* nsr_reachable, and [*lo, *hi): the maximal interval around t over which the answer stays
 * the same (the reachable interval that contains t, or the gap that contains it; INT64_MIN /
 * INT64_MAX when unbounded). lo and hi may be NULL. */
bool nsr_span(const nsr_t *n, const char *provider, obs_usec_t t, obs_usec_t *lo, obs_usec_t *hi);

/* The finite interval bounds of every provider's NSR (the instants at which reachability can
 * change), unsorted, possibly repeated. Writes at most max of them to out (out may be NULL
 * when max is 0) and returns how many there are in all. */
size_t nsr_edges(const nsr_t *n, obs_usec_t *out, size_t max);

/* The margin in use (microseconds). */
obs_usec_t nsr_eps(const nsr_t *n);

/* False when no referral run was found (every provider then counts as reachable). */
bool nsr_parent_seen(const nsr_t *n);
