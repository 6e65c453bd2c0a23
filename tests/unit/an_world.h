/* SPDX-License-Identifier: MIT */
/* Test helper for the detector tests: small hand-built multi-signer histories ("worlds") with
 * real ECDSA/RSA keys and signatures made by ldns at test time, ingested and run through
 * det_run(). A world is a row of flags saying what is wrong (or deliberately right) in it; each
 * test names the finding IDs it must raise and those it must not. Trusted test data only. */
#pragma once

#include <unistd.h>

#include "an_hist.h"
#include "detect.h"
#include "ingest.h"
#include "obs_err.h"

#define T0 1700000000

typedef struct world {
	const char *name;
	int nprov;
	bool no_zsk_import; /* provider b's DNSKEY lacks the last provider's ZSK */
	bool ds_lacks_last; /* the DS set lacks the last provider's KSK */
	bool expired;       /* provider a's SOA signature expired */
	bool future;        /* provider a's SOA signature not yet valid */
	bool alg_mismatch;  /* the last provider signs with RSASHA256 */
	int cds;            /* 1: only a publishes a CDS (of its own KSK); 2: every provider
			     * publishes a CDS of every KSK (= the DS set); 3: a as in 2, b a CDS
			     * of its own KSK only */
	bool cds_foreign;   /* a's CDS is signed by a key no DNSKEY RRset holds */
	int cds_roll;    /* KSK roll at a: from poll 2 a's DNSKEY adds a new KSK (signing with both)
			  * and    every provider's CDS lists the new KSK instead of the old; a's
			  * DNSKEY    TTL 1: 1 s (the old set drained), 2: 300 s (still cached) */
	bool ttl_change; /* provider a changes DNSKEY version and TTL mid-history */
	bool undelegated;    /* the last provider serves the zone with keys of its own that no
			      * DS and no other provider has, but no NS set names it */
	bool apex_adds_last; /* a's apex NS set names the last provider, the parent's does not */
	int csync;           /* 1: every provider publishes the same CSYNC; 2: they differ */
	int nsec_ttl;        /* nx canary: NSEC TTL at every provider (0: no nx series) */
	int big_dnskey;      /* extra ZSKs in provider a's DNSKEY RRset */
	bool tc_fail;        /* a's DNSKEY answers are truncated and the TCP retry times out */
	int tag_collision;   /* 1: a signs its SOA with a second ZSK of the same key tag as its
			      * ZSK, every provider holds both; 2: only a holds the second */
	int alg_roll;        /* a adds RSASHA256: SOA signed with both from poll 1, its ZSK in the
			      * DNSKEY RRset at poll 3; 1: SOA TTL 1 s (in order), 2: 300 s (early) */
	int ttl_anom;        /* the collector recorded a TTL anomaly on every DNSKEY answer of
			      * provider a: 1: its RRs carry 300 and 3600 s (T-5 (i)); 2: its
			      * RRSIG TTL is 60 s, the set's 300 s (T-5 (ii)) */
	const char *res_ede; /* a resolver vantage answers the canary with these EDE codes */
	bool res_foreign;    /* the vantage returns a canary version no server served */
	const char *expect[6];
	const char *absent[6]; /* IDs that must not be raised */
	bool no_error;         /* no ERROR or CRITICAL finding */
} world_t;

struct seen {
	char ids[128][8];
	int sev[128];
	char msg[128][320];
	size_t nobs[128]; /* evidence observations */
	size_t n;
};

static void w_collect(void *arg, const det_finding_t *f)
{
	struct seen *s = arg;
	if (s->n < 128) {
		snprintf(s->ids[s->n], 8, "%s", f->id);
		snprintf(s->msg[s->n], 320, "%s", f->msg);
		s->nobs[s->n] = f->obs_n;
		s->sev[s->n++] = f->sev;
	}
	/* every finding carries evidence: the versions or observations that prove it */
	cr_expect(f->versions_n + f->obs_n > 0, "%s without evidence: %s", f->id, f->msg);
}

static ldns_rr *w_rr(const char *s)
{
	ldns_rr *r = NULL;
	cr_assert_eq(ldns_rr_new_frm_str(&r, s, 300, NULL, NULL), LDNS_STATUS_OK, "%s", s);
	return r;
}

/* (2-byte length, canonical RR with TTL 0)* of a list, sorted: the negative proof encoding */
static uint8_t *w_rr_blob(const ldns_rr_list *l, size_t *len)
{
	size_t n = ldns_rr_list_rr_count(l);
	ldns_buffer **b = calloc(n + 1, sizeof(*b));
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(l, i));
		ldns_rr2canonical(rr);
		ldns_rr_set_ttl(rr, 0);
		b[i] = ldns_buffer_new(512);
		ldns_rr2buffer_wire_canonical(b[i], rr, LDNS_SECTION_ANSWER);
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

/* a negative proof version (kind 3, NXDOMAIN) of recs + sigs */
static int64_t w_neg_version(hist_t *h, const char *owner, const ldns_rr_list *recs,
			     const ldns_rr_list *sigs)
{
	size_t rl, sl;
	uint8_t *rd = w_rr_blob(recs, &rl), *sd = w_rr_blob(sigs, &sl);
	uint8_t hash[32];
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	ldns_sha256_update(&ctx, (const uint8_t *)"neg", 3);
	ldns_sha256_update(&ctx, rd, rl);
	ldns_sha256_update(&ctx, sd, sl);
	ldns_sha256_final(hash, &ctx);
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(h->db,
			       "INSERT INTO version (hash, kind, owner, type, rr_count, "
			       "sig_count, rdata, rrsig, ttl_max_s, ttl_min_s, first_seen, "
			       "last_seen) VALUES (?, 3, ?, 1, ?, ?, ?, ?, 0, 0, 0, 0)",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)ldns_rr_list_rr_count(recs));
	sqlite3_bind_int(st, 4, (int)ldns_rr_list_rr_count(sigs));
	sqlite3_bind_blob(st, 5, rd, (int)rl, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 6, sd, (int)sl, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(rd);
	free(sd);
	return sqlite3_last_insert_rowid(h->db);
}

/* an observation with transport, status and EDE (resolver rows: outcome, AD in flags) */
static void w_obs(hist_t *h, int64_t series, double t_s, int transport, int status, int flags,
		  int64_t version, int ttl, int outcome, const char *ede)
{
	char sql[512], v[32], o[32], e[32];
	snprintf(v, sizeof(v), version > 0 ? "%lld" : "NULL", (long long)version);
	snprintf(o, sizeof(o), outcome > 0 ? "%d" : "NULL", outcome);
	snprintf(e, sizeof(e), ede ? "'%s'" : "NULL", ede);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO observation (t, series_id, attempt, transport, status, rtt, rcode, "
		 "flags, ede, outcome, version_id, ttl_s) VALUES (%lld, %lld, %d, %d, %d, 100, "
		 "%s, %d, %s, %s, %s, %d)",
		 (long long)(t_s * 1e6), (long long)series, transport, transport, status,
		 status == 0 ? "0" : "NULL", flags, e, o, v, ttl);
	h_exec(h, sql);
}

/* two ZSKs (flags 256) of alg 13 with the same key tag */
static void w_twins(ldns_key **a, ldns_key **b)
{
	enum { MAXK = 4000 };
	ldns_key **k = calloc(MAXK, sizeof(*k));
	*a = *b = NULL;
	for (int i = 0; i < MAXK && *a == NULL; i++) {
		k[i] = h_key(LDNS_ECDSAP256SHA256, false);
		for (int j = 0; j < i; j++) {
			if (ldns_key_keytag(k[j]) == ldns_key_keytag(k[i])) {
				*a = k[j];
				*b = k[i];
				k[j] = k[i] = NULL;
				break;
			}
		}
	}
	for (int i = 0; i < MAXK; i++) {
		if (k[i])
			ldns_key_deep_free(k[i]);
	}
	free(k);
	cr_assert_not_null(*a, "no key-tag collision among %d keys", MAXK);
}

static ldns_rr_list *w_one(ldns_rr *r)
{
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr_list_push_rr(l, r);
	return l;
}

/* the CDS of a key list */
static ldns_rr_list *w_cds(ldns_key **ksk, int from, int to)
{
	ldns_rr_list *cds = ldns_rr_list_new();
	for (int p = from; p < to; p++) {
		ldns_rr *k = ldns_key2rr(ksk[p]);
		ldns_rr *d = ldns_key_rr2ds(k, LDNS_SHA256);
		ldns_rr_set_type(d, LDNS_RR_TYPE_CDS);
		ldns_rr_list_push_rr(cds, d);
		ldns_rr_free(k);
	}
	return cds;
}

static void run_world(const world_t *w, struct seen *out)
{
	char cpath[64], apath[64];
	snprintf(cpath, sizeof(cpath), "/tmp/obs-an-c-%d.db", getpid());
	snprintf(apath, sizeof(apath), "/tmp/obs-an-a-%d.db", getpid());
	unlink(apath);
	hist_t h;
	h_open(&h, cpath, "vantage-1", 1);
	static const char *const names[3] = {"a", "b", "c"};
	ldns_key *ksk[3], *zsk[3], *zsk2 = NULL, *twin = NULL, *foreign = NULL, *extra[32],
				   *zsk8 = NULL;
	int64_t vsoa_roll = 0, vk_roll = 0, vk_ksk2 = 0;
	ldns_key *ksk2 = w->cds_roll ? h_key(LDNS_ECDSAP256SHA256, true) : NULL;
	for (int p = 0; p < w->nprov; p++) {
		int alg =
		    w->alg_mismatch && p == w->nprov - 1 ? LDNS_RSASHA256 : LDNS_ECDSAP256SHA256;
		ksk[p] = h_key(alg, true);
		zsk[p] = h_key(alg, false);
	}
	if (w->tag_collision) {
		ldns_key_deep_free(zsk[0]);
		w_twins(&zsk[0], &twin);
	}
	for (int i = 0; i < w->big_dnskey; i++)
		extra[i] = h_key(LDNS_ECDSAP256SHA256, false);
	if (w->cds_foreign)
		foreign = h_key(LDNS_ECDSAP256SHA256, false);
	uint32_t inc = T0 - 3600, exp = T0 + 86400;
	/* parent: DS and referral */
	ldns_rr_list *ds = ldns_rr_list_new(), *ref = ldns_rr_list_new(), *apex_a = NULL;
	for (int p = 0; p < w->nprov; p++) {
		char s[128];
		snprintf(s, sizeof(s), ZONE " 300 IN NS ns.prov%s.lab.", names[p]);
		bool last = p == w->nprov - 1;
		if (!((w->undelegated || w->apex_adds_last) && last))
			ldns_rr_list_push_rr(ref, w_rr(s));
		if ((w->ds_lacks_last || w->undelegated) && last)
			continue;
		ldns_rr *k = ldns_key2rr(ksk[p]);
		ldns_rr_list_push_rr(ds, ldns_key_rr2ds(k, LDNS_SHA256));
		ldns_rr_free(k);
	}
	if (w->apex_adds_last) {
		apex_a = ldns_rr_list_clone(ref);
		char s[128];
		snprintf(s, sizeof(s), ZONE " 300 IN NS ns.prov%s.lab.", names[w->nprov - 1]);
		ldns_rr_list_push_rr(apex_a, w_rr(s));
	}
	int64_t vds = h_version(&h, ZONE, 43, ds, NULL);
	int64_t vref = h_version(&h, ZONE, 2, ref, NULL);
	int64_t tp = h_target(&h, "parent", "PARENT", "parent", "127.0.3.1");
	int64_t sds = h_series(&h, tp, ZONE, 43, 4, "ds");
	int64_t sref = h_series(&h, tp, ZONE, 2, 4, "referral");
	int64_t vk[3], vk2 = 0, vsoa[3], vcds[3] = {0}, vns[3], vcan[3], vcsync[3] = {0},
		       vnx[3] = {0}, ss[3][8];
	for (int p = 0; p < w->nprov; p++) {
		ldns_rr_list *keys = ldns_rr_list_new();
		ldns_rr_list_push_rr(keys, ldns_key2rr(ksk[p]));
		for (int q = 0; q < w->nprov; q++) {
			if (w->no_zsk_import && p == 1 && q == w->nprov - 1)
				continue;
			if (w->undelegated && p != q && (p == w->nprov - 1 || q == w->nprov - 1))
				continue;
			ldns_rr_list_push_rr(keys, ldns_key2rr(zsk[q]));
		}
		if (twin && (p == 0 || w->tag_collision == 1))
			ldns_rr_list_push_rr(keys, ldns_key2rr(twin));
		for (int i = 0; p == 0 && i < w->big_dnskey; i++)
			ldns_rr_list_push_rr(keys, ldns_key2rr(extra[i]));
		ldns_rr_list *ksig = h_sign(keys, ksk[p], inc, exp);
		vk[p] = h_version(&h, ZONE, 48, keys, ksig);
		if (p == 0 && w->ttl_change) { /* a ZSK rollover at a: a second ZSK published */
			zsk2 = h_key(LDNS_ECDSAP256SHA256, false);
			ldns_rr_list_push_rr(keys, ldns_key2rr(zsk2));
			ldns_rr_list *k2 = h_sign(keys, ksk[p], inc, exp);
			vk2 = h_version(&h, ZONE, 48, keys, k2);
			ldns_rr_list_deep_free(k2);
		}
		if (p == 0 && ksk2) {
			ldns_rr_list *k2 = ldns_rr_list_clone(keys);
			ldns_rr_list_push_rr(k2, ldns_key2rr(ksk2));
			ldns_rr_list *s1 = h_sign(k2, ksk[0], inc, exp);
			ldns_rr_list *s2 = h_sign(k2, ksk2, inc, exp);
			ldns_rr_list *both = ldns_rr_list_new(); /* borrows the RRs */
			ldns_rr_list_cat(both, s1);
			ldns_rr_list_cat(both, s2);
			vk_ksk2 = h_version(&h, ZONE, 48, k2, both);
			ldns_rr_list_free(both);
			ldns_rr_list_deep_free(s1);
			ldns_rr_list_deep_free(s2);
			ldns_rr_list_deep_free(k2);
		}
		ldns_key *signer = p == 0 && twin ? twin : zsk[p];
		char s[256];
		snprintf(s, sizeof(s),
			 ZONE " 300 IN SOA ns.prov%s.lab. host.lab. 1 3600 600 86400 300",
			 names[p]);
		ldns_rr_list *soa = w_one(w_rr(s));
		uint32_t si = inc, se = exp;
		if (p == 0 && w->expired)
			se = T0 - 100;
		if (p == 0 && w->future)
			si = T0 + 3600;
		ldns_rr_list *ssig = h_sign(soa, signer, si, se);
		vsoa[p] = h_version(&h, ZONE, 6, soa, ssig);
		if (p == 0 && w->alg_roll) {
			zsk8 = h_key(LDNS_RSASHA256, false);
			ldns_rr_list *s8 = h_sign(soa, zsk8, inc, exp);
			ldns_rr_list *both = ldns_rr_list_new(); /* borrows the RRs */
			ldns_rr_list_cat(both, s8);
			ldns_rr_list_cat(both, ssig);
			vsoa_roll = h_version(&h, ZONE, 6, soa, both);
			ldns_rr_list_free(both);
			ldns_rr_list_deep_free(s8);
			ldns_rr_list *k8 = ldns_rr_list_clone(keys);
			ldns_rr_list_push_rr(k8, ldns_key2rr(zsk8));
			ldns_rr_list *k8s = h_sign(k8, ksk[0], inc, exp);
			vk_roll = h_version(&h, ZONE, 48, k8, k8s);
			ldns_rr_list_deep_free(k8);
			ldns_rr_list_deep_free(k8s);
		}
		/* apex NS */
		ldns_rr_list *ns = p == 0 && apex_a ? apex_a : ref;
		ldns_rr_list *nsig = h_sign(ns, zsk[p], inc, exp);
		vns[p] = h_version(&h, ZONE, 2, ns, nsig);
		/* canary */
		ldns_rr_list *can = w_one(w_rr("www." ZONE " 300 IN A 192.0.2.1"));
		ldns_rr_list *csig = h_sign(can, zsk[p], inc, exp);
		vcan[p] = h_version(&h, "www." ZONE, 1, can, csig);
		/* CDS */
		ldns_rr_list *cds = NULL;
		if ((w->cds == 1 && p == 0) || w->cds == 2 || (w->cds == 3 && p == 0))
			cds = w_cds(ksk, w->cds == 1 ? 0 : 0, w->cds == 1 ? 1 : w->nprov);
		else if (w->cds == 3 && p == 1)
			cds = w_cds(ksk, 1, 2);
		if (ksk2) { /* the new KSK of a, and every other provider's */
			ldns_key *set[3] = {ksk2, w->nprov > 1 ? ksk[1] : NULL,
					    w->nprov > 2 ? ksk[2] : NULL};
			cds = w_cds(set, 0, w->nprov);
		}
		if (cds) {
			ldns_rr_list *dsig =
			    h_sign(cds, p == 0 && foreign ? foreign : zsk[p], inc, exp);
			vcds[p] = h_version(&h, ZONE, 59, cds, dsig);
			ldns_rr_list_deep_free(cds);
			ldns_rr_list_deep_free(dsig);
		}
		/* CSYNC */
		if (w->csync) {
			ldns_rr_list *cs = w_one(w_rr(w->csync == 2 && p == 1
							  ? ZONE " 300 IN CSYNC 1 1 NS"
							  : ZONE " 300 IN CSYNC 1 3 A NS AAAA"));
			ldns_rr_list *cssig = h_sign(cs, zsk[p], inc, exp);
			vcsync[p] = h_version(&h, ZONE, 62, cs, cssig);
			ldns_rr_list_deep_free(cs);
			ldns_rr_list_deep_free(cssig);
		}
		/* nx canary: NXDOMAIN with SOA and NSEC */
		if (w->nsec_ttl) {
			ldns_rr_list *soal = w_one(w_rr(s)), *nsec = ldns_rr_list_new();
			char n[160];
			snprintf(n, sizeof(n),
				 ZONE " %d IN NSEC www." ZONE " NS SOA RRSIG NSEC DNSKEY",
				 w->nsec_ttl);
			ldns_rr_list_push_rr(nsec, w_rr(n));
			ldns_rr_list *s1 = h_sign(soal, zsk[p], inc, exp);
			ldns_rr_list *s2 = h_sign(nsec, zsk[p], inc, exp);
			ldns_rr_list *recs = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
			ldns_rr_list_cat(recs, soal);
			ldns_rr_list_cat(recs, nsec);
			ldns_rr_list_cat(sigs, s1);
			ldns_rr_list_cat(sigs, s2);
			vnx[p] = w_neg_version(&h, ZONE, recs, sigs);
			ldns_rr_list_deep_free(recs);
			ldns_rr_list_deep_free(sigs);
			ldns_rr_list_free(soal);
			ldns_rr_list_free(nsec);
			ldns_rr_list_free(s1);
			ldns_rr_list_free(s2);
		}
		char host[64], addr[32];
		snprintf(host, sizeof(host), "ns.prov%s.lab.", names[p]);
		snprintf(addr, sizeof(addr), "127.0.3.%d", 11 + p);
		int64_t t = h_target(&h, "provider", names[p], host, addr);
		ss[p][0] = h_series(&h, t, ZONE, 48, 4, "dnskey");
		ss[p][1] = h_series(&h, t, ZONE, 6, 4, "soa");
		ss[p][2] = h_series(&h, t, ZONE, 59, 4, "cds");
		ss[p][3] = h_series(&h, t, ZONE, 2, 4, "ns");
		ss[p][4] = h_series(&h, t, "www." ZONE, 1, 4, "canary");
		ss[p][5] = h_series(&h, t, ZONE, 62, 4, "csync");
		ss[p][6] = h_series(&h, t, "nx." ZONE, 1, 4, "nx");
		ldns_rr_list_deep_free(keys);
		ldns_rr_list_deep_free(ksig);
		ldns_rr_list_deep_free(soa);
		ldns_rr_list_deep_free(ssig);
		ldns_rr_list_deep_free(nsig);
		ldns_rr_list_deep_free(can);
		ldns_rr_list_deep_free(csig);
	}
	/* a resolver vantage polling the canary (CD=0) */
	int64_t rcan = 0, vforeign = 0;
	if (w->res_ede || w->res_foreign) {
		int64_t tr = h_target(&h, "resolver", "r1", "r1", "127.0.4.1");
		rcan = h_series(&h, tr, "www." ZONE, 1, 4, "canary");
		ldns_rr_list *fa = w_one(w_rr("www." ZONE " 300 IN A 192.0.2.99"));
		ldns_rr_list *fs = h_sign(fa, zsk[0], inc, exp);
		vforeign = h_version(&h, "www." ZONE, 1, fa, fs);
		ldns_rr_list_deep_free(fa);
		ldns_rr_list_deep_free(fs);
	}
	for (int i = 0; i < 4; i++) {
		double t = T0 + i;
		h_obs(&h, sds, t, 0, 0, 1, vds, 300, 0);
		h_obs(&h, sref, t, 0, 0, 0, vref, 300, 0);
		for (int p = 0; p < w->nprov; p++) {
			int64_t k = vk[p];
			int ttl = 300;
			if (p == 0 && w->ttl_change)
				k = i < 2 ? vk[0] : vk2, ttl = i == 0 ? 300 : i == 1 ? 600 : 60;
			if (p == 0 && w->tc_fail) {
				w_obs(&h, ss[p][0], t + 0.1, 0, 3, 3, 0, 0, 0, NULL);
				w_obs(&h, ss[p][0], t + 0.15, 1, 1, 0, 0, 0, 0, NULL);
			} else if (p == 0 && ksk2) {
				h_obs(&h, ss[p][0], t + 0.1, 0, 0, 1, i < 2 ? vk[0] : vk_ksk2,
				      w->cds_roll == 1 ? 1 : 300, 0);
			} else if (!(p == 0 && w->alg_roll)) {
				h_obs(&h, ss[p][0], t + 0.1, 0, 0, 1, k, ttl, 0);
			}
			if (p == 0 && w->alg_roll) {
				h_obs(&h, ss[p][0], t + 0.15, 0, 0, 1, i == 3 ? vk_roll : vk[0], 5,
				      0);
				h_obs(&h, ss[p][1], t + 0.2, 0, 0, 1, i >= 1 ? vsoa_roll : vsoa[0],
				      w->alg_roll == 1 ? 1 : 300, 0);
			} else {
				h_obs(&h, ss[p][1], t + 0.2, 0, 0, 1, vsoa[p], 300, 0);
			}
			h_obs(&h, ss[p][2], t + 0.3, 0, 0, 1, ksk2 && i < 2 ? 0 : vcds[p], 300, 0);
			h_obs(&h, ss[p][3], t + 0.4, 0, 0, 1, vns[p], 300, 0);
			h_obs(&h, ss[p][4], t + 0.5, 0, 0, 1, vcan[p], 300, 0);
			h_obs(&h, ss[p][5], t + 0.6, 0, 0, 1, vcsync[p], 300, 0);
			if (vnx[p])
				w_obs(&h, ss[p][6], t + 0.7, 0, 0, 1, vnx[p], 300, 0, NULL);
		}
		if (rcan) {
			bool last = i == 3;
			w_obs(&h, rcan, t + 0.8, 0, 0, last && w->res_ede ? 0 : 16,
			      last && w->res_foreign ? vforeign : vcan[0], 300 - i,
			      last && w->res_ede ? (strcmp(w->res_ede, "1") == 0 ? 2 : 3) : 1,
			      last ? w->res_ede : NULL);
		}
	}
	if (w->ttl_anom) /* rows as the collector's store_ttl_anomaly() writes them */
		h_exec(&h,
		       w->ttl_anom == 1
			   ? "INSERT INTO ttl_anomaly SELECT o.id, o.series_id, o.t, "
			     "o.version_id, 300, 3600, 300, 300 FROM observation o JOIN series "
			     "s ON s.id = o.series_id JOIN target tg ON tg.id = s.target_id "
			     "WHERE tg.origin = 'a' AND s.role = 'dnskey' AND o.version_id IS "
			     "NOT NULL"
			   : "INSERT INTO ttl_anomaly SELECT o.id, o.series_id, o.t, "
			     "o.version_id, 300, 300, 60, 60 FROM observation o JOIN series s "
			     "ON s.id = o.series_id JOIN target tg ON tg.id = s.target_id WHERE "
			     "tg.origin = 'a' AND s.role = 'dnskey' AND o.version_id IS NOT "
			     "NULL");
	h_close(&h);
	an_db_t *db = NULL;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	sigv_t *sv = NULL;
	cr_assert_eq(sigv_new(db, true, &sv), OBS_EOK);
	memset(out, 0, sizeof(*out));
	cr_assert_eq(det_run(db, ZONE, (obs_usec_t)(T0 + 10) * 1000000, NULL, sv, w_collect, out),
		     OBS_EOK);
	/* every (RRset, RRSIG, key) triple was verified at most once */
	cr_assert_leq(sigv_verifications(sv), sigv_pairs(sv));
	sigv_free(sv);
	an_db_close(db);
	for (int p = 0; p < w->nprov; p++) {
		ldns_key_deep_free(ksk[p]);
		ldns_key_deep_free(zsk[p]);
	}
	for (int i = 0; i < w->big_dnskey; i++)
		ldns_key_deep_free(extra[i]);
	if (zsk2)
		ldns_key_deep_free(zsk2);
	if (twin)
		ldns_key_deep_free(twin);
	if (foreign)
		ldns_key_deep_free(foreign);
	if (zsk8)
		ldns_key_deep_free(zsk8);
	if (ksk2)
		ldns_key_deep_free(ksk2);
	ldns_rr_list_deep_free(ds);
	ldns_rr_list_deep_free(ref);
	if (apex_a)
		ldns_rr_list_deep_free(apex_a);
	unlink(cpath);
	unlink(apath);
}

static bool w_has(const struct seen *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->ids[i], id) == 0)
			return true;
	}
	return false;
}

static void check_world(const world_t *w)
{
	struct seen s;
	run_world(w, &s);
	char all[8192] = "";
	for (size_t i = 0; i < s.n; i++) {
		size_t l = strlen(all);
		snprintf(all + l, sizeof(all) - l, " %s(%s): %s;", s.ids[i],
			 det_sev_names[s.sev[i]], s.msg[i]);
	}
	for (int e = 0; e < 6 && w->expect[e]; e++)
		cr_expect(w_has(&s, w->expect[e]), "%s: expected %s, got:%s", w->name, w->expect[e],
			  all);
	for (int e = 0; e < 6 && w->absent[e]; e++)
		cr_expect(!w_has(&s, w->absent[e]), "%s: unexpected %s, got:%s", w->name,
			  w->absent[e], all);
	if (w->no_error) {
		for (size_t i = 0; i < s.n; i++)
			cr_expect_lt(s.sev[i], SEV_ERROR, "%s: unexpected %s", w->name, all);
	}
}
