/* SPDX-License-Identifier: MIT */
/* Versions loaded from the analysis database, and the blob encoding of the collector schema:
 * a sequence of (2-byte length, bytes) items. For kinds 1/2 the items of rdata are RDATA and
 * those of rrsig are RRSIG RDATA; for kinds 3/4 both hold whole canonical RRs with TTL 0. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"

enum vers_kind { VK_ANSWER = 1, VK_REFERRAL = 2, VK_NXDOMAIN = 3, VK_NODATA = 4 };

typedef struct vers {
	int64_t id;
	uint8_t hash[32];
	int kind;
	char owner[256];
	uint16_t type;
	uint8_t *rdata;
	size_t rdata_len;
	uint8_t *rrsig;
	size_t rrsig_len;
	int64_t ttl_max_s; /* largest authoritative TTL, -1 when unknown */
	int64_t ttl_min_s;
} vers_t;

/* A cache of versions by id, loaded on demand. */
typedef struct vers_cache vers_cache_t;

int vers_cache_new(an_db_t *db, vers_cache_t **out);
void vers_cache_free(vers_cache_t *c);

/* The version with this id (owned by the cache), or NULL (no such row, or no memory). */
const vers_t *vers_get(vers_cache_t *c, int64_t id);

/* Iterate the items of a blob: returns true and sets *item and *len while items remain; false at
 * the end or on a truncated blob (*bad set true when bad != NULL). */
bool vers_next(const uint8_t *blob, size_t blen, size_t *pos, const uint8_t **item, size_t *len,
	       bool *bad);

/* Number of items in a blob. */
size_t vers_count(const uint8_t *blob, size_t blen);

/* True when both blobs hold the same items (blobs are canonical and sorted). */
bool vers_same_rdata(const vers_t *a, const vers_t *b);
