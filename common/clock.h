/* SPDX-License-Identifier: MIT */
/* The clock seam: logic takes `now` from an injected clock, never from the wall clock. */
#pragma once

#include <stdint.h>

/* Microseconds since the epoch, UTC. */
typedef int64_t obs_usec_t;

#define OBS_USEC_PER_SEC INT64_C(1000000)

typedef struct obs_clock {
	obs_usec_t (*now)(void *arg);
	void *arg;
} obs_clock_t;

/* The real clock (CLOCK_REALTIME). */
obs_clock_t obs_clock_real(void);

/* A manual clock for tests: now() returns *arg. */
obs_clock_t obs_clock_manual(obs_usec_t *t);

static inline obs_usec_t obs_clock_now(const obs_clock_t *c)
{
	return c->now(c->arg);
}

/* t + off, saturated at the ends of the range (an instant shifted by a clock offset). */
static inline obs_usec_t obs_usec_shift(obs_usec_t t, int64_t off)
{
	if (off > 0 && t > INT64_MAX - off)
		return INT64_MAX;
	if (off < 0 && t < INT64_MIN - off)
		return INT64_MIN;
	return t + off;
}

/* Monotonic microseconds, for measuring durations only (latency, deadlines on the loop). */
obs_usec_t obs_mono_now(void);

/* The monotonic clock (CLOCK_MONOTONIC, obs_mono_now) behind the same seam as the real one, so
 * a test can inject both (wall-clock step detection compares their deltas). */
obs_clock_t obs_clock_mono(void);
