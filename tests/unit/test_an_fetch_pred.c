/* SPDX-License-Identifier: MIT */
/* Attribution of predicted windows to resolvers (fetch_pred.h), the pure parts: holding times
 * under measured profiles, a refetch that replaces a cached RRset, and co-holding of a pair
 * inside a window in both fetch orders. */
#include <criterion/criterion.h>
#include <string.h>

#include "fetch_pred.h"
#include "obs_err.h"

#define S OBS_USEC_PER_SEC

static fetch_event_t ev(const char *owner, uint16_t type, double t, int64_t ttl, int64_t vid)
{
	fetch_event_t e;
	memset(&e, 0, sizeof(e));
	snprintf(e.owner, sizeof(e.owner), "%s", owner);
	e.type = type;
	e.kind = 1;
	e.t = (obs_usec_t)(t * S);
	e.ttl_s = ttl;
	e.version_id = vid;
	e.obs_id = vid * 100 + (int64_t)t;
	return e;
}

Test(an_fetch_pred, hold_follows_the_measured_profile)
{
	cr_assert_eq(fetch_pred_hold(5, FETCH_HONOUR, 0, 0), 5 * S);
	cr_assert_eq(fetch_pred_hold(5, FETCH_UNKNOWN, 30, 0), 5 * S, "UNKNOWN is the TTL");
	cr_assert_eq(fetch_pred_hold(5, FETCH_STRETCH, 30, 0), 30 * S, "TTLs below m count as m");
	cr_assert_eq(fetch_pred_hold(60, FETCH_STRETCH, 30, 0), 60 * S, "TTLs above m stay");
	cr_assert_eq(fetch_pred_hold(5, FETCH_STALE, 0, 100), 105 * S, "STALE adds s");
	cr_assert_eq(fetch_pred_hold(-1, FETCH_HONOUR, 0, 0), 0);
}

Test(an_fetch_pred, a_refetch_of_the_same_rrset_replaces_the_cached_one)
{
	fetch_event_t e[4] = {
	    ev("example.lab.", 48, 10, 20, 2), /* refetch: new DNSKEY version replaces v1 */
	    ev("example.lab.", 48, 0, 20, 1),
	    ev("www.example.lab.", 1, 1, 2, 7), /* another RRset: does not cut the DNSKEY */
	    ev("EXAMPLE.lab.", 48, 40, 20, 2),  /* same RRset, owner case differs */
	};
	fetch_pred_holds(e, 4, FETCH_HONOUR, 0, 0);
	/* sorted by RRset then time: the two DNSKEY fetches first (owner compared without case) */
	cr_assert_eq(e[0].version_id, 1);
	cr_assert_eq(e[0].until, 10 * S, "v1 held until the refetch at 10 s, not 20 s");
	cr_assert_eq(e[0].next, 10 * S);
	cr_assert_eq(e[1].version_id, 2);
	cr_assert_eq(e[1].until, 30 * S, "the refetch at 40 s comes after its expiry");
	cr_assert_eq(e[2].t, 40 * S);
	cr_assert_eq(e[2].next, INT64_MAX);
	cr_assert_eq(e[3].type, 1);
	cr_assert_eq(e[3].until, 3 * S);
}

Test(an_fetch_pred, stretch_profile_extends_holding_up_to_the_refetch)
{
	fetch_event_t e[2] = {ev("example.lab.", 48, 0, 5, 1), ev("example.lab.", 48, 20, 5, 1)};
	fetch_pred_holds(e, 2, FETCH_STRETCH, 30, 0);
	cr_assert_eq(e[0].until, 20 * S, "STRETCH(30) holds v1 until the refetch");
	cr_assert_eq(e[1].until, 50 * S);
}

static void window(iset_t *w, double lo, double hi)
{
	iset_clear(w);
	cr_assert_eq(iset_add(w, (obs_usec_t)(lo * S), (obs_usec_t)(hi * S)), OBS_EOK);
}

Test(an_fetch_pred, data_fetched_while_the_old_dnskey_is_held_is_m1)
{
	/* DNSKEY v1 held [0, 20); data v9 (signed by a key v1 lacks) fetched at 12 for 2 s */
	fetch_event_t k = ev("example.lab.", 48, 0, 20, 1), d = ev("www.example.lab.", 1, 12, 2, 9);
	k.until = 20 * S;
	d.until = 14 * S;
	const fetch_event_t *a[1] = {&k}, *b[1] = {&d};
	iset_t w = ISET_INIT, out = ISET_INIT;
	bool ua[1] = {false}, ub[1] = {false}, m1 = false;
	window(&w, 10, 25);
	cr_assert_eq(fetch_pred_coheld(a, 1, b, 1, &w, &out, ua, ub, &m1), OBS_EOK);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out.v[0].lo, 12 * S);
	cr_assert_eq(out.v[0].hi, 14 * S);
	cr_assert(m1, "b was fetched while a was held: it fails validation when fetched");
	cr_assert(ua[0] && ub[0]);
	iset_free(&w);
	iset_free(&out);
}

Test(an_fetch_pred, co_holding_outside_the_window_names_nobody)
{
	fetch_event_t k = ev("example.lab.", 48, 0, 20, 1), d = ev("www.example.lab.", 1, 12, 2, 9);
	k.until = 20 * S;
	d.until = 14 * S;
	const fetch_event_t *a[1] = {&k}, *b[1] = {&d};
	iset_t w = ISET_INIT, out = ISET_INIT;
	bool ua[1] = {false}, ub[1] = {false}, m1 = true;
	window(&w, 14, 30); /* the predicted window starts when the data has left the cache */
	cr_assert_eq(fetch_pred_coheld(a, 1, b, 1, &w, &out, ua, ub, &m1), OBS_EOK);
	cr_assert(iset_empty(&out));
	cr_assert(!m1 && !ua[0] && !ub[0]);
	iset_free(&w);
	iset_free(&out);
}

Test(an_fetch_pred, dnskey_fetched_while_data_is_held_is_late_validation_only)
{
	/* the data first (validated against an earlier key set), then the DNSKEY without its key */
	fetch_event_t d = ev("www.example.lab.", 1, 0, 10, 9), k = ev("example.lab.", 48, 4, 20, 1);
	d.until = 10 * S;
	k.until = 24 * S;
	const fetch_event_t *a[1] = {&k}, *b[1] = {&d};
	iset_t w = ISET_INIT, out = ISET_INIT;
	bool m1 = true;
	window(&w, 0, 100);
	cr_assert_eq(fetch_pred_coheld(a, 1, b, 1, &w, &out, NULL, NULL, &m1), OBS_EOK);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out.v[0].lo, 4 * S);
	cr_assert_eq(out.v[0].hi, 10 * S);
	cr_assert(!m1, "only the reverse order: M2");
	iset_free(&w);
	iset_free(&out);
}

Test(an_fetch_pred, several_fetches_give_the_union_and_mark_only_contributors)
{
	fetch_event_t k1 = ev("example.lab.", 48, 0, 5, 1), k2 = ev("example.lab.", 48, 30, 5, 1);
	fetch_event_t d1 = ev("www.example.lab.", 1, 2, 2, 9),
		      d2 = ev("www.example.lab.", 1, 10, 2, 9),
		      d3 = ev("www.example.lab.", 1, 31, 2, 9);
	k1.until = 5 * S;
	k2.until = 35 * S;
	d1.until = 4 * S;
	d2.until = 12 * S; /* k1 expired by then: not co-held */
	d3.until = 33 * S;
	const fetch_event_t *a[2] = {&k1, &k2}, *b[3] = {&d1, &d2, &d3};
	iset_t w = ISET_INIT, out = ISET_INIT;
	bool ua[2] = {false, false}, ub[3] = {false, false, false}, m1 = false;
	window(&w, 0, 100);
	cr_assert_eq(fetch_pred_coheld(a, 2, b, 3, &w, &out, ua, ub, &m1), OBS_EOK);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.v[0].lo, 2 * S);
	cr_assert_eq(out.v[0].hi, 4 * S);
	cr_assert_eq(out.v[1].lo, 31 * S);
	cr_assert_eq(out.v[1].hi, 33 * S);
	cr_assert(ua[0] && ua[1]);
	cr_assert(ub[0] && !ub[1] && ub[2], "d2 contributes nothing");
	cr_assert(m1);
	iset_free(&w);
	iset_free(&out);
}
