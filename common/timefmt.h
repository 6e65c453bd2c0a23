/* SPDX-License-Identifier: MIT */
/* Time and duration text: RFC 3339 UTC with milliseconds, and Knot-style durations. */
#pragma once

#include <stddef.h>

#include "clock.h"

#define OBS_TIME_STRLEN 32

/* Format t as "2026-11-27T22:09:14.123Z" into buf (at least OBS_TIME_STRLEN bytes).
 * Returns buf. */
char *obs_time_format(obs_usec_t t, char *buf, size_t len);

/* Parse RFC 3339 ("...Z" or "+hh:mm", optional fraction) or "+SECONDS" / "-SECONDS"
 * relative to now. Returns OBS_EOK or OBS_ESYNTAX. */
int obs_time_parse(const char *s, obs_usec_t now, obs_usec_t *out);

/* Parse a duration: a number with an optional unit us, ms, s (default), m, h, d.
 * Returns OBS_EOK, OBS_ESYNTAX or OBS_ERANGE (negative or overflowing). */
int obs_duration_parse(const char *s, obs_usec_t *out);
