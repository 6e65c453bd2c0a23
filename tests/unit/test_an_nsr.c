/* SPDX-License-Identifier: MIT */
/* NS reachability NSR(p) (reference §5.3) on hand-built histories: a parent referral series
 * and an apex NS series at each of providers a, b, c, polled every second from T0 for 30 s.
 * Each history has two phases (before and from T0 + 10 s) and lists which providers each NS
 * set names in each phase; every NS TTL is 5 s and the margin eps is 1 s. Each row then says
 * whether a provider is reachable at an instant. */
#include <unistd.h>

#include "an_hist.h"
#include "ingest.h"
#include "nsr.h"
#include "obs_err.h"

#define T0     1700000000
#define SWITCH 10 /* the second phase starts at this poll */
#define POLLS  30
#define TTL    5
#define EPS    (1 * OBS_USEC_PER_SEC)

typedef struct probe {
	char prov;   /* 'a', 'b', 'c'; 0 ends the list */
	double dt;   /* seconds after T0 */
	bool expect; /* reachable */
} probe_t;

typedef struct nsr_world {
	const char *name;
	const char *parent[2];  /* providers the referral names, per phase ("ab") */
	const char *apex[3][2]; /* providers the apex NS of a, b, c names, per phase */
	probe_t probes[8];
	double edge; /* when > 0: c's reachable interval around T0 + 5 ends at T0 + edge */
} nsr_world_t;

static int64_t ns_version(hist_t *h, const char *provs)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (const char *p = provs; *p; p++) {
		char s[128];
		snprintf(s, sizeof(s), ZONE " %d IN NS ns.prov%c.lab.", TTL, *p);
		ldns_rr *r = NULL;
		cr_assert_eq(ldns_rr_new_frm_str(&r, s, TTL, NULL, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, r);
	}
	int64_t v = h_version(h, ZONE, 2, l, NULL);
	ldns_rr_list_deep_free(l);
	return v;
}

static nsr_t *build(const nsr_world_t *w, char *cpath, char *apath, an_db_t **dbp)
{
	hist_t h;
	h_open(&h, cpath, "vantage-1", 1);
	int64_t tp = h_target(&h, "parent", "PARENT", "127.0.3.1", "127.0.3.1");
	int64_t sref = h_series(&h, tp, ZONE, 2, 4, "referral");
	int64_t vref[2] = {ns_version(&h, w->parent[0]), ns_version(&h, w->parent[1])};
	int64_t sns[3], vns[3][2];
	for (int p = 0; p < 3; p++) {
		char host[64], addr[32], org[2] = {(char)('a' + p), 0};
		snprintf(host, sizeof(host), "ns.prov%c.lab.", 'a' + p);
		snprintf(addr, sizeof(addr), "127.0.3.%d", 11 + p);
		int64_t t = h_target(&h, "provider", org, host, addr);
		sns[p] = h_series(&h, t, ZONE, 2, 4, "ns");
		for (int ph = 0; ph < 2; ph++)
			vns[p][ph] = w->apex[p][ph] ? ns_version(&h, w->apex[p][ph]) : 0;
	}
	for (int i = 0; i < POLLS; i++) {
		int ph = i >= SWITCH;
		h_obs(&h, sref, T0 + i, 0, 0, 0, vref[ph], TTL, 0);
		for (int p = 0; p < 3; p++) {
			if (vns[p][ph])
				h_obs(&h, sns[p], T0 + i + 0.25 * (p + 1), 0, 0, 1, vns[p][ph], TTL,
				      0);
		}
	}
	h_close(&h);
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, dbp, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(*dbp, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	nsr_t *n = NULL;
	cr_assert_eq(
	    nsr_build(*dbp, ZONE, (obs_usec_t)(T0 + POLLS + 5) * OBS_USEC_PER_SEC, EPS, &n),
	    OBS_EOK);
	return n;
}

static void check(const nsr_world_t *w)
{
	char cpath[64], apath[64];
	snprintf(cpath, sizeof(cpath), "/tmp/obs-nsr-c-%d.db", getpid());
	snprintf(apath, sizeof(apath), "/tmp/obs-nsr-a-%d.db", getpid());
	unlink(apath);
	an_db_t *db = NULL;
	nsr_t *n = build(w, cpath, apath, &db);
	cr_assert(nsr_parent_seen(n));
	cr_assert_eq(nsr_eps(n), EPS);
	for (size_t i = 0; i < 8 && w->probes[i].prov; i++) {
		const probe_t *p = &w->probes[i];
		char prov[2] = {p->prov, 0};
		obs_usec_t t = (obs_usec_t)((T0 + p->dt) * 1e6);
		cr_expect_eq(nsr_reachable(n, prov, t), p->expect,
			     "%s: provider %s at T0%+.1f s: %s", w->name, prov, p->dt,
			     p->expect ? "reachable expected" : "unreachable");
	}
	if (w->edge > 0) {
		obs_usec_t lo, hi;
		cr_expect(nsr_span(n, "c", (obs_usec_t)(T0 + 5) * OBS_USEC_PER_SEC, &lo, &hi));
		cr_expect_eq(hi, (obs_usec_t)((T0 + w->edge) * 1e6), "%s: span ends at %lld",
			     w->name, (long long)hi);
		/* the edges drive the detectors: this one must be among them */
		size_t ne = nsr_edges(n, NULL, 0);
		obs_usec_t *e = calloc(ne + 1, sizeof(*e));
		cr_assert_eq(nsr_edges(n, e, ne), ne);
		bool have = false;
		for (size_t k = 0; k < ne; k++)
			have |= e[k] == hi;
		cr_expect(have, "%s: the span's end is an edge", w->name);
		free(e);
	}
	cr_expect_not(nsr_reachable(n, "nosuch", (obs_usec_t)(T0 + 5) * OBS_USEC_PER_SEC));
	nsr_free(n);
	an_db_close(db);
	unlink(cpath);
	unlink(apath);
}

static const nsr_world_t worlds[] = {
    {.name = "c serves the zone but is never delegated",
     .parent = {"ab", "ab"},
     .apex = {{"ab", "ab"}, {"ab", "ab"}, {"abc", "abc"}},
     .probes =
	 {{'a', 5, true}, {'b', 25, true}, {'c', 0, false}, {'c', 5, false}, {'c', 25, false}}},
    {.name = "c removed from the parent NS at T0+10: reachable until T0+10+TTL+eps",
     .parent = {"abc", "ab"},
     .apex = {{"ab", "ab"}, {"ab", "ab"}, {"ab", "ab"}},
     .probes = {{'c', 5, true},
		{'c', 12, true},
		{'c', 15.9, true},
		{'c', 16.1, false},
		{'c', 25, false},
		{'a', 25, true}},
     .edge = 16},
    {.name = "c named only in a's apex NS: reachable by ONESTEP while a is",
     .parent = {"ab", "ab"},
     .apex = {{"abc", "ab"}, {"ab", "ab"}, {"abc", "abc"}},
     /* a's apex run naming c ends at its next poll, T0 + 10.25 */
     .probes = {{'c', 5, true}, {'c', 16.2, true}, {'c', 16.3, false}, {'c', 25, false}},
     .edge = 16.25},
    {.name = "c named only in the apex NS of b, which no referral names: unreachable",
     .parent = {"a", "a"},
     .apex = {{"a", "a"}, {"bc", "bc"}, {"bc", "bc"}},
     .probes = {{'a', 5, true}, {'b', 5, false}, {'c', 5, false}, {'c', 25, false}}},
    {.name = "c keeps naming itself after the parent drops it: one more TTL (ONESTEP)",
     .parent = {"abc", "ab"},
     .apex = {{"ab", "ab"}, {"ab", "ab"}, {"abc", "abc"}},
     /* NSR0(c) ends at 16; c's own apex fetched up to then lives TTL + eps longer */
     .probes = {{'c', 16.5, true}, {'c', 21.9, true}, {'c', 22.1, false}},
     .edge = 22},
};

Test(an_nsr, never_delegated_is_unreachable)
{
	check(&worlds[0]);
}

Test(an_nsr, removed_from_parent_reachable_for_ns_ttl_and_poll)
{
	check(&worlds[1]);
}

Test(an_nsr, listed_in_reachable_provider_apex_is_reachable_onestep)
{
	check(&worlds[2]);
}

Test(an_nsr, listed_only_by_unreachable_provider_is_unreachable)
{
	check(&worlds[3]);
}

Test(an_nsr, self_listing_extends_one_ttl_only)
{
	check(&worlds[4]);
}

Test(an_nsr, no_referral_observed_means_every_provider_counts)
{
	/* without parent data nothing is known: the detectors keep judging every provider */
	char cpath[64], apath[64];
	snprintf(cpath, sizeof(cpath), "/tmp/obs-nsr-c-%d.db", getpid());
	snprintf(apath, sizeof(apath), "/tmp/obs-nsr-a-%d.db", getpid());
	unlink(apath);
	hist_t h;
	h_open(&h, cpath, "vantage-1", 1);
	h_target(&h, "provider", "a", "ns.prova.lab.", "127.0.3.11");
	h_close(&h);
	an_db_t *db = NULL;
	char err[256];
	cr_assert_eq(an_db_open(apath, false, 0, &db, err, sizeof(err)), OBS_EOK, "%s", err);
	cr_assert_eq(ing_collector(db, cpath, 0, NULL, err, sizeof(err)), OBS_EOK, "%s", err);
	nsr_t *n = NULL;
	cr_assert_eq(nsr_build(db, ZONE, (obs_usec_t)T0 * OBS_USEC_PER_SEC, NSR_EPS_AUTO, &n),
		     OBS_EOK);
	cr_expect_not(nsr_parent_seen(n));
	cr_expect(nsr_reachable(n, "a", (obs_usec_t)T0 * OBS_USEC_PER_SEC));
	cr_expect_eq(nsr_edges(n, NULL, 0), 0);
	nsr_free(n);
	nsr_free(NULL);
	an_db_close(db);
	unlink(cpath);
	unlink(apath);
}
