/* SPDX-License-Identifier: MIT */
/* A hash map from 32-byte digests (SHA-256) to small records, open addressing, linear probing.
 * Keys are already uniform, so the first 8 bytes are the hash. Used for the store's memo of
 * versions and wires. Entries are owned by the map. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBS_HMAP_KEY 32

typedef struct obs_hmap_entry {
	uint8_t key[OBS_HMAP_KEY];
	int64_t id;     /* database row id */
	int64_t aux64;  /* caller's data (e.g. last seen) */
	uint32_t aux_a; /* caller's data (e.g. TTL max) */
	uint32_t aux_b; /* caller's data (e.g. TTL min) */
	uint8_t used;
	uint8_t dirty;
} obs_hmap_entry_t;

typedef struct obs_hmap {
	obs_hmap_entry_t *slots;
	size_t cap; /* power of two */
	size_t n;
	size_t max; /* bound on entries; obs_hmap_put clears the map when reached */
} obs_hmap_t;

/* Initialise with a bound on entries (0 = unbounded). Returns OBS_EOK or OBS_ENOMEM. */
int obs_hmap_init(obs_hmap_t *m, size_t max);
void obs_hmap_free(obs_hmap_t *m);

/* The entry for key, or NULL. */
obs_hmap_entry_t *obs_hmap_get(const obs_hmap_t *m, const uint8_t *key);

/* Insert key (must not be present); returns the new zeroed entry with key set and used = 1,
 * or NULL on allocation failure. When the bound is reached the map is emptied first
 * (*cleared set true) so memory stays bounded; callers fall back to the database. */
obs_hmap_entry_t *obs_hmap_put(obs_hmap_t *m, const uint8_t *key, bool *cleared);
