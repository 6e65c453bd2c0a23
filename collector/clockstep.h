/* SPDX-License-Identifier: MIT */
/* Wall-clock step detection (reliability target E4, C10): observation times come from
 * CLOCK_REALTIME, which NTP or an operator may step; CLOCK_MONOTONIC is never stepped. Between
 * two consecutive checks both clocks should advance by the same amount; when the realtime delta
 * differs from the monotonic delta by more than CSTEP_THRESHOLD, the wall clock was stepped
 * (forward or backward) somewhere between the two checks. Pure logic: the caller reads both
 * clocks (injected, clock.h) and passes the readings in. */
#pragma once

#include <stdbool.h>

#include "clock.h"

/* A disagreement larger than this is a step (NTP slews at most 500 ppm, far below it). */
#define CSTEP_THRESHOLD OBS_USEC_PER_SEC

/* One detected step. The realtime readings bracket it: observations stamped before it carry
 * the old timeline, those after it the new one, so realtime instants between
 * min(t_before, t_after) and max(t_before, t_after) are ambiguous. */
typedef struct cstep_event {
	obs_usec_t t_before;    /* realtime at the previous check */
	obs_usec_t t_after;     /* realtime at the check that saw the step */
	obs_usec_t mono_before; /* monotonic at the previous check */
	obs_usec_t mono_after;  /* monotonic at this check */
	obs_usec_t step;        /* (t_after - t_before) - (mono_after - mono_before): > 0 forward */
} cstep_event_t;

/* The detector's state: the last readings. Zero-initialise (the first check only primes it). */
typedef struct cstep {
	obs_usec_t real, mono;
	bool primed;
} cstep_t;

/* Check the readings real (CLOCK_REALTIME) and mono (CLOCK_MONOTONIC) taken now against the
 * previous check. Returns true and fills *ev when the wall clock stepped since then. The
 * readings become the new reference either way. */
bool cstep_check(cstep_t *s, obs_usec_t real, obs_usec_t mono, cstep_event_t *ev);
