/* SPDX-License-Identifier: MIT */
/* Signature verification, memoised: each (RRset content, RRSIG, DNSKEY) is verified
 * cryptographically once with ldns (ldns_verify_rrsig_keylist_notime) and the result kept in
 * memory and in the analysis database (table sigcheck). Time validity is not part of the
 * memo: it is the segment [inception, expiration] of the RRSIG, resolved from RFC 1982 serial
 * arithmetic to absolute time around a reference instant, and judged at any instant. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "vers.h"

typedef struct sigv sigv_t;

typedef struct sig_info {
	uint16_t covered;
	uint8_t alg;
	uint8_t labels;
	uint32_t orig_ttl;
	uint32_t exp_serial, inc_serial;
	uint16_t tag;
} sig_info_t;

typedef struct sigv_res {
	bool usable;    /* algorithm and tag match, zone bit set, not revoked, type covered */
	bool crypto_ok; /* the signature verifies with this key (only when usable) */
	obs_usec_t inception, expiration; /* valid while inception <= t <= expiration */
} sigv_res_t;

/* persist: also write new results to the sigcheck table (ignored when the database is
 * read-only). Results already stored are loaded. */
int sigv_new(an_db_t *db, bool persist, sigv_t **out);
void sigv_free(sigv_t *sv);

/* The RRSIG RDATA of a signature item of version v (for kinds 3/4 the item is a whole RR).
 * Returns OBS_EOK or OBS_EMALFORMED. */
int sigv_rdata(const vers_t *v, const uint8_t *item, size_t len, const uint8_t **rd, size_t *rdlen);

/* Parse RRSIG RDATA. */
int sigv_info(const uint8_t *rd, size_t len, sig_info_t *out);

/* Resolve a 32-bit serial time to absolute microseconds, nearest to tref (RFC 1982). */
obs_usec_t sigv_abs_time(uint32_t serial, obs_usec_t tref);

/* Judge the signature item of version v against DNSKEY RDATA key of zone. tref anchors the
 * serial arithmetic (use the time the version was served). */
int sigv_check(sigv_t *sv, const vers_t *v, const uint8_t *item, size_t len, const char *zone,
	       const uint8_t *key, size_t keylen, obs_usec_t tref, sigv_res_t *out);

/* Cryptographic verifications done, and distinct (RRset, RRSIG, key) triples seen. */
uint64_t sigv_verifications(const sigv_t *sv);
uint64_t sigv_pairs(const sigv_t *sv);

/* The signed RRsets of a version whose signatures must each validate: one for a positive
 * answer (the signatures covering its type), one per (owner, type covered) of a negative
 * proof, at most SIGV_GROUPS. */
#define SIGV_GROUPS 16
typedef struct sigv_groups {
	const uint8_t *owner[SIGV_GROUPS];
	size_t olen[SIGV_GROUPS];
	uint16_t covered[SIGV_GROUPS];
	size_t n;
} sigv_groups_t;

/* The group of signature item (of v's rrsig blob) and its parsed fields in *si; -1 when the
 * item does not count (another type covered, unparsable, or a group beyond SIGV_GROUPS). g
 * starts zeroed and collects the groups seen. */
int sigv_group(const vers_t *v, sigv_groups_t *g, const uint8_t *item, size_t len, sig_info_t *si);
