/* SPDX-License-Identifier: MIT */
/* Observed glitches: windows of lost validation (outcome bogus: SERVFAIL with CD=0, data with
 * CD=1) and lost resolution (outcome lost) per vantage and question, from the resolver polls,
 * with conservative bounds from the neighbouring polls. Vantages already failing during the
 * healthy baseline are reported (O-1) and their glitches marked excluded; vantages that never
 * validate are reported (O-3). Each glitch carries the versions the vantage's CD=1 reads showed
 * cached during it (the question itself, and the zone's DNSKEY and DS), with their remaining
 * TTL: the attribution. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"

#define OG_CACHED 8

typedef struct og_cached {
	int64_t version_id;
	char role[16];     /* question role of the CD=1 series: canary, dnskey, ds, soa, nx */
	int64_t ttl_s;     /* largest remaining TTL seen during the glitch */
	int64_t first_obs; /* evidence */
} og_cached_t;

typedef struct og_glitch {
	char vantage[160]; /* "collector/resolver" */
	char resolver[128];
	char address[80];
	const char *kind; /* "lost-validation" or "lost-resolution" */
	char qname[256];
	uint16_t qtype;
	char role[16];
	obs_usec_t lo; /* the last good poll before (outer bound); == first_bad if none */
	obs_usec_t first_bad, last_bad;
	obs_usec_t hi;   /* the next good poll (outer bound); INT64_MAX while open */
	int64_t polls;   /* failing polls */
	bool excluded;   /* the vantage was broken in the baseline (O-1) */
	bool validating; /* false for a vantage that never validates (O-3) */
	og_cached_t cached[OG_CACHED];
	size_t cached_n;
	int64_t first_obs, last_obs; /* evidence: CD=0 observation ids */
} og_glitch_t;

typedef struct og_vantage {
	char vantage[160];
	char resolver[128];
	char address[80];
	int64_t baseline_polls, baseline_fail; /* rounds in the baseline, failing rounds */
	obs_usec_t baseline_lo, baseline_hi;
	bool broken;        /* O-1: >= 80 % of baseline rounds failed */
	bool nonvalidating; /* O-3: never AD on the canaries, and the bogus canary answered */
	int64_t first_obs;  /* evidence */
} og_vantage_t;

typedef void (*og_glitch_fn)(void *arg, const og_glitch_t *g);
typedef void (*og_vantage_fn)(void *arg, const og_vantage_t *v);

/* Scan the resolver history of zone up to `at`. baseline: the healthy baseline's length from
 * the first resolver poll (0: 60 s). Either callback may be NULL. */
int og_run(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t baseline, og_glitch_fn gcb,
	   og_vantage_fn vcb, void *arg);
