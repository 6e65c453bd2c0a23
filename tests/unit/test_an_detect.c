/* SPDX-License-Identifier: MIT */
/* Detectors on small hand-built histories with real ECDSA/RSA keys and signatures: each world
 * is named after what it shows, and lists the finding IDs it must raise. */
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
	bool cds_only_a;    /* only provider a publishes a CDS */
	bool ttl_change;    /* provider a changes DNSKEY version and TTL mid-history */
	bool undelegated;   /* the last provider serves the zone with keys of its own that no
			     * DS and no other provider has, but no NS set names it */
	const char *expect[4];
	bool no_error; /* no ERROR or CRITICAL finding */
} world_t;

struct seen {
	char ids[64][8];
	int sev[64];
	char msg[64][320];
	size_t n;
};

static void collect(void *arg, const det_finding_t *f)
{
	struct seen *s = arg;
	if (s->n < 64) {
		snprintf(s->ids[s->n], 8, "%s", f->id);
		snprintf(s->msg[s->n], 320, "%s", f->msg);
		s->sev[s->n++] = f->sev;
	}
}

static ldns_rr *rr(const char *s)
{
	ldns_rr *r = NULL;
	cr_assert_eq(ldns_rr_new_frm_str(&r, s, 300, NULL, NULL), LDNS_STATUS_OK, "%s", s);
	return r;
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
	ldns_key *ksk[3], *zsk[3], *zsk2 = NULL;
	for (int p = 0; p < w->nprov; p++) {
		int alg =
		    w->alg_mismatch && p == w->nprov - 1 ? LDNS_RSASHA256 : LDNS_ECDSAP256SHA256;
		ksk[p] = h_key(alg, true);
		zsk[p] = h_key(alg, false);
	}
	uint32_t inc = T0 - 3600, exp = T0 + 86400;
	/* parent: DS and referral */
	ldns_rr_list *ds = ldns_rr_list_new(), *ref = ldns_rr_list_new();
	for (int p = 0; p < w->nprov; p++) {
		char s[128];
		snprintf(s, sizeof(s), ZONE " 300 IN NS ns.prov%s.lab.", names[p]);
		bool last = p == w->nprov - 1;
		if (!(w->undelegated && last))
			ldns_rr_list_push_rr(ref, rr(s));
		if ((w->ds_lacks_last || w->undelegated) && last)
			continue;
		ldns_rr *k = ldns_key2rr(ksk[p]);
		ldns_rr_list_push_rr(ds, ldns_key_rr2ds(k, LDNS_SHA256));
		ldns_rr_free(k);
	}
	int64_t vds = h_version(&h, ZONE, 43, ds, NULL);
	int64_t vref = h_version(&h, ZONE, 2, ref, NULL);
	int64_t tp = h_target(&h, "parent", "PARENT", "parent", "127.0.3.1");
	int64_t sds = h_series(&h, tp, ZONE, 43, 4, "ds");
	int64_t sref = h_series(&h, tp, ZONE, 2, 4, "referral");
	int64_t vk[3], vk2 = 0, vsoa[3], vcds = 0, ss[3][3];
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
		ldns_rr_list *ksig = h_sign(keys, ksk[p], inc, exp);
		vk[p] = h_version(&h, ZONE, 48, keys, ksig);
		if (p == 0 && w->ttl_change) { /* a ZSK rollover at a: a second ZSK published */
			zsk2 = h_key(LDNS_ECDSAP256SHA256, false);
			ldns_rr_list_push_rr(keys, ldns_key2rr(zsk2));
			ldns_rr_list *k2 = h_sign(keys, ksk[p], inc, exp);
			vk2 = h_version(&h, ZONE, 48, keys, k2);
			ldns_rr_list_deep_free(k2);
		}
		char s[160];
		snprintf(s, sizeof(s),
			 ZONE " 300 IN SOA ns.prov%s.lab. host.lab. 1 3600 600 86400 300",
			 names[p]);
		ldns_rr_list *soa = ldns_rr_list_new();
		ldns_rr_list_push_rr(soa, rr(s));
		uint32_t si = inc, se = exp;
		if (p == 0 && w->expired)
			se = T0 - 100;
		if (p == 0 && w->future)
			si = T0 + 3600;
		ldns_rr_list *ssig = h_sign(soa, zsk[p], si, se);
		vsoa[p] = h_version(&h, ZONE, 6, soa, ssig);
		if (p == 0 && w->cds_only_a) {
			ldns_rr_list *cds = ldns_rr_list_new();
			ldns_rr *k = ldns_key2rr(ksk[0]);
			ldns_rr *d = ldns_key_rr2ds(k, LDNS_SHA256);
			ldns_rr_set_type(d, LDNS_RR_TYPE_CDS);
			ldns_rr_list_push_rr(cds, d);
			ldns_rr_list *csig = h_sign(cds, zsk[0], inc, exp);
			vcds = h_version(&h, ZONE, 59, cds, csig);
			ldns_rr_free(k);
			ldns_rr_list_deep_free(cds);
			ldns_rr_list_deep_free(csig);
		}
		char host[64], addr[32];
		snprintf(host, sizeof(host), "ns.prov%s.lab.", names[p]);
		snprintf(addr, sizeof(addr), "127.0.3.%d", 11 + p);
		int64_t t = h_target(&h, "provider", names[p], host, addr);
		ss[p][0] = h_series(&h, t, ZONE, 48, 4, "dnskey");
		ss[p][1] = h_series(&h, t, ZONE, 6, 4, "soa");
		ss[p][2] = h_series(&h, t, ZONE, 59, 4, "cds");
		ldns_rr_list_deep_free(keys);
		ldns_rr_list_deep_free(ksig);
		ldns_rr_list_deep_free(soa);
		ldns_rr_list_deep_free(ssig);
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
			h_obs(&h, ss[p][0], t + 0.1, 0, 0, 1, k, ttl, 0);
			h_obs(&h, ss[p][1], t + 0.2, 0, 0, 1, vsoa[p], 300, 0);
			h_obs(&h, ss[p][2], t + 0.3, 0, p == 0 && vcds ? 0 : 0, 1,
			      p == 0 && vcds ? vcds : 0, 300, 0);
		}
	}
	h_close(&h);
	an_db_t *db = NULL;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	sigv_t *sv = NULL;
	cr_assert_eq(sigv_new(db, true, &sv), OBS_EOK);
	memset(out, 0, sizeof(*out));
	cr_assert_eq(det_run(db, ZONE, (obs_usec_t)(T0 + 10) * 1000000, NULL, sv, collect, out),
		     OBS_EOK);
	/* every (RRset, RRSIG, key) triple was verified at most once */
	cr_assert_leq(sigv_verifications(sv), sigv_pairs(sv));
	sigv_free(sv);
	an_db_close(db);
	for (int p = 0; p < w->nprov; p++) {
		ldns_key_deep_free(ksk[p]);
		ldns_key_deep_free(zsk[p]);
	}
	if (zsk2)
		ldns_key_deep_free(zsk2);
	ldns_rr_list_deep_free(ds);
	ldns_rr_list_deep_free(ref);
	unlink(cpath);
	unlink(apath);
}

static void check_world(const world_t *w)
{
	struct seen s;
	run_world(w, &s);
	char all[2048] = "";
	for (size_t i = 0; i < s.n; i++) {
		size_t l = strlen(all);
		snprintf(all + l, sizeof(all) - l, " %s(%s): %s;", s.ids[i],
			 det_sev_names[s.sev[i]], s.msg[i]);
	}
	for (int e = 0; e < 4 && w->expect[e]; e++) {
		bool found = false;
		for (size_t i = 0; i < s.n; i++)
			found |= strcmp(s.ids[i], w->expect[e]) == 0;
		cr_expect(found, "%s: expected %s, got:%s", w->name, w->expect[e], all);
	}
	if (w->no_error) {
		for (size_t i = 0; i < s.n; i++)
			cr_expect_lt(s.sev[i], SEV_ERROR, "%s: unexpected %s", w->name, all);
	}
}

static const world_t worlds[] = {
    {.name = "healthy model-2, three providers", .nprov = 3, .no_error = true},
    {.name = "ZSK of c not imported at b", .nprov = 3, .no_zsk_import = true, .expect = {"V-2"}},
    {.name = "DS lacks c's KSK", .nprov = 3, .ds_lacks_last = true, .expect = {"V-1b"}},
    {.name = "expired SOA signature at a", .nprov = 2, .expired = true, .expect = {"V-3e"}},
    {.name = "SOA signature at a not yet valid", .nprov = 2, .future = true, .expect = {"V-3f"}},
    {.name = "algorithm mismatch between providers",
     .nprov = 2,
     .alg_mismatch = true,
     .expect = {"A-1"},
     .no_error = true},
    {.name = "CDS at a only", .nprov = 2, .cds_only_a = true, .expect = {"C-2"}},
    {.name = "TTL changed mid-rollover",
     .nprov = 2,
     .ttl_change = true,
     .expect = {"T-5"},
     .no_error = true},
    {.name = "undelegated provider c with foreign keys",
     .nprov = 3,
     .undelegated = true,
     .expect = {"V-1b"}, /* as INFO: c would break the chain once delegated */
     .no_error = true},
};

Test(an_detect, healthy_model2_three_providers_no_error)
{
	check_world(&worlds[0]);
}
Test(an_detect, missing_zsk_import_is_v2)
{
	check_world(&worlds[1]);
}
Test(an_detect, ds_without_provider_ksk_is_v1b)
{
	check_world(&worlds[2]);
}
Test(an_detect, expired_signature_is_v3e)
{
	check_world(&worlds[3]);
}
Test(an_detect, future_signature_is_v3f)
{
	check_world(&worlds[4]);
}
Test(an_detect, algorithm_mismatch_is_a1)
{
	check_world(&worlds[5]);
}
Test(an_detect, cds_on_one_provider_is_c2)
{
	check_world(&worlds[6]);
}

Test(an_detect, undelegated_provider_with_foreign_keys_no_error)
{
	check_world(&worlds[8]);
	struct seen s;
	run_world(&worlds[8], &s);
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.ids[i], "V-1b") == 0)
			cr_expect(strstr(s.msg[i], "not NS-reachable") != NULL,
				  "V-1b must say why it is INFO: %s", s.msg[i]);
	}
}

Test(an_detect, ttl_change_reports_largest_ttl_served)
{
	struct seen s;
	run_world(&worlds[7], &s);
	bool found = false;
	for (size_t i = 0; i < s.n; i++)
		found |= strcmp(s.ids[i], "T-5") == 0 && strstr(s.msg[i], "600 s") != NULL;
	cr_assert(found, "T-5 (v) naming the largest TTL served (600 s) expected");
}
