/* SPDX-License-Identifier: MIT */
/* popgen: a synthetic population for the population report (issue 6). Writes an analysis
 * database (schemas/analysis, through an_db) with N zones observed for D days by one
 * collector "pop" polling every 60 s, and prints on stdout, as JSON, what it injected:
 * transitions by kind and by month, steps taken early, observed glitches and their minutes,
 * parent pick-up latency samples per parent, and the resolvers that violate TTLs (T-1).
 *
 *   build/tools/popgen --db FILE [--zones 1000] [--days 30] [--seed 1]
 *
 * Each zone zNNNNN.pK. (K = zone index mod 3) is served by providers a and b (RFC 8901 model
 * 2: each signs with its own KSK and ZSK and imports the other's ZSK), TTLs 3600 s. Per zone,
 * in days 1..10, at most one key rollover (ZSK pre-publish at a or b; KSK double-DS at a or b
 * with CDS at both providers and a parent pick-up latency of 10 minutes to 6 hours for the DS
 * addition and for the removal), and in days 18..27 at most one provider change (c joins:
 * import, DS, apex NS, referral NS; b leaves: apex NS, referral NS, DS, unimport). A fifth of
 * each kind takes one step early (10 minutes after the step it must wait for, instead of two
 * hours). Resolver polls: unbound in every zone (good, with injected lost-validation and
 * lost-resolution windows of 1 to 30 polls), stretchy in every tenth zone (its cached DNSKEY
 * answer carries a TTL 600 s above the authoritative one). Keys and signatures are synthetic
 * (well-formed RDATA, key tags per RFC 4034 App. B, signature bytes random): the transition
 * analysis reads key tags, it does not verify signatures. Deterministic for a seed. */
#include <jansson.h>
#include <ldns/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "an_db.h"
#include "ochunk.h"
#include "keys.h"
#include "obs_err.h"
#include "timefmt.h"

#define POLL  (60 * OBS_USEC_PER_SEC)
#define HOUR  (3600 * OBS_USEC_PER_SEC)
#define DAY   (24 * HOUR)
#define TTL   3600
#define T0    INT64_C(1790812800000000) /* 2026-10-01T00:00:00Z */
#define MAXCH 16

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

typedef struct key {
	uint8_t rd[68];
	uint16_t tag;
} key_t_;

typedef struct blob {
	uint8_t b[4096];
	size_t n;
} blob_t;

struct gen {
	an_db_t *db;
	sqlite3 *sql;
	sqlite3_stmt *ins_target, *ins_series, *ins_version, *get_version, *ins_run;
	oc_writer_t *obs; /* the polls (analysis migration 9: chunks) */
	int64_t src;
	json_t *by_kind, *by_month, *pickups;
	int64_t total, early, glitches;
	double minutes;
};

static void key_new(key_t_ *k, bool ksk)
{
	k->rd[0] = 1;
	k->rd[1] = ksk ? 1 : 0;
	k->rd[2] = 3;
	k->rd[3] = 13;
	for (size_t i = 4; i < sizeof(k->rd); i++)
		k->rd[i] = (uint8_t)rnd();
	key_info_t ki;
	keys_parse(k->rd, sizeof(k->rd), &ki);
	k->tag = ki.tag;
}

static int item_cmp(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	size_t lx = ((size_t)x[0] << 8) | x[1], ly = ((size_t)y[0] << 8) | y[1];
	int c = memcmp(x + 2, y + 2, lx < ly ? lx : ly);
	return c ? c : (lx < ly ? -1 : lx > ly);
}

/* a blob of items, sorted (canonical order) */
static void blob_of(blob_t *out, uint8_t items[][300], const size_t *lens, size_t n)
{
	uint8_t tmp[16][302];
	const uint8_t *ptr[16];
	for (size_t i = 0; i < n; i++) {
		tmp[i][0] = (uint8_t)(lens[i] >> 8);
		tmp[i][1] = (uint8_t)lens[i];
		memcpy(tmp[i] + 2, items[i], lens[i]);
		ptr[i] = tmp[i];
	}
	qsort(ptr, n, sizeof(ptr[0]), item_cmp);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = ((size_t)ptr[i][0] << 8) | ptr[i][1];
		memcpy(out->b + out->n, ptr[i], l + 2);
		out->n += l + 2;
	}
}

static size_t wire_name(const char *name, uint8_t *out)
{
	size_t o = 0;
	const char *p = name;
	while (*p) {
		const char *d = strchr(p, '.');
		size_t l = d ? (size_t)(d - p) : strlen(p);
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p = d ? d + 1 : p + l;
	}
	out[o++] = 0;
	return o;
}

static size_t rrsig(uint8_t *out, uint16_t covered, const key_t_ *k, const char *zone)
{
	size_t o = 0;
	out[o++] = (uint8_t)(covered >> 8);
	out[o++] = (uint8_t)covered;
	out[o++] = 13;
	out[o++] = 2;
	uint32_t vals[3] = {TTL, (uint32_t)(T0 / OBS_USEC_PER_SEC) + 90 * 86400,
			    (uint32_t)(T0 / OBS_USEC_PER_SEC) - 86400};
	for (int i = 0; i < 3; i++) {
		out[o++] = (uint8_t)(vals[i] >> 24);
		out[o++] = (uint8_t)(vals[i] >> 16);
		out[o++] = (uint8_t)(vals[i] >> 8);
		out[o++] = (uint8_t)vals[i];
	}
	out[o++] = (uint8_t)(k->tag >> 8);
	out[o++] = (uint8_t)k->tag;
	o += wire_name(zone, out + o);
	for (int i = 0; i < 64; i++)
		out[o++] = (uint8_t)rnd();
	return o;
}

/* insert (or find) a version; returns its id */
static int64_t version(struct gen *g, int kind, const char *owner, int type, const blob_t *rd,
		       size_t rr_n, const blob_t *sig, size_t sig_n)
{
	uint8_t h[32];
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	ldns_sha256_update(&ctx, (const uint8_t *)owner, (unsigned)strlen(owner) + 1);
	uint8_t kt[2] = {(uint8_t)kind, (uint8_t)type};
	ldns_sha256_update(&ctx, kt, 2);
	ldns_sha256_update(&ctx, rd->b, (unsigned)rd->n);
	ldns_sha256_update(&ctx, sig->b, (unsigned)sig->n);
	ldns_sha256_final(h, &ctx);
	sqlite3_stmt *st = g->ins_version;
	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, type);
	sqlite3_bind_int64(st, 5, (int64_t)rr_n);
	sqlite3_bind_int64(st, 6, (int64_t)sig_n);
	sqlite3_bind_blob(st, 7, rd->b, (int)rd->n, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 8, sig->b, (int)sig->n, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 9, TTL);
	sqlite3_step(st);
	sqlite3_reset(g->get_version);
	sqlite3_bind_blob(g->get_version, 1, h, 32, SQLITE_TRANSIENT);
	int64_t id = sqlite3_step(g->get_version) == SQLITE_ROW
			 ? sqlite3_column_int64(g->get_version, 0)
			 : 0;
	return id;
}

static int64_t target(struct gen *g, const char *kind, const char *zone, const char *origin,
		      const char *host, const char *addr)
{
	sqlite3_stmt *st = g->ins_target;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, ++g->src);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, zone, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, origin, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, T0);
	sqlite3_step(st);
	return sqlite3_last_insert_rowid(g->sql);
}

static int64_t series(struct gen *g, int64_t tg, const char *qname, int qtype, int flags,
		      const char *role)
{
	sqlite3_stmt *st = g->ins_series;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, ++g->src);
	sqlite3_bind_int64(st, 2, tg);
	sqlite3_bind_text(st, 3, qname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, qtype);
	sqlite3_bind_int(st, 5, flags);
	sqlite3_bind_text(st, 6, role, -1, SQLITE_STATIC);
	sqlite3_step(st);
	return sqlite3_last_insert_rowid(g->sql);
}

/* the history of one authoritative series: versions from instants (on the poll grid) */
struct hist {
	obs_usec_t t[MAXCH];
	int64_t v[MAXCH];
	size_t n;
};

static void h_set(struct hist *h, obs_usec_t t, int64_t v)
{
	if (h->n && h->v[h->n - 1] == v)
		return;
	if (h->n < MAXCH) {
		h->t[h->n] = t;
		h->v[h->n++] = v;
	}
}

static void runs(struct gen *g, int64_t sid, const struct hist *h, obs_usec_t end)
{
	for (size_t i = 0; i < h->n; i++) {
		obs_usec_t first = h->t[i], next = i + 1 < h->n ? h->t[i + 1] : end + POLL;
		obs_usec_t last = next - POLL;
		sqlite3_stmt *st = g->ins_run;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, sid);
		sqlite3_bind_int64(st, 2, h->v[i]);
		sqlite3_bind_int64(st, 3, first);
		sqlite3_bind_int64(st, 4, last);
		sqlite3_bind_int64(st, 5, (last - first) / POLL + 1);
		if (i)
			sqlite3_bind_int64(st, 6, first - POLL);
		else
			sqlite3_bind_null(st, 6);
		if (i + 1 < h->n)
			sqlite3_bind_int64(st, 7, next);
		else
			sqlite3_bind_null(st, 7);
		sqlite3_bind_int(st, 8, TTL);
		sqlite3_step(st);
	}
}

static void obs(struct gen *g, int64_t sid, obs_usec_t t, int outcome, int64_t vid, int ttl)
{
	g->src++;
	oc_poll_t p = {.id = g->src,
		       .src_id = g->src,
		       .t = t,
		       .series_id = sid,
		       .collector_id = 1,
		       .has_rtt = true,
		       .rtt = 1000,
		       .has_rcode = true,
		       .has_flags = true,
		       .has_outcome = outcome != 0,
		       .outcome = outcome,
		       .has_version = vid != 0,
		       .version_id = vid,
		       .has_ttl = true,
		       .ttl_s = ttl};
	if (oc_writer_add(g->obs, &p) != OBS_EOK)
		fprintf(stderr, "popgen: poll of series %lld not stored\n", (long long)sid);
}

static void count(struct gen *g, const char *kind, obs_usec_t first)
{
	char month[16];
	time_t s = (time_t)(first / OBS_USEC_PER_SEC);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(month, sizeof(month), "%Y-%m", &tm);
	json_t *m = json_object_get(g->by_month, month);
	if (m == NULL) {
		m = json_object();
		json_object_set_new(g->by_month, month, m);
	}
	json_t *v = json_object_get(m, kind);
	json_object_set_new(m, kind, json_integer(v ? json_integer_value(v) + 1 : 1));
	v = json_object_get(g->by_kind, kind);
	json_object_set_new(g->by_kind, kind, json_integer(v ? json_integer_value(v) + 1 : 1));
	g->total++;
}

static void pickup(struct gen *g, const char *parent, obs_usec_t lat)
{
	json_t *a = json_object_get(g->pickups, parent);
	if (a == NULL) {
		a = json_array();
		json_object_set_new(g->pickups, parent, a);
	}
	json_array_append_new(a, json_real((double)lat / 1e6));
}

/* the state of one zone: per provider (a, b, c) its DNSKEY RRset, the keys signing it and
 * the SOA, its apex NS and CDS; at the parent the DS set and the referral */
#define NK 8
struct zone {
	char name[64];
	char parent[16];
	key_t_ keys[16];
	size_t nkeys;
	key_t_ *dnskey[3][NK];
	key_t_ *ksig[3], *zsig[3];
	unsigned ns[3];
	key_t_ *cds[3][NK];
	key_t_ *ds[NK];
	unsigned ref;
	int nprov; /* 2, or 3 when c exists (joins) */
	int64_t s_dnskey[3], s_soa[3], s_ns[3], s_cds[3], s_ds, s_ref;
	struct hist h_dnskey[3], h_soa[3], h_ns[3], h_cds[3], h_ds, h_ref;
};

static key_t_ *zkey(struct zone *z, bool ksk)
{
	key_t_ *k = &z->keys[z->nkeys++];
	for (;;) {
		key_new(k, ksk);
		bool dup = false;
		for (size_t i = 0; i + 1 < z->nkeys; i++)
			dup |= z->keys[i].tag == k->tag;
		if (!dup)
			return k;
	}
}

static void set_add(key_t_ **set, key_t_ *k)
{
	for (int i = 0; i < NK; i++)
		if (set[i] == k)
			return;
	for (int i = 0; i < NK; i++)
		if (set[i] == NULL) {
			set[i] = k;
			return;
		}
}

static void set_del(key_t_ **set, key_t_ *k)
{
	for (int i = 0; i < NK; i++)
		if (set[i] == k)
			set[i] = NULL;
}

static const char *const PROV[3] = {"a", "b", "c"};

static int64_t v_keys(struct gen *g, struct zone *z, key_t_ **set, int type, const key_t_ *signer,
		      bool ds)
{
	uint8_t items[NK][300];
	size_t lens[NK], n = 0;
	for (int i = 0; i < NK; i++) {
		if (set[i] == NULL)
			continue;
		if (ds) {
			items[n][0] = (uint8_t)(set[i]->tag >> 8);
			items[n][1] = (uint8_t)set[i]->tag;
			items[n][2] = 13;
			items[n][3] = 2;
			ldns_sha256(set[i]->rd, sizeof(set[i]->rd), items[n] + 4);
			lens[n++] = 36;
		} else {
			memcpy(items[n], set[i]->rd, sizeof(set[i]->rd));
			lens[n++] = sizeof(set[i]->rd);
		}
	}
	blob_t rd, sig;
	if (n == 0) { /* NODATA */
		rd.n = sig.n = 0;
		return version(g, 4, z->name, type, &rd, 0, &sig, 0);
	}
	blob_of(&rd, items, lens, n);
	size_t sl = 0;
	if (signer) {
		lens[0] = rrsig(items[0], (uint16_t)type, signer, z->name);
		sl = 1;
	}
	blob_of(&sig, items, lens, sl);
	return version(g, 1, z->name, type, &rd, n, &sig, sl);
}

static int64_t v_ns(struct gen *g, struct zone *z, unsigned mask, bool referral)
{
	uint8_t items[3][300];
	size_t lens[3], n = 0;
	for (int p = 0; p < 3; p++) {
		if (!(mask & (1u << p)))
			continue;
		char host[64];
		snprintf(host, sizeof(host), "ns1.%s.example.", PROV[p]);
		lens[n] = wire_name(host, items[n]);
		n++;
	}
	blob_t rd, sig = {.n = 0};
	blob_of(&rd, items, lens, n);
	return version(g, referral ? 2 : 1, z->name, 2, &rd, n, &sig, 0);
}

static int64_t v_soa(struct gen *g, struct zone *z, const key_t_ *signer)
{
	uint8_t items[1][300];
	size_t lens[1];
	size_t o = wire_name("ns1.a.example.", items[0]);
	o += wire_name("hostmaster.example.", items[0] + o);
	memset(items[0] + o, 0, 20);
	items[0][o + 3] = 1;
	lens[0] = o + 20;
	blob_t rd, sig;
	blob_of(&rd, items, lens, 1);
	lens[0] = rrsig(items[0], 6, signer, z->name);
	blob_of(&sig, items, lens, 1);
	return version(g, 1, z->name, 6, &rd, 1, &sig, 1);
}

/* record the versions every series serves from t on */
static void snap(struct gen *g, struct zone *z, obs_usec_t t)
{
	for (int p = 0; p < z->nprov; p++) {
		h_set(&z->h_dnskey[p], t, v_keys(g, z, z->dnskey[p], 48, z->ksig[p], false));
		h_set(&z->h_soa[p], t, v_soa(g, z, z->zsig[p]));
		h_set(&z->h_ns[p], t, v_ns(g, z, z->ns[p], false));
		h_set(&z->h_cds[p], t, v_keys(g, z, z->cds[p], 59, z->zsig[p], true));
	}
	h_set(&z->h_ds, t, v_keys(g, z, z->ds, 43, NULL, true));
	h_set(&z->h_ref, t, v_ns(g, z, z->ref, true));
}

static obs_usec_t grid(obs_usec_t t)
{
	return (t - T0 + POLL - 1) / POLL * POLL + T0;
}

static void zsk_roll(struct gen *g, struct zone *z, int p, obs_usec_t t, bool early)
{
	key_t_ *old = z->zsig[p], *nk = zkey(z, false);
	for (int q = 0; q < z->nprov; q++)
		set_add(z->dnskey[q], nk);
	snap(g, z, t);
	obs_usec_t t2 = t + (early ? 10 * POLL : 2 * HOUR);
	z->zsig[p] = nk;
	snap(g, z, t2);
	obs_usec_t t3 = t2 + 2 * HOUR;
	for (int q = 0; q < z->nprov; q++)
		set_del(z->dnskey[q], old);
	snap(g, z, t3);
	count(g, "zsk-rollover", t);
	g->early += early;
}

static void ksk_roll(struct gen *g, struct zone *z, int p, obs_usec_t t, bool early)
{
	key_t_ *old = z->ksig[p], *nk = zkey(z, true);
	/* CDS := DS + new at both providers, the parent picks it up after a latency */
	for (int q = 0; q < z->nprov; q++) {
		for (int i = 0; i < NK; i++)
			if (z->ds[i])
				set_add(z->cds[q], z->ds[i]);
		set_add(z->cds[q], nk);
	}
	snap(g, z, t);
	obs_usec_t l1 = (obs_usec_t)(10 + rnd() % 351) * POLL;
	obs_usec_t t2 = t + l1;
	set_add(z->ds, nk);
	snap(g, z, t2);
	pickup(g, z->parent, l1);
	obs_usec_t t3 = t2 + (early ? 10 * POLL : 2 * HOUR);
	set_del(z->dnskey[p], old);
	set_add(z->dnskey[p], nk);
	z->ksig[p] = nk;
	snap(g, z, t3);
	obs_usec_t t4 = t3 + 2 * HOUR;
	for (int q = 0; q < z->nprov; q++)
		set_del(z->cds[q], old);
	snap(g, z, t4);
	obs_usec_t l2 = (obs_usec_t)(10 + rnd() % 351) * POLL;
	obs_usec_t t5 = t4 + l2;
	set_del(z->ds, old);
	snap(g, z, t5);
	pickup(g, z->parent, l2);
	obs_usec_t t6 = t5 + HOUR;
	for (int q = 0; q < z->nprov; q++)
		memset(z->cds[q], 0, sizeof(z->cds[q]));
	snap(g, z, t6);
	count(g, "ksk-rollover", t);
	g->early += early;
}

static void join_c(struct gen *g, struct zone *z, obs_usec_t t, bool early)
{
	for (int q = 0; q < 2; q++)
		set_add(z->dnskey[q], z->zsig[2]);
	snap(g, z, t);
	obs_usec_t t2 = t + 2 * HOUR;
	set_add(z->ds, z->ksig[2]);
	snap(g, z, t2);
	obs_usec_t t3 = t2 + (early ? 10 * POLL : 2 * HOUR);
	for (int q = 0; q < 2; q++)
		z->ns[q] = 7;
	snap(g, z, t3);
	z->ref = 7;
	snap(g, z, t3 + HOUR);
	count(g, "provider-join", t);
	g->early += early;
}

static void leave_b(struct gen *g, struct zone *z, obs_usec_t t, bool early)
{
	z->ns[0] = z->ns[1] = 1;
	snap(g, z, t);
	obs_usec_t t2 = t + HOUR;
	z->ref = 1;
	snap(g, z, t2);
	obs_usec_t tu = t2 + 3 * HOUR, td = early ? t2 + 10 * POLL : t2 + 4 * HOUR;
	/* a unimports b's ZSK (tu) and the parent removes b's DS (td), in time order */
	key_t_ *zb = z->zsig[1], *kb = z->ksig[1];
	if (td < tu) {
		set_del(z->ds, kb);
		snap(g, z, td);
		set_del(z->dnskey[0], zb);
		snap(g, z, tu);
	} else {
		set_del(z->dnskey[0], zb);
		snap(g, z, tu);
		set_del(z->ds, kb);
		snap(g, z, td);
	}
	count(g, "provider-leave", t);
	g->early += early;
}

static int prepare(struct gen *g)
{
	static const char *const sql[6] = {
	    "INSERT INTO target (collector_id, src_id, kind, zone, origin, host, address, "
	    "first_seen) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    "INSERT INTO series (collector_id, src_id, target_id, qname, qtype, flags, role) "
	    "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
	    "INSERT INTO version (hash, kind, owner, type, rr_count, sig_count, rdata, rrsig, "
	    "ttl_max_s, ttl_min_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT "
	    "(hash) DO NOTHING",
	    "SELECT id FROM version WHERE hash = ?",
	    "INSERT INTO run (series_id, version_id, first_seen, last_seen, count, prev_poll, "
	    "next_poll, ttl_max_s, first_obs_id, last_obs_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, 0, 0)"};
	sqlite3_stmt **st[5] = {&g->ins_target, &g->ins_series, &g->ins_version, &g->get_version,
				&g->ins_run};
	if (oc_writer_new(g->sql, &g->obs) != OBS_EOK) {
		fprintf(stderr, "popgen: chunk writer: %s\n", sqlite3_errmsg(g->sql));
		return OBS_ESQL;
	}
	for (int i = 0; i < 5; i++)
		if (sqlite3_prepare_v2(g->sql, sql[i], -1, st[i], NULL) != SQLITE_OK) {
			fprintf(stderr, "popgen: %s: %s\n", sql[i], sqlite3_errmsg(g->sql));
			return OBS_ESQL;
		}
	return OBS_EOK;
}

static void zone_gen(struct gen *g, long i, obs_usec_t end)
{
	struct zone *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return;
	snprintf(z->parent, sizeof(z->parent), "p%ld.", i % 3);
	snprintf(z->name, sizeof(z->name), "z%05ld.%s", i, z->parent);
	/* which provider change: c joins (1 in 6), b leaves (1 in 6) */
	int change = (int)(rnd() % 6);
	z->nprov = change == 0 ? 3 : 2;
	for (int p = 0; p < z->nprov; p++) {
		z->ksig[p] = zkey(z, true);
		z->zsig[p] = zkey(z, false);
	}
	for (int p = 0; p < z->nprov; p++) {
		set_add(z->dnskey[p], z->ksig[p]);
		for (int q = 0; q < (p == 2 ? 3 : 2); q++)
			set_add(z->dnskey[p], z->zsig[q]);
		z->ns[p] = p == 2 ? 7 : 3;
	}
	set_add(z->ds, z->ksig[0]);
	set_add(z->ds, z->ksig[1]);
	z->ref = 3;
	char addr[64];
	snprintf(addr, sizeof(addr), "10.9.%ld.1", i % 3);
	int64_t tp = target(g, "parent", z->name, "PARENT", addr, addr);
	z->s_ds = series(g, tp, z->name, 43, 4, "ds");
	z->s_ref = series(g, tp, z->name, 2, 4, "referral");
	for (int p = 0; p < z->nprov; p++) {
		char host[64];
		snprintf(host, sizeof(host), "ns1.%s.example.", PROV[p]);
		snprintf(addr, sizeof(addr), "10.1.%d.1", p);
		int64_t t = target(g, "provider", z->name, PROV[p], host, addr);
		z->s_dnskey[p] = series(g, t, z->name, 48, 4, "dnskey");
		z->s_soa[p] = series(g, t, z->name, 6, 4, "soa");
		z->s_ns[p] = series(g, t, z->name, 2, 4, "ns");
		z->s_cds[p] = series(g, t, z->name, 59, 4, "cds");
	}
	snap(g, z, T0);
	/* a key rollover in days 1..10 (3 in 4 zones), a provider change in days 18..27 */
	int roll = (int)(rnd() % 8);
	if (roll < 6) {
		obs_usec_t t = grid(T0 + DAY + (obs_usec_t)(rnd() % (9 * 24)) * HOUR);
		bool early = rnd() % 5 == 0;
		if (roll < 4)
			zsk_roll(g, z, roll % 2, t, early);
		else
			ksk_roll(g, z, roll % 2, t, early);
	}
	if (change <= 1) {
		obs_usec_t t = grid(T0 + 18 * DAY + (obs_usec_t)(rnd() % (9 * 24)) * HOUR);
		bool early = rnd() % 5 == 0;
		if (change == 0)
			join_c(g, z, t, early);
		else
			leave_b(g, z, t, early);
	}
	for (int p = 0; p < z->nprov; p++) {
		runs(g, z->s_dnskey[p], &z->h_dnskey[p], end);
		runs(g, z->s_soa[p], &z->h_soa[p], end);
		runs(g, z->s_ns[p], &z->h_ns[p], end);
		runs(g, z->s_cds[p], &z->h_cds[p], end);
	}
	runs(g, z->s_ds, &z->h_ds, end);
	runs(g, z->s_ref, &z->h_ref, end);
	/* resolvers: unbound everywhere, stretchy in every tenth zone */
	int64_t tu = target(g, "resolver", z->name, "unbound", "unbound", "10.2.0.1");
	int64_t can = series(g, tu, z->name, 6, 5, "canary");
	int64_t cdk = series(g, tu, z->name, 48, 7, "dnskey");
	obs(g, can, T0, 1, 0, 0);
	obs(g, cdk, T0, 1, z->h_dnskey[0].v[0], TTL - 100);
	int ng = rnd() % 4 == 0 ? 1 + (int)(rnd() % 2) : 0;
	obs_usec_t tg = T0 + 2 * DAY;
	for (int k = 0; k < ng; k++) {
		tg = grid(tg + (obs_usec_t)(1 + rnd() % (10 * 24)) * HOUR);
		int n = 1 + (int)(rnd() % 30);
		int outcome = rnd() % 2 ? 3 : 4;
		obs(g, can, tg - POLL, 1, 0, 0);
		for (int j = 0; j < n; j++)
			obs(g, can, tg + j * POLL, outcome, 0, 0);
		obs(g, can, tg + n * POLL, 1, 0, 0);
		g->glitches++;
		g->minutes += n;
	}
	obs(g, can, end, 1, 0, 0);
	if (i % 10 == 3) {
		int64_t ts = target(g, "resolver", z->name, "stretchy", "stretchy", "10.2.0.2");
		int64_t sc = series(g, ts, z->name, 6, 5, "canary");
		int64_t sk = series(g, ts, z->name, 48, 7, "dnskey");
		obs(g, sc, T0, 1, 0, 0);
		obs(g, sk, T0 + HOUR, 1, z->h_dnskey[0].v[0], TTL + 600);
	}
	free(z);
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	long zones = 1000, days = 30;
	unsigned long seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--zones") == 0)
			zones = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--days") == 0)
			days = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoul(argv[i + 1], NULL, 10);
	}
	if (path == NULL || zones < 1 || zones > 100000 || days < 28 || days > 366) {
		fprintf(stderr,
			"usage: popgen --db FILE [--zones N (1..100000)] [--days D (28..366)] "
			"[--seed S]\n");
		return 2;
	}
	rng = 0x9E3779B97F4A7C15ull ^ (seed * 0x100000001B3ull);
	char err[256] = "";
	struct gen g = {0};
	remove(path);
	if (an_db_open(path, false, T0, &g.db, err, sizeof(err)) != OBS_EOK) {
		fprintf(stderr, "popgen: %s: %s\n", path, err);
		return 1;
	}
	g.sql = an_db_sql(g.db);
	g.by_kind = json_object();
	g.by_month = json_object();
	g.pickups = json_object();
	obs_usec_t end = T0 + days * DAY;
	int ret = 1;
	if (an_db_exec(
		g.db,
		"BEGIN; INSERT INTO collector (id, name, path, schema_version, first_ingest, "
		"last_ingest) VALUES (1, 'pop', 'popgen', 1, 0, 0)",
		err, sizeof(err)) != OBS_EOK ||
	    prepare(&g) != OBS_EOK) {
		fprintf(stderr, "popgen: %s\n", err);
		goto done;
	}
	for (long i = 0; i < zones; i++)
		zone_gen(&g, i, end);
	if (oc_writer_flush(g.obs) != OBS_EOK) {
		fprintf(stderr, "popgen: polls: %s\n", sqlite3_errmsg(g.sql));
		goto done;
	}
	if (an_db_exec(g.db, "COMMIT", err, sizeof(err)) != OBS_EOK) {
		fprintf(stderr, "popgen: %s\n", err);
		goto done;
	}
	json_t *pk = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(g.pickups, k, v)
	{
		size_t n = json_array_size(v);
		double *d = calloc(n, sizeof(*d));
		for (size_t j = 0; d && j < n; j++)
			d[j] = json_real_value(json_array_get(v, j));
		if (d)
			qsort(d, n, sizeof(*d), dbl_cmp);
		json_array_append_new(pk,
				      json_pack("{s:s, s:I, s:f}", "parent", k, "count",
						(json_int_t)n, "p50", d ? d[(n - 1) / 2] : 0.0));
		free(d);
	}
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN];
	json_t *viol = json_array();
	if (zones > 3)
		json_array_append_new(viol, json_string("pop/stretchy"));
	json_t *out = json_pack(
	    "{s:I, s:I, s:s, s:s, s:i, s:{s:I, s:O, s:O}, s:I, s:{s:I, s:f}, s:o, s:o}", "zones",
	    (json_int_t)zones, "days", (json_int_t)days, "start", obs_time_format(T0, a, sizeof(a)),
	    "end", obs_time_format(end, b, sizeof(b)), "poll_s", 60, "transitions", "total",
	    (json_int_t)g.total, "by_kind", g.by_kind, "by_month", g.by_month, "early_steps",
	    (json_int_t)g.early, "glitches", "count", (json_int_t)g.glitches, "minutes", g.minutes,
	    "pickup", pk, "ttl_violators", viol);
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	ret = 0;
done:
	sqlite3_finalize(g.ins_target);
	sqlite3_finalize(g.ins_series);
	sqlite3_finalize(g.ins_version);
	sqlite3_finalize(g.get_version);
	sqlite3_finalize(g.ins_run);
	oc_writer_free(g.obs);
	json_decref(g.by_kind);
	json_decref(g.by_month);
	json_decref(g.pickups);
	an_db_close(g.db);
	return ret;
}
