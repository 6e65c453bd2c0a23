/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "clock.h"

static obs_usec_t clock_real_now(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (obs_usec_t)ts.tv_sec * OBS_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static obs_usec_t clock_manual_now(void *arg)
{
	return *(const obs_usec_t *)arg;
}

obs_clock_t obs_clock_real(void)
{
	return (obs_clock_t){.now = clock_real_now, .arg = NULL};
}

obs_clock_t obs_clock_manual(obs_usec_t *t)
{
	return (obs_clock_t){.now = clock_manual_now, .arg = t};
}

obs_usec_t obs_mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (obs_usec_t)ts.tv_sec * OBS_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static obs_usec_t clock_mono_now(void *arg)
{
	(void)arg;
	return obs_mono_now();
}

obs_clock_t obs_clock_mono(void)
{
	return (obs_clock_t){.now = clock_mono_now, .arg = NULL};
}
