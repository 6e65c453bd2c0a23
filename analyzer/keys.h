/* SPDX-License-Identifier: MIT */
/* The zone key table (reference §5.5): every DNSKEY / CDNSKEY RDATA seen, with algorithm, key
 * tag, flags and SHA-256 fingerprint, and the versions that publish it. Also DS RDATA
 * matching against keys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"

#define KEY_F_ZONE   0x0100u
#define KEY_F_REVOKE 0x0080u
#define KEY_F_SEP    0x0001u

typedef struct key_info {
	uint16_t flags;
	uint8_t proto;
	uint8_t alg;
	uint16_t tag;
	uint8_t fp[32]; /* SHA-256 over the DNSKEY RDATA */
} key_info_t;

/* Parse DNSKEY RDATA. Returns OBS_EOK or OBS_EMALFORMED (shorter than 4 bytes). */
int keys_parse(const uint8_t *rdata, size_t len, key_info_t *out);
/* The same without the fingerprint (out->fp zeroed): for the callers that only look at flags,
 * protocol, algorithm and tag (a SHA-256 per call was most of their time). */
int keys_parse_head(const uint8_t *rdata, size_t len, key_info_t *out);

/* Add the keys of every DNSKEY / CDNSKEY version with id > after_version_id to the key table.
 * *added receives the number of new keys. */
int keys_ingest_versions(an_db_t *db, int64_t after_version_id, int64_t *added);

typedef struct ds_info {
	uint16_t tag;
	uint8_t alg;
	uint8_t dtype;
	const uint8_t *digest;
	size_t dlen;
} ds_info_t;

/* Parse DS / CDS RDATA (pointers into rdata). Returns OBS_EOK or OBS_EMALFORMED. */
int keys_ds_parse(const uint8_t *rdata, size_t len, ds_info_t *out);

/* True when the DS matches the DNSKEY RDATA of zone (tag, algorithm and digest of
 * owner|RDATA; digest types 1, 2 and 4). */
bool keys_ds_matches(const ds_info_t *ds, const char *zone, const uint8_t *key, size_t keylen);

/* True when the digest type is one the analyzer (and a validator) supports: 1, 2, 4. */
bool keys_digest_supported(uint8_t dtype);

/* True for the DELETE records of RFC 8078: CDS "0 0 0 0" (tag 0, alg 0, type 0, digest 00)
 * or CDNSKEY "0 3 0 0" (flags 0, protocol 3, alg 0, key 00). */
bool keys_is_delete(uint16_t type, const uint8_t *rdata, size_t len);
