/* SPDX-License-Identifier: MIT */
/* obs-web's document cache (wc_): finished 200 replies of GET documents under /api/v1, keyed
 * by the request URI (path and query as sent). An entry is served only while the data
 * generation it was built from is current (every ingest round that brings new data moves the
 * generation on) and for at most WC_MAX_AGE: documents that depend on the current time
 * (status, data_age, the timeline's default span) are at most that much late. POST (whatif)
 * and errors are never cached. Bounded: WC_SLOTS entries and WC_MAX_BYTES of bodies, least
 * recently used evicted first. The cache owns copies of keys and bodies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define WC_SLOTS     128
#define WC_MAX_BYTES (32u << 20)
#define WC_MAX_AGE   1000000 /* microseconds */
#define WC_MAX_KEY   2048    /* longer URIs are not cached */

typedef struct wc wc_t;

/* Returns OBS_EOK or OBS_ENOMEM. */
int wc_new(wc_t **out);
void wc_free(wc_t *c);

/* The cached body for key built at generation gen and at most WC_MAX_AGE before now, or NULL
 * (a stale entry is dropped). The body stays valid until the next wc_put or wc_free. *built
 * receives the time it was built, *tag the entry's tag ("" when none). */
const char *wc_get(wc_t *c, const char *key, uint64_t gen, obs_usec_t now, size_t *len,
		   obs_usec_t *built, const char **tag);

/* Store a copy of body for key (replacing an entry with the same key). A body larger than a
 * quarter of WC_MAX_BYTES or a key longer than WC_MAX_KEY is not stored. Allocation failures
 * leave the cache without the entry (a cache miss later, nothing else). tag (NULL: none) is
 * a short word kept with the entry (the status word, for the verdict metrics) and returned by
 * wc_get. */
void wc_put(wc_t *c, const char *key, uint64_t gen, obs_usec_t now, const char *body, size_t len,
	    const char *tag);

typedef struct wc_stats {
	uint64_t hits, misses, stores, evictions;
	size_t entries, bytes;
} wc_stats_t;

void wc_stats(const wc_t *c, wc_stats_t *out);
