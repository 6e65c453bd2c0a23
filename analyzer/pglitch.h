/* SPDX-License-Identifier: MIT */
/* Predicted glitches (reference §5.6, Algorithm A): every pair of versions a resolver may
 * combine, (DS, DNSKEY) and (DNSKEY, data), whose availability in a tier overlaps the times
 * the pair does not validate, and every server that is lame while resolvers may query it.
 * Tiers (reference §5.4): M0 both fetched, M1 the first cached and the second fetched
 * (fetch-time validation), M2 both possibly cached. A pair's M1 window is reported without
 * its M0 part, its M2 window without its M1 part. */
#pragma once

#include <stdbool.h>

#include "detect.h"
#include "iset.h"
#include "model.h"

enum pg_tier { PG_M0 = 0, PG_M1 = 1, PG_M2 = 2 };

extern const char *const pg_tier_names[3];

typedef struct pg_glitch {
	const char *id; /* "V-1", "V-2", "V-3" (signature time), "R-1p", "R-1a" */
	enum pg_tier tier;
	enum det_sev sev;   /* M0/M1: ERROR (R-1a: CRITICAL), M2: WARN, R-1p: WARN; an M0/M1
			     * window that lies only between two polls around a change: WARN */
	bool uncertain;     /* the window depends on when, between two polls, a change happened */
	int a, b;           /* version indexes in the model (DS or DNSKEY, then DNSKEY or data) */
	int server;         /* the server index; -1 otherwise */
	const iset_t *when; /* the window (valid during the callback) */
	char reason[256];
} pg_glitch_t;

typedef void (*pg_fn)(void *arg, const pg_glitch_t *g);

/* The window of pair (a, b) in tier t: availability minus the times the pair validates.
 * a is a DS version and b a DNSKEY version (chain), or a is a DNSKEY version and b any other
 * provider version (signatures). F and C come from the last mdl_avail. */
int pg_pair_window(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, enum pg_tier t,
		   bool strict, iset_t *out);

/* The same from the narrow sets (Fs, Cs): the part of the window that happened whatever the
 * exact change times between polls were. */
int pg_pair_window_certain(const mdl_t *m, const mdl_ver_t *a, const mdl_ver_t *b, enum pg_tier t,
			   bool strict, iset_t *out);

/* True when (a, b) is a pair the model judges (classes fit). */
bool pg_is_pair(const mdl_ver_t *a, const mdl_ver_t *b);

/* Run Algorithm A on model m (mdl_avail already called with profile p); windows clipped to
 * [from, +inf). */
int pg_run(mdl_t *m, const mdl_prof_t *p, obs_usec_t from, pg_fn cb, void *arg);
