/* SPDX-License-Identifier: MIT */
/* Transitions (trans.h) on small hand-made analysis databases: versions with well-formed
 * synthetic DNSKEY / RRSIG / DS / NS RDATA, runs with their poll bounds. Each world is named
 * after what it shows. Also the content extraction and the HTML escaping of reports. */
#include <criterion/criterion.h>
#include <ldns/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "obs_err.h"
#include "report.h"
#include "trans.h"

#define Z   "t.lab."
#define SEC INT64_C(1000000)
#define T0  (INT64_C(1700000000) * SEC)

typedef struct tkey {
	uint8_t rd[36];
	uint16_t tag;
} tkey_t;

static void mkkey(tkey_t *k, uint8_t seed, bool ksk)
{
	k->rd[0] = 1;
	k->rd[1] = ksk;
	k->rd[2] = 3;
	k->rd[3] = 13;
	for (size_t i = 4; i < sizeof(k->rd); i++)
		k->rd[i] = (uint8_t)(seed * 31 + i);
	key_info_t ki;
	cr_assert_eq(keys_parse(k->rd, sizeof(k->rd), &ki), OBS_EOK);
	k->tag = ki.tag;
}

/* a blob of items (2-byte length, bytes), in the given order */
static size_t blob(uint8_t *out, const uint8_t *const *items, const size_t *lens, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		out[o++] = (uint8_t)(lens[i] >> 8);
		out[o++] = (uint8_t)lens[i];
		memcpy(out + o, items[i], lens[i]);
		o += lens[i];
	}
	return o;
}

static size_t sig_rd(uint8_t *o, uint16_t covered, const tkey_t *k)
{
	memset(o, 0, 24);
	o[0] = (uint8_t)(covered >> 8);
	o[1] = (uint8_t)covered;
	o[2] = 13;
	o[16] = (uint8_t)(k->tag >> 8);
	o[17] = (uint8_t)k->tag;
	o[18] = 0; /* root signer name, then 5 bytes of "signature" */
	return 24;
}

struct db {
	an_db_t *db;
	char path[64];
	int64_t src;
};

static void ex(struct db *d, const char *sql)
{
	char err[256];
	cr_assert_eq(an_db_exec(d->db, sql, err, sizeof(err)), OBS_EOK, "%s: %s", sql, err);
}

static int64_t ins_version(struct db *d, int kind, int type, const uint8_t *rd, size_t rl,
			   const uint8_t *sg, size_t sl)
{
	static int64_t uniq;
	uint8_t h[32];
	ldns_sha256_CTX c;
	ldns_sha256_init(&c);
	ldns_sha256_update(&c, rd, (unsigned)rl);
	ldns_sha256_update(&c, sg, (unsigned)sl);
	uniq++;
	ldns_sha256_update(&c, (const uint8_t *)&uniq, sizeof(uniq));
	ldns_sha256_final(h, &c);
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(an_db_sql(d->db),
			       "INSERT INTO version (hash, kind, owner, type, rr_count, "
			       "sig_count, rdata, rrsig, ttl_max_s, ttl_min_s) VALUES (?, ?, "
			       "'" Z "', ?, 1, 1, ?, ?, 3600, 3600)",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_int(st, 3, type);
	sqlite3_bind_blob(st, 4, rd, (int)rl, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, sg, (int)sl, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(an_db_sql(d->db));
}

/* DNSKEY RRset of keys, signed by signer */
static int64_t v_dnskey(struct db *d, const tkey_t *const *keys, size_t n, const tkey_t *signer)
{
	uint8_t rd[1024], sg[64], s[64];
	const uint8_t *it[8];
	size_t l[8];
	for (size_t i = 0; i < n; i++) {
		it[i] = keys[i]->rd;
		l[i] = sizeof(keys[i]->rd);
	}
	size_t rl = blob(rd, it, l, n);
	const uint8_t *si[1] = {s};
	size_t sl1[1] = {sig_rd(s, 48, signer)};
	return ins_version(d, 1, 48, rd, rl, sg, blob(sg, si, sl1, 1));
}

static int64_t v_soa(struct db *d, const tkey_t *signer)
{
	uint8_t rd[64], sg[64], soa[22] = {0}, s[64];
	const uint8_t *ri[1] = {soa}, *si[1] = {s};
	size_t rl1[1] = {sizeof(soa)}, sl1[1] = {sig_rd(s, 6, signer)};
	size_t rl = blob(rd, ri, rl1, 1);
	return ins_version(d, 1, 6, rd, rl, sg, blob(sg, si, sl1, 1));
}

static int64_t v_ds(struct db *d, const tkey_t *const *keys, size_t n)
{
	uint8_t rd[512], ds[8][8];
	const uint8_t *it[8];
	size_t l[8];
	for (size_t i = 0; i < n; i++) {
		ds[i][0] = (uint8_t)(keys[i]->tag >> 8);
		ds[i][1] = (uint8_t)keys[i]->tag;
		ds[i][2] = 13;
		ds[i][3] = 2;
		memset(ds[i] + 4, 0xab, 4);
		it[i] = ds[i];
		l[i] = 8;
	}
	return ins_version(d, 1, 43, rd, blob(rd, it, l, n), (const uint8_t *)"", 0);
}

static int64_t target(struct db *d, const char *kind, const char *origin, const char *host)
{
	char sql[512];
	long long id = ++d->src;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO target (collector_id, src_id, kind, zone, origin, host, address, "
		 "first_seen) VALUES (1, %lld, '%s', '" Z "', '%s', '%s', '10.0.0.%lld', 0)",
		 id, kind, origin, host, id);
	ex(d, sql);
	return sqlite3_last_insert_rowid(an_db_sql(d->db));
}

static int64_t series(struct db *d, int64_t tg, int qtype, const char *role)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO series (collector_id, src_id, target_id, qname, qtype, flags, role) "
		 "VALUES (1, %lld, %lld, '" Z "', %d, 4, '%s')",
		 (long long)++d->src, (long long)tg, qtype, role);
	ex(d, sql);
	return sqlite3_last_insert_rowid(an_db_sql(d->db));
}

/* runs of a series: versions v[i] from second t[i] (polls every second) to the end (s_end) */
static void runs(struct db *d, int64_t sid, const int64_t *t, const int64_t *v, size_t n,
		 int64_t s_end)
{
	for (size_t i = 0; i < n; i++) {
		int64_t first = T0 + t[i] * SEC, next = i + 1 < n ? T0 + t[i + 1] * SEC : 0;
		int64_t last = next ? next - SEC : T0 + s_end * SEC;
		char sql[512], prev[32] = "NULL", nx[32] = "NULL";
		if (i)
			snprintf(prev, sizeof(prev), "%lld", (long long)(first - SEC));
		if (next)
			snprintf(nx, sizeof(nx), "%lld", (long long)next);
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO run (series_id, version_id, first_seen, last_seen, count, "
		    "prev_poll, next_poll, ttl_max_s, first_obs_id, last_obs_id) VALUES (%lld, "
		    "%lld, %lld, %lld, %lld, %s, %s, 3600, 0, 0)",
		    (long long)sid, (long long)v[i], (long long)first, (long long)last,
		    (long long)((last - first) / SEC + 1), prev, nx);
		ex(d, sql);
	}
}

static void open_db(struct db *d)
{
	char err[256];
	snprintf(d->path, sizeof(d->path), "/tmp/obs-trans-%d.db", getpid());
	unlink(d->path);
	cr_assert_eq(an_db_open(d->path, false, T0, &d->db, err, sizeof(err)), OBS_EOK, "%s", err);
	ex(d, "INSERT INTO collector (id, name, path, schema_version, first_ingest, last_ingest) "
	      "VALUES (1, 'unit', 'x', 1, 0, 0)");
}

static void close_db(struct db *d)
{
	an_db_close(d->db);
	unlink(d->path);
}

static const trans_t *find(const trans_set_t *s, enum trans_kind k)
{
	for (size_t i = 0; i < trans_count(s); i++)
		if (trans_get(s, i)->kind == k)
			return trans_get(s, i);
	return NULL;
}

static const trans_phase_t *phase(const trans_t *t, const char *name)
{
	for (size_t i = 0; i < t->phases_n; i++)
		if (strcmp(t->phases[i].name, name) == 0)
			return &t->phases[i];
	return NULL;
}

/* A ZSK pre-publish rollover at a (imported by b), signing 100 s after the DNSKEY change
 * although the DNSKEY TTL is 3600 s: one zsk-rollover, its sign phase early, the withdraw
 * phase (2 h after signing, data TTL 3600 s) not. */
Test(an_trans, zsk_prepublish_sign_early)
{
	struct db d = {0};
	open_db(&d);
	tkey_t ka, za, zn, kb, zb;
	mkkey(&ka, 1, true);
	mkkey(&za, 2, false);
	mkkey(&zn, 3, false);
	mkkey(&kb, 4, true);
	mkkey(&zb, 5, false);
	int64_t a = target(&d, "provider", "a", "ns1.a.lab."),
		b = target(&d, "provider", "b", "ns1.b.lab.");
	const tkey_t *a0[] = {&ka, &za, &zb}, *a1[] = {&ka, &za, &zb, &zn}, *a2[] = {&ka, &zb, &zn};
	const tkey_t *b0[] = {&kb, &zb, &za}, *b1[] = {&kb, &zb, &za, &zn}, *b2[] = {&kb, &zb, &zn};
	int64_t ta[] = {0, 100, 7500}, va[] = {v_dnskey(&d, a0, 3, &ka), v_dnskey(&d, a1, 4, &ka),
					       v_dnskey(&d, a2, 3, &ka)};
	int64_t tb[] = {0, 102, 7501}, vb[] = {v_dnskey(&d, b0, 3, &kb), v_dnskey(&d, b1, 4, &kb),
					       v_dnskey(&d, b2, 3, &kb)};
	runs(&d, series(&d, a, 48, "dnskey"), ta, va, 3, 9000);
	runs(&d, series(&d, b, 48, "dnskey"), tb, vb, 3, 9000);
	int64_t ts[] = {0, 200}, vs[] = {v_soa(&d, &za), v_soa(&d, &zn)};
	runs(&d, series(&d, a, 6, "soa"), ts, vs, 2, 9000);
	int64_t tsb[] = {0}, vsb[] = {v_soa(&d, &zb)};
	runs(&d, series(&d, b, 6, "soa"), tsb, vsb, 1, 9000);

	trans_set_t *s = NULL;
	cr_assert_eq(trans_run(d.db, Z, T0 + 9000 * SEC, NULL, &s), OBS_EOK);
	cr_assert_eq(trans_count(s), 1, "got %zu transitions", trans_count(s));
	const trans_t *t = find(s, TK_ZSK_ROLL);
	cr_assert_not_null(t);
	cr_assert_str_eq(t->method, "pre-publish");
	cr_assert_str_eq(t->providers, "a");
	char want[16];
	snprintf(want, sizeof(want), "13/%u", zn.tag);
	cr_assert_str_eq(t->keys_new, want);
	cr_assert_eq(t->first, T0 + 100 * SEC);
	cr_assert_eq(t->lo, T0 + 99 * SEC);
	cr_assert(t->complete);
	const trans_phase_t *sign = phase(t, "sign"), *wd = phase(t, "withdraw");
	cr_assert_not_null(sign);
	cr_assert_not_null(wd);
	cr_assert(sign->early);
	cr_assert_eq(sign->needed, 3600 * SEC);
	cr_assert_eq(sign->waited, 98 * SEC); /* after the import at b, complete at 102 s */
	cr_assert(!wd->early);
	cr_assert_eq(t->early_steps, 1);
	cr_assert_not_null(phase(t, "publish"));
	cr_assert_not_null(phase(t, "import"));
	trans_free(s);
	close_db(&d);
}

/* A DS change at the parent that no key rollover or provider change explains: ds-change;
 * with a CDS served at every provider server 600 s before, its pick-up latency is 600 s. */
Test(an_trans, ds_change_pickup_from_cds)
{
	struct db d = {0};
	open_db(&d);
	tkey_t ka, za, kx;
	mkkey(&ka, 1, true);
	mkkey(&za, 2, false);
	mkkey(&kx, 9, true);
	int64_t p = target(&d, "parent", "PARENT", "10.0.0.1"),
		a = target(&d, "provider", "a", "ns1.a.lab.");
	const tkey_t *k[] = {&ka, &za}, *d0[] = {&ka}, *d1[] = {&ka, &kx};
	int64_t t1[] = {0}, v1[] = {v_dnskey(&d, k, 2, &ka)};
	runs(&d, series(&d, a, 48, "dnskey"), t1, v1, 1, 5000);
	int64_t t2[] = {0, 1000}, v2[] = {v_ds(&d, d0, 1), v_ds(&d, d1, 2)};
	runs(&d, series(&d, p, 43, "ds"), t2, v2, 2, 5000);
	int64_t t3[] = {0, 400},
		v3[] = {ins_version(&d, 4, 59, (const uint8_t *)"", 0, (const uint8_t *)"", 0),
			v_ds(&d, d1, 2)};
	runs(&d, series(&d, a, 59, "cds"), t3, v3, 2, 5000);
	trans_set_t *s = NULL;
	cr_assert_eq(trans_run(d.db, Z, T0 + 5000 * SEC, NULL, &s), OBS_EOK);
	const trans_t *t = find(s, TK_DS_CHANGE);
	cr_assert_not_null(t, "no ds-change among %zu transitions", trans_count(s));
	cr_assert_eq(t->pickup, 600 * SEC, "pickup %lld", (long long)t->pickup);
	cr_assert_not_null(phase(t, "ds-add"));
	cr_assert_not_null(find(s, TK_CDS_PUB)); /* the CDS itself (it also names the old key) */
	trans_free(s);
	close_db(&d);
}

Test(an_trans, class_table)
{
	cr_assert_eq(trans_class_of("PARENT", "ds", false), TC_DS);
	cr_assert_eq(trans_class_of("PARENT", "referral", false), TC_NS_REF);
	cr_assert_eq(trans_class_of("a", "ns", false), TC_NS_APEX);
	cr_assert_eq(trans_class_of("a", "dnskey", true), TC_DNSKEY_SIG);
	cr_assert_eq(trans_class_of("a", "soa", true), TC_DATA_SIG);
	cr_assert_eq(trans_class_of("a", "canary", false), TC__N);
	cr_assert_str_eq(trans_kind_names[TK_ALG_ROLL], "algorithm-rollover");
}

/* NS host names are escaped (a hostile label cannot inject spaces, markup or controls) */
Test(an_trans, content_escapes_names)
{
	uint8_t rd[64];
	const uint8_t name[] = {4, 'a', ' ', '<', 0x01, 3, 'l', 'a', 'b', 0};
	const uint8_t *it[1] = {name};
	size_t l[1] = {sizeof(name)};
	vers_t v = {.kind = 1, .type = 2, .rdata = rd};
	v.rdata_len = blob(rd, it, l, 1);
	char buf[128];
	cr_assert_eq(trans_content(&v, TC_NS_APEX, buf, sizeof(buf)), OBS_EOK);
	cr_assert_str_eq(buf, "a\\032\\060\\001.lab.");
}

Test(an_trans, html_escape)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	rep_html_escape(f, "<script>&'\"\x01");
	fclose(f);
	cr_assert_str_eq(out, "&lt;script&gt;&amp;&#39;&quot;&#1;");
	free(out);
}
