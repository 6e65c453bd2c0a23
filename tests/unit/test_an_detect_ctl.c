/* SPDX-License-Identifier: MIT */
/* Detectors on small hand-built histories (an_world.h): control plane (CDS/CDNSKEY, CSYNC,
 * apex NS what-ifs), algorithms and vantage artifacts. Positive and negative worlds. */
#include "an_world.h"

static const world_t worlds[] = {
    {.name = "CDS of every KSK at every provider (= the DS set)",
     .nprov = 3,
     .cds = 2,
     .expect = {"C-8", "C-4"}, /* C-8 INFO: still published; C-4 INFO: ZSK-signed */
     .absent = {"C-2", "C-3"},
     .no_error = true},
    {.name = "CDS at a only: applying it would drop b's DS",
     .nprov = 2,
     .cds = 1,
     .expect = {"C-2", "C-3"}},
    {.name = "CDS inconsistent across providers", .nprov = 2, .cds = 3, .expect = {"C-2", "C-3"}},
    {.name = "CDS signed by a key no DNSKEY RRset holds",
     .nprov = 2,
     .cds = 2,
     .cds_foreign = true,
     .expect = {"C-4"}},
    {.name = "KSK roll: CDS of the new KSK after the old DNSKEY RRset drained",
     .nprov = 2,
     .cds_roll = 1,
     .absent = {"C-3", "C-2"},
     .no_error = true},
    {.name = "KSK roll: CDS of the new KSK while the old DNSKEY RRset is cached (M1)",
     .nprov = 2,
     .cds_roll = 2,
     .expect = {"C-3"},
     .absent = {"C-2"}},
    {.name = "same CSYNC everywhere, parent in sync",
     .nprov = 2,
     .csync = 1,
     .expect = {"C-8"},
     .absent = {"C-6"},
     .no_error = true},
    {.name = "CSYNC differs between providers",
     .nprov = 2,
     .csync = 2,
     .expect = {"C-6"},
     .no_error = true},
    {.name = "apex NS names a provider whose KSK has no DS",
     .nprov = 3,
     .undelegated = true,
     .apex_adds_last = true,
     .expect = {"C-7"}},
    {.name = "apex NS names a ready provider (keys in DS and imported)",
     .nprov = 3,
     .apex_adds_last = true,
     .expect = {"R-2"},
     .absent = {"C-7"},
     .no_error = true},
    {.name = "algorithm mismatch: STRICT validators fail",
     .nprov = 2,
     .alg_mismatch = true,
     .expect = {"A-1", "A-3"},
     .no_error = true},
    {.name = "one algorithm everywhere: no A-3",
     .nprov = 3,
     .absent = {"A-1", "A-3"},
     .no_error = true},
    {.name = "algorithm rollover in order: signatures drained before the key is published",
     .nprov = 2,
     .alg_roll = 1,
     .absent = {"A-4"},
     .no_error = true},
    {.name = "algorithm rollover: key published before the signatures drained",
     .nprov = 2,
     .alg_roll = 2,
     .expect = {"A-4"},
     .no_error = true},
    {.name = "vantage reports EDE 1",
     .nprov = 2,
     .res_ede = "1",
     .expect = {"A-5"},
     .absent = {"O-2", "O-4"},
     .no_error = true},
    {.name = "vantage reports EDE 7 while served signatures are valid",
     .nprov = 2,
     .res_ede = "7",
     .expect = {"O-2"},
     .absent = {"A-5"},
     .no_error = true},
    {.name = "vantage reports EDE 7 and a's SOA signature has expired",
     .nprov = 2,
     .expired = true,
     .res_ede = "7",
     .expect = {"V-3e"},
     .absent = {"O-2"}},
    {.name = "vantage returns a canary version no server served",
     .nprov = 2,
     .res_foreign = true,
     .expect = {"O-4"},
     .no_error = true},
};

Test(an_detect_ctl, cds_equal_to_ds_is_c8_info)
{
	check_world(&worlds[0]);
}
Test(an_detect_ctl, cds_of_one_provider_is_c3)
{
	check_world(&worlds[1]);
}
Test(an_detect_ctl, cds_inconsistent_across_providers)
{
	check_world(&worlds[2]);
}
Test(an_detect_ctl, cds_with_foreign_signature_is_c4)
{
	check_world(&worlds[3]);
	struct seen s;
	run_world(&worlds[3], &s);
	bool warn = false;
	for (size_t i = 0; i < s.n; i++)
		warn |= strcmp(s.ids[i], "C-4") == 0 && s.sev[i] == SEV_WARN;
	cr_expect(warn, "C-4 must be WARN when the CDS does not validate");
}
Test(an_detect_ctl, cds_after_old_dnskey_drained_no_c3)
{
	check_world(&worlds[4]);
}
Test(an_detect_ctl, cds_while_old_dnskey_cached_is_c3_m1)
{
	check_world(&worlds[5]);
}
Test(an_detect_ctl, csync_same_everywhere_is_c8_only)
{
	check_world(&worlds[6]);
}
Test(an_detect_ctl, csync_differs_is_c6)
{
	check_world(&worlds[7]);
}
Test(an_detect_ctl, apex_ns_naming_unchained_provider_is_c7)
{
	check_world(&worlds[8]);
}
Test(an_detect_ctl, apex_ns_naming_ready_provider_no_c7)
{
	check_world(&worlds[9]);
}
Test(an_detect_ctl, algorithm_mismatch_is_a3)
{
	check_world(&worlds[10]);
}
Test(an_detect_ctl, one_algorithm_no_a3)
{
	check_world(&worlds[11]);
}
Test(an_detect_ctl, alg_roll_in_order_no_a4)
{
	check_world(&worlds[12]);
}
Test(an_detect_ctl, alg_roll_key_before_signatures_drained_is_a4)
{
	check_world(&worlds[13]);
}
Test(an_detect_ctl, ede1_is_a5)
{
	check_world(&worlds[14]);
}
Test(an_detect_ctl, ede7_without_v3_is_o2)
{
	check_world(&worlds[15]);
}
Test(an_detect_ctl, ede7_with_expired_signature_is_not_o2)
{
	check_world(&worlds[16]);
}
Test(an_detect_ctl, foreign_version_is_o4)
{
	check_world(&worlds[17]);
}
