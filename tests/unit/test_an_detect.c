/* SPDX-License-Identifier: MIT */
/* Detectors on small hand-built histories (an_world.h): validation, resolution, TTL and
 * negative-answer families. Each world is named after what it shows and lists the finding IDs
 * it must raise (and, for the negative cases, those it must not). */
#include "an_world.h"

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
    {.name = "CDS at a only", .nprov = 2, .cds = 1, .expect = {"C-2"}},
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
    {.name = "key-tag collision, both keys held everywhere",
     .nprov = 2,
     .tag_collision = 1,
     .absent = {"V-2", "V-4"},
     .no_error = true},
    {.name = "key-tag collision, the signing twin missing at b",
     .nprov = 2,
     .tag_collision = 2,
     .expect = {"V-4"},
     .absent = {"V-2"}},
    {.name = "NSEC TTL equals min(SOA.MINIMUM, SOA TTL)",
     .nprov = 2,
     .nsec_ttl = 300,
     .absent = {"N-1"},
     .no_error = true},
    {.name = "NSEC TTL above the negative TTL",
     .nprov = 2,
     .nsec_ttl = 3600,
     .expect = {"N-1"},
     .no_error = true},
    {.name = "DNSKEY response above 1232 bytes",
     .nprov = 2,
     .big_dnskey = 16,
     .expect = {"R-4"},
     .no_error = true},
    {.name = "truncated DNSKEY answer, TCP retry times out",
     .nprov = 2,
     .tc_fail = true,
     .expect = {"R-4"}},
    {.name = "healthy model-2 with apex NS, canary, CSYNC, nx: nothing to report",
     .nprov = 3,
     .nsec_ttl = 300,
     .absent = {"R-4", "N-1", "A-3", "C-7", "O-4", "V-4"},
     .no_error = true},
    {.name = "DNSKEY RRs of provider a with TTLs 300 and 3600 s", .nprov = 2, .ttl_anom = 1},
    {.name = "RRSIG TTL 60 s over provider a's DNSKEY RRset of 300 s", .nprov = 2, .ttl_anom = 2},
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

Test(an_detect, key_tag_collision_not_confused)
{
	check_world(&worlds[9]);
}
Test(an_detect, key_tag_collision_missing_twin_is_v4)
{
	check_world(&worlds[10]);
}
Test(an_detect, nsec_ttl_at_negative_ttl_no_n1)
{
	check_world(&worlds[11]);
}
Test(an_detect, nsec_ttl_above_negative_ttl_is_n1)
{
	check_world(&worlds[12]);
}
Test(an_detect, big_dnskey_is_r4)
{
	check_world(&worlds[13]);
}
Test(an_detect, truncated_without_tcp_is_r4)
{
	check_world(&worlds[14]);
}
Test(an_detect, healthy_full_world_quiet)
{
	check_world(&worlds[15]);
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

/* T-5 (i) / (ii) from the collector's TTL anomaly rows: WARN, about provider a, with the first
 * and last observations that showed it as evidence; the other case is not claimed, and a world
 * without anomaly rows raises neither. */
static void ttl_anomaly_case(const world_t *w, const char *want, const char *other)
{
	struct seen s;
	run_world(w, &s);
	size_t hits = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.ids[i], "T-5") != 0)
			continue;
		cr_expect(strncmp(s.msg[i], other, strlen(other)) != 0, "%s: %s", w->name,
			  s.msg[i]);
		if (strncmp(s.msg[i], want, strlen(want)) != 0)
			continue;
		hits++;
		cr_expect_eq(s.sev[i], SEV_WARN, "%s", s.msg[i]);
		cr_expect_eq(s.nobs[i], 2, "first and last observation as evidence: %s", s.msg[i]);
		cr_expect(strstr(s.msg[i], "DNSKEY") && strstr(s.msg[i], " at 127.0."), "%s",
			  s.msg[i]);
	}
	cr_assert_eq(hits, 1, "%s: one T-5 %s finding expected", w->name, want);
}

Test(an_detect, ttl_anomaly_mixed_rr_ttls_is_t5_i)
{
	ttl_anomaly_case(&worlds[sizeof(worlds) / sizeof(worlds[0]) - 2], "(i) ", "(ii) ");
}

Test(an_detect, ttl_anomaly_rrsig_ttl_is_t5_ii)
{
	ttl_anomaly_case(&worlds[sizeof(worlds) / sizeof(worlds[0]) - 1], "(ii) ", "(i) ");
}

Test(an_detect, no_ttl_anomaly_rows_no_t5_i_ii)
{
	struct seen s;
	run_world(&worlds[0], &s);
	for (size_t i = 0; i < s.n; i++)
		cr_expect(strcmp(s.ids[i], "T-5") != 0 || (strncmp(s.msg[i], "(i) ", 4) != 0 &&
							   strncmp(s.msg[i], "(ii) ", 5) != 0),
			  "%s", s.msg[i]);
}
