/* SPDX-License-Identifier: MIT */
/* Detectors (reference §3): a const table {id, severity, fn}. Each detector looks at the
 * zone's authoritative state at an instant (what every server serves, from the runs) or at
 * the resolver history, and reports findings through a callback; nothing is printed. The
 * driver evaluates the state detectors at every instant the served state changes up to
 * `at`, and merges identical findings into one time window. Model-2 multi-signer zones are
 * judged the way a resolver sees self-contained answers: each provider's DNSKEY RRset against
 * the parent DS set, each provider's data against each DNSKEY RRset a resolver can hold with
 * it (its own provider's, and in M0 every other provider's: V-2). Only what resolvers can reach
 * is judged: a provider takes part at t only while it is NS-reachable (nsr.h, reference §5.3);
 * a provider's findings about itself while unreachable are INFO and say so, cross-provider
 * pairs with an unreachable side and R-1 at unreachable servers are not reported.
 * The detectors live in one module per family (detect_v.c, detect_r.c, detect_t.c,
 * detect_c.c, detect_cw.c, detect_a.c, detect_o.c; private header detect_int.h); det_catalogue
 * lists every ID they report. T-5 (i) and (ii) come from the collectors' ttl_anomaly rows (the
 * observation keeps one TTL, the smallest of the RRset; the anomaly row the RRs' and RRSIGs'
 * range); for a negative proof they are not recorded. Times are in the reference collector's
 * clock (run_ref, observation times minus the collector's measured offset). Not reported,
 * because the collected data cannot show them: N-1's SOA half (the SOA TTL of a negative answer
 * is kept as min(SOA TTL, MINIMUM)), O-2's good-canary half (no canary outside the zone is
 * polled). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "sigv.h"

enum det_sev { SEV_INFO = 0, SEV_WARN = 1, SEV_ERROR = 2, SEV_CRITICAL = 3 };

extern const char *const det_sev_names[4];

#define DET_EVIDENCE 8

typedef struct det_finding {
	const char *id; /* catalogue ID, e.g. "V-1b" (static) */
	enum det_sev sev;
	const char *zone;
	char provider[64]; /* "" when not about one provider */
	char server[80];   /* address, "" when not about one server */
	char vantage[128]; /* "collector/resolver", "" when not about a vantage */
	obs_usec_t lo, hi; /* window [lo, hi); hi == INT64_MAX: still open at `at` */
	char msg[320];
	int64_t versions[DET_EVIDENCE]; /* evidence: version row ids */
	size_t versions_n;
	int64_t obs[DET_EVIDENCE]; /* evidence: observation row ids */
	size_t obs_n;
} det_finding_t;

/* Called once per merged finding; f is valid during the call only. */
typedef void (*det_report_fn)(void *arg, const det_finding_t *f);

typedef struct det_entry {
	const char *id;
	enum det_sev sev; /* default severity (some detectors escalate, e.g. V-1a) */
	const char *what;
} det_entry_t;

/* The catalogue entries the detectors can report, for documentation and --help. */
extern const det_entry_t det_catalogue[];
extern const size_t det_catalogue_n;

typedef struct det_opts {
	obs_usec_t baseline; /* healthy baseline from the first resolver poll (0: 60 s) */
} det_opts_t;

/* Run every detector for zone over the history up to `at`. sv is the verification memo
 * (shared so repeated runs verify nothing twice). Returns OBS_EOK, OBS_ESQL or OBS_ENOMEM. */
int det_run(an_db_t *db, const char *zone, obs_usec_t at, const det_opts_t *opts, sigv_t *sv,
	    det_report_fn cb, void *arg);
