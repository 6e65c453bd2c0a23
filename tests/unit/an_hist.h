/* SPDX-License-Identifier: MIT */
/* Test helper: hand-built collector databases (the collector schema, rows inserted directly)
 * with real keys and signatures made by ldns at test time. Trusted test data only. */
#pragma once

#include <criterion/criterion.h>
#include <ldns/ldns.h>
#include <ldns/sha2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"

#define ZONE "example.lab."

typedef struct hist {
	sqlite3 *db;
	int64_t next_version;
} hist_t;

static inline void h_exec(hist_t *h, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

static inline void h_open(hist_t *h, const char *path, const char *name, int schema)
{
	unlink(path);
	cr_assert_eq(sqlite3_open(path, &h->db), SQLITE_OK);
	h_exec(h, "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT "
		  "NULL)");
	for (size_t i = 0; i < obs_collector_migrations_n; i++)
		h_exec(h, obs_collector_migrations[i].data);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_version VALUES (%d, 0); INSERT INTO meta VALUES "
		 "('collector', '%s')",
		 schema, name);
	h_exec(h, sql);
	h->next_version = 1;
}

static inline void h_close(hist_t *h)
{
	sqlite3_close(h->db);
}

static inline int64_t h_target(hist_t *h, const char *kind, const char *origin, const char *host,
			       const char *addr)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO target (kind, zone, origin, host, address, first_seen) VALUES "
		 "('%s', '%s', '%s', '%s', '%s', 0)",
		 kind, ZONE, origin, host, addr);
	h_exec(h, sql);
	return sqlite3_last_insert_rowid(h->db);
}

static inline int64_t h_series(hist_t *h, int64_t target, const char *qname, int qtype, int flags,
			       const char *role)
{
	char sql[512];
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO series (target_id, qname, qtype, flags, role) VALUES (%lld, '%s', %d, "
	    "%d, '%s')",
	    (long long)target, qname, qtype, flags, role);
	h_exec(h, sql);
	return sqlite3_last_insert_rowid(h->db);
}

static int h_item_cmp(const void *a, const void *b)
{
	const ldns_buffer *x = *(ldns_buffer *const *)a, *y = *(ldns_buffer *const *)b;
	size_t lx = ldns_buffer_position(x), ly = ldns_buffer_position(y);
	int c = memcmp(ldns_buffer_begin(x), ldns_buffer_begin(y), lx < ly ? lx : ly);
	return c ? c : (lx < ly ? -1 : lx > ly);
}

/* (2-byte length, RDATA)* of a list, canonical and sorted; caller frees */
static inline uint8_t *h_blob(const ldns_rr_list *l, size_t *len)
{
	size_t n = l ? ldns_rr_list_rr_count(l) : 0;
	ldns_buffer **b = calloc(n + 1, sizeof(*b));
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(l, i));
		ldns_rr2canonical(rr);
		b[i] = ldns_buffer_new(512);
		ldns_rr_rdata2buffer_wire(b[i], rr);
		total += 2 + ldns_buffer_position(b[i]);
		ldns_rr_free(rr);
	}
	qsort(b, n, sizeof(*b), h_item_cmp);
	uint8_t *out = malloc(total + 1), *p = out;
	for (size_t i = 0; i < n; i++) {
		size_t il = ldns_buffer_position(b[i]);
		*p++ = (uint8_t)(il >> 8);
		*p++ = (uint8_t)il;
		memcpy(p, ldns_buffer_begin(b[i]), il);
		p += il;
		ldns_buffer_free(b[i]);
	}
	free(b);
	*len = total;
	return out;
}

/* Insert a version (kind 1) of rrset + sigs; returns its id. */
static inline int64_t h_version(hist_t *h, const char *owner, int type, const ldns_rr_list *rrs,
				const ldns_rr_list *sigs)
{
	size_t rl, sl;
	uint8_t *rd = h_blob(rrs, &rl), *sd = h_blob(sigs, &sl);
	uint8_t hash[32];
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	ldns_sha256_update(&ctx, (const uint8_t *)owner, (unsigned)strlen(owner));
	ldns_sha256_update(&ctx, (const uint8_t *)&type, sizeof(type));
	ldns_sha256_update(&ctx, rd, rl);
	ldns_sha256_update(&ctx, sd, sl);
	ldns_sha256_final(hash, &ctx);
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(h->db,
			       "INSERT INTO version (hash, kind, owner, type, rr_count, "
			       "sig_count, rdata, rrsig, ttl_max_s, ttl_min_s, first_seen, "
			       "last_seen) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0) ON "
			       "CONFLICT (hash) DO NOTHING",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, type);
	sqlite3_bind_int(st, 4, rrs ? (int)ldns_rr_list_rr_count(rrs) : 0);
	sqlite3_bind_int(st, 5, sigs ? (int)ldns_rr_list_rr_count(sigs) : 0);
	sqlite3_bind_blob(st, 6, rd, (int)rl, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 7, sd, (int)sl, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(rd);
	free(sd);
	cr_assert_eq(
	    sqlite3_prepare_v2(h->db, "SELECT id FROM version WHERE hash = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* one answered observation (AA, NOERROR) of a version (0: none) with TTL; status / outcome */
static inline void h_obs(hist_t *h, int64_t series, double t_s, int status, int rcode, int flags,
			 int64_t version, int ttl, int outcome)
{
	char sql[512], v[32], o[32];
	snprintf(v, sizeof(v), version > 0 ? "%lld" : "NULL", (long long)version);
	snprintf(o, sizeof(o), outcome > 0 ? "%d" : "NULL", outcome);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO observation (t, series_id, attempt, transport, status, rtt, rcode, "
	    "flags, outcome, version_id, ttl_s) VALUES (%lld, %lld, 0, 0, %d, 100, %d, %d, %s, "
	    "%s, %d)",
	    (long long)(t_s * 1e6), (long long)series, status, rcode, flags, o, v, ttl);
	h_exec(h, sql);
}

/* a key of zone: ksk (flags 257) or zsk (256) */
static inline ldns_key *h_key(int alg, bool ksk)
{
	ldns_key *k = ldns_key_new_frm_algorithm((ldns_signing_algorithm)alg,
						 alg == LDNS_RSASHA256 ? 1024 : 256);
	cr_assert_not_null(k);
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str(ZONE));
	ldns_key_set_flags(k, ksk ? 257 : 256);
	ldns_rr *r = ldns_key2rr(k); /* the cached key tag was computed with the old flags */
	ldns_key_set_keytag(k, ldns_calc_keytag(r));
	ldns_rr_free(r);
	return k;
}

static inline ldns_rr_list *h_sign(ldns_rr_list *set, ldns_key *k, uint32_t inc, uint32_t exp)
{
	ldns_key_set_inception(k, inc);
	ldns_key_set_expiration(k, exp);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_key_list_push_key(kl, k);
	ldns_rr_list *sigs = ldns_sign_public(set, kl);
	ldns_key_list_set_key_count(kl, 0); /* the key stays the caller's */
	ldns_key_list_free(kl);
	cr_assert_not_null(sigs);
	return sigs;
}
