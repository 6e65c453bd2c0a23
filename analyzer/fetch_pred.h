/* SPDX-License-Identifier: MIT */
/* Predicted glitch windows checked against the resolvers' actual fetches (reference §5.8
 * "PCAP at authoritative servers": per-resolver pair sets and attribution; issue 9).
 *
 * For every pair of versions the cache-state model predicts to fail (pglitch.h, Algorithm A:
 * V-1 a DS with a DNSKEY RRset, V-2/V-3 a DNSKEY RRset with a signed RRset) the passive
 * fetches (RD=0 responses, any RRset of the zone) say which resolver fetched both versions so
 * that both were in its cache at once within the window: the resolver is *named*, with the
 * fetch rows as evidence. A fetch of version v at t is held over [t, t + hold(TTL)), cut at the
 * resolver's next fetch of the same RRset (that replaces it), where hold comes from the
 * resolver's measured profile (fetch.h): HONOUR and UNKNOWN the TTL, STRETCH(m) max(TTL, m),
 * STALE(s) TTL + s.
 *
 * Measured profiles are fed into the model: for each distinct STRETCH(m) / STALE(s) profile
 * of a resolver, Algorithm A runs again with that profile (mdl_prof_t stretch / stale), and
 * the part of a pair's window it adds beyond the default profile's is checked against the
 * resolvers of that profile only.
 *
 * The fetches are fetch_run's (apex DNSKEY, DS with those carried by referrals, NS) and every
 * other RRset of the zone from the passive pairs.
 *
 * Each predicted pair window gets an outcome:
 *   held           some resolver held the pair inside the window (named);
 *   not_held       the capture covers the window, no drop window touches it, and no resolver
 *                  held the pair: the prediction did not materialise for the captured ones;
 *   inconclusive   nobody held it, but a capture drop window overlaps [lo - hold, hi): a
 *                  fetch may be missing;
 *   not_captured   no passive evidence over the window.
 *
 * The observatory's own queries are not a resolver's: a client address whose iterative
 * queries coincide (same server and type, within 20 ms) with the collectors' own polls for
 * at least 80 % of them (and 3 or more) is listed as excluded.
 *
 * Times are reference-clock microseconds (collector clock offsets removed). Nothing is
 * printed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "an_db.h"
#include "clock.h"
#include "fetch.h"
#include "iset.h"
#include "sigv.h"

/* Holding time of a fetch with TTL ttl_s under a measured profile, in microseconds. */
obs_usec_t fetch_pred_hold(int64_t ttl_s, enum fetch_profile p, int64_t stretch_s, int64_t stale_s);

/* Set ev[i].until (end of holding: min(t + hold(TTL), the next fetch of the same RRset)) and
 * ev[i].next for one resolver's fetches. The array is sorted in place by RRset (owner
 * case-insensitively, type, kind) then time. */
void fetch_pred_holds(fetch_event_t *ev, size_t n, enum fetch_profile p, int64_t stretch_s,
		      int64_t stale_s);

/* One resolver's co-holding of a pair: out = (union over a in A, b in B of [a.t, a.until) ∩
 * [b.t, b.until)) ∩ w. used_a / used_b (na / nb entries, may be NULL) mark the fetches that
 * contribute; *m1 (may be NULL) is set when some contributing b was fetched while its a was
 * held (fetch-time validation of b fails), false when only the reverse order (a fetched
 * while b was held: late validation, M2) contributes. Returns OBS_EOK or OBS_ENOMEM. */
int fetch_pred_coheld(const fetch_event_t *const *a, size_t na, const fetch_event_t *const *b,
		      size_t nb, const iset_t *w, iset_t *out, bool *used_a, bool *used_b,
		      bool *m1);

/* The attribution document of zone as of `at` (schemas/fetch-predicted.schema.json):
 * {zone, at, coverage, resolvers[], excluded[], drops[], profiles[], predicted[], summary}.
 * sv: the verification memo; opts may be NULL. Returns OBS_EOK, OBS_ENOENT (zone unknown to
 * the model), OBS_ELIMIT, OBS_ESQL or OBS_ENOMEM (a message in err). *out is owned by the
 * caller (json_decref). */
int fetch_pred_run(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at,
		   const fetch_opts_t *opts, json_t **out, char *err, size_t errlen);
