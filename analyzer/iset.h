/* SPDX-License-Identifier: MIT */
/* Interval sets over time (reference §5.9): sorted, disjoint, coalesced half-open intervals
 * [lo, hi) of microseconds, INT64_MIN / INT64_MAX standing for -inf / +inf. The cache-state
 * model's served, fetchable and possibly-cached sets, NS reachability and glitch windows are
 * all isets. An iset owns its array; operations write to a separate output set (which may
 * not alias an input) and return OBS_EOK or OBS_ENOMEM (the output is then empty). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define ISET_NEG_INF INT64_MIN
#define ISET_INF     INT64_MAX

typedef struct iset_ivl {
	obs_usec_t lo, hi;
} iset_ivl_t;

typedef struct iset {
	iset_ivl_t *v;
	size_t n, cap;
} iset_t;

#define ISET_INIT                                                                                  \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void iset_free(iset_t *s);
void iset_clear(iset_t *s);
int iset_copy(iset_t *dst, const iset_t *src);

/* Add [lo, hi) (ignored when lo >= hi), merging with what overlaps or touches it. */
int iset_add(iset_t *s, obs_usec_t lo, obs_usec_t hi);

int iset_and(const iset_t *a, const iset_t *b, iset_t *out);
int iset_or(const iset_t *a, const iset_t *b, iset_t *out);
/* a minus b */
int iset_minus(const iset_t *a, const iset_t *b, iset_t *out);
/* Each interval extended at its end: [lo, hi + d) (saturating at +inf). */
int iset_dilate(const iset_t *a, obs_usec_t d, iset_t *out);
/* The intersection with [lo, hi). */
int iset_clip(const iset_t *a, obs_usec_t lo, obs_usec_t hi, iset_t *out);

bool iset_empty(const iset_t *s);
bool iset_contains(const iset_t *s, obs_usec_t t);
/* The end of the last interval (ISET_INF when open; ISET_NEG_INF when empty). */
obs_usec_t iset_sup(const iset_t *s);
/* The start of the first interval (ISET_INF when empty). */
obs_usec_t iset_inf(const iset_t *s);
/* Total length of the finite part (open ends count up to `until`). */
obs_usec_t iset_measure(const iset_t *s, obs_usec_t until);
