/* SPDX-License-Identifier: MIT */
/* Parsing answers into versions: identity is the canonical RDATA set plus the RRSIG set,
 * independent of order, case and TTL; negative answers and referrals; EDE; discovery data. */
#include <criterion/criterion.h>
#include <string.h>

#include "answer.h"
#include "obs_err.h"
#include "pktgen.h"

#define K1                                                                                         \
	"example.lab. 5 IN DNSKEY 257 3 13 "                                                       \
	"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
#define K2                                                                                         \
	"example.lab. 5 IN DNSKEY 256 3 13 "                                                       \
	"oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA=="
#define SIG1                                                                                       \
	"example.lab. 5 IN RRSIG DNSKEY 13 2 5 20261204000000 20261127000000 12345 example.lab. "  \
	"c2lnbmF0dXJlMXNpZ25hdHVyZTFzaWduYXR1cmUxc2lnbmF0dXJlMXNpZ25hdHVyZTFzaWduYXR1cmUxMDEyMzQ1" \
	"Njc4OQ=="
#define SIG2                                                                                       \
	"example.lab. 5 IN RRSIG DNSKEY 13 2 5 20261205000000 20261128000000 12345 example.lab. "  \
	"c2lnbmF0dXJlMnNpZ25hdHVyZTJzaWduYXR1cmUyc2lnbmF0dXJlMnNpZ25hdHVyZTJzaWduYXR1cmUyMDEyMzQ1" \
	"Njc4OQ=="

static void parse(const pkt_spec_t *spec, ans_summary_t *s)
{
	uint8_t *w = NULL;
	size_t len = 0;
	cr_assert_eq(pkt_build(spec, 1, &w, &len), 0);
	cr_assert_eq(ans_parse(w, len, spec->qname, spec->qtype, s), OBS_EOK);
	free(w);
}

Test(answer, version_identity_ignores_order_case_and_ttl)
{
	ans_summary_t a, b, c, d;
	pkt_spec_t s1 = {.qname = "example.lab.", .qtype = 48, .aa = 1, .answer = {K1, K2, SIG1}};
	pkt_spec_t s2 = {.qname = "EXAMPLE.lab.",
			 .qtype = 48,
			 .aa = 1,
			 .answer = {SIG1, K2,
				    "EXAMPLE.LAB. 3600 IN DNSKEY 257 3 13 "
				    "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
				    "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="}};
	pkt_spec_t s3 = {.qname = "example.lab.", .qtype = 48, .aa = 1, .answer = {K1, K2, SIG2}};
	pkt_spec_t s4 = {.qname = "example.lab.", .qtype = 48, .aa = 1, .answer = {K1, SIG1}};
	parse(&s1, &a);
	parse(&s2, &b);
	parse(&s3, &c);
	parse(&s4, &d);
	cr_assert_eq(a.ver.kind, ANS_ANSWER);
	cr_assert_eq(a.ver.rr_count, 2);
	cr_assert_eq(a.ver.sig_count, 1);
	cr_assert_str_eq(a.ver.owner, "example.lab.");
	cr_assert_eq(memcmp(a.ver.hash, b.ver.hash, ANS_HASH_LEN), 0, "order/case/TTL");
	cr_assert_eq(b.ver.ttl, 5, "TTL of a set = its smallest");
	cr_assert_neq(memcmp(a.ver.hash, c.ver.hash, ANS_HASH_LEN), 0, "re-signed = new version");
	cr_assert_neq(memcmp(a.ver.hash, d.ver.hash, ANS_HASH_LEN), 0, "key removed");
	cr_assert(a.flags & ANS_F_AA);
	ans_summary_clear(&a);
	ans_summary_clear(&b);
	ans_summary_clear(&c);
	ans_summary_clear(&d);
}

Test(answer, duplicate_records_count_once)
{
	ans_summary_t a, b;
	pkt_spec_t s1 = {.qname = "example.lab.", .qtype = 48, .answer = {K1, K1, K2}};
	pkt_spec_t s2 = {.qname = "example.lab.", .qtype = 48, .answer = {K1, K2}};
	parse(&s1, &a);
	parse(&s2, &b);
	cr_assert_eq(a.ver.rr_count, 2);
	cr_assert_eq(memcmp(a.ver.hash, b.ver.hash, ANS_HASH_LEN), 0);
	ans_summary_clear(&a);
	ans_summary_clear(&b);
}

Test(answer, negative_answers)
{
	ans_summary_t nx, nodata;
	pkt_spec_t s1 = {.qname = "nx.example.lab.",
			 .qtype = 1,
			 .rcode = 3,
			 .aa = 1,
			 .authority = {"example.lab. 2 IN SOA ns.prova.lab. h.example.lab. 1001 10 "
				       "10 600 7",
				       "example.lab. 2 IN NSEC www.example.lab. NS SOA RRSIG NSEC "
				       "DNSKEY"}};
	pkt_spec_t s2 = {
	    .qname = "example.lab.",
	    .qtype = 59,
	    .aa = 1,
	    .authority = {"example.lab. 30 IN SOA ns.prova.lab. h.example.lab. 1001 10 "
			  "10 600 7"}};
	parse(&s1, &nx);
	parse(&s2, &nodata);
	cr_assert_eq(nx.ver.kind, ANS_NXDOMAIN);
	cr_assert_eq(nx.rcode, 3);
	cr_assert_eq(nx.ver.rr_count, 2);
	cr_assert_eq(nx.ver.ttl, 2);
	cr_assert_eq(nodata.ver.kind, ANS_NODATA);
	cr_assert_eq(nodata.ver.ttl, 7, "negative TTL = min(SOA TTL, MINIMUM)");
	cr_assert_str_eq(nodata.ver.owner, "example.lab.");
	ans_summary_clear(&nx);
	ans_summary_clear(&nodata);
}

Test(answer, referral_with_glue_and_ns_answer)
{
	ans_summary_t r, ns;
	pkt_spec_t s1 = {
	    .qname = "example.lab.",
	    .qtype = 2,
	    .authority = {"example.lab. 5 IN NS ns.provA.lab.",
			  "example.lab. 5 IN NS ns.provb.lab."},
	    .additional = {"ns.prova.lab. 5 IN A 127.0.0.11", "ns.provb.lab. 5 IN AAAA ::1"}};
	pkt_spec_t s2 = {.qname = "example.lab.",
			 .qtype = 2,
			 .aa = 1,
			 .answer = {"example.lab. 7 IN NS ns.prova.lab."}};
	parse(&s1, &r);
	parse(&s2, &ns);
	cr_assert_eq(r.ver.kind, ANS_REFERRAL);
	cr_assert_eq(r.ns_n, 2);
	cr_assert_str_eq(r.ns[0], "ns.prova.lab.");
	cr_assert_eq(r.ns_ttl, 5);
	cr_assert_eq(r.addrs_n, 2);
	cr_assert_str_eq(r.addrs[0].owner, "ns.prova.lab.");
	cr_assert_eq(r.addrs[0].len, 4);
	cr_assert_eq(r.addrs[1].len, 16);
	cr_assert_eq(ns.ver.kind, ANS_ANSWER);
	cr_assert_eq(ns.ns_n, 1);
	cr_assert_eq(ns.ns_ttl, 7);
	ans_summary_clear(&r);
	ans_summary_clear(&ns);
}

Test(answer, ede_flags_and_servfail)
{
	ans_summary_t a;
	pkt_spec_t s = {.qname = "www.example.lab.", .qtype = 1, .rcode = 2, .ede = 6};
	parse(&s, &a);
	cr_assert_eq(a.rcode, 2);
	cr_assert_eq(a.ede_n, 1);
	cr_assert_eq(a.ede[0], 6);
	cr_assert_eq(a.ver.kind, ANS_NONE);
	ans_summary_clear(&a);

	pkt_spec_t s2 = {.qname = "www.example.lab.",
			 .qtype = 1,
			 .ad = 1,
			 .answer = {"www.example.lab. 2 IN CNAME web.example.lab.",
				    "web.example.lab. 2 IN A 192.0.2.1"}};
	parse(&s2, &a);
	cr_assert(a.flags & ANS_F_AD);
	cr_assert_eq(a.ver.kind, ANS_ANSWER);
	cr_assert_eq(a.ver.type, 5, "a CNAME at the name is the version");
	ans_summary_clear(&a);
}

Test(answer, garbage_is_malformed)
{
	ans_summary_t a;
	uint8_t junk[20] = {0, 1, 0x81, 0x80, 0, 1, 0, 5};
	cr_assert_eq(ans_parse(junk, sizeof(junk), "x.", 1, &a), OBS_EMALFORMED);
	ans_summary_clear(&a);
}

/* T-5 (i) and (ii): the TTL range of the RRs and of their RRSIGs is kept beside the smallest
 * TTL, and ans_ttl_anomaly() says when they disagree; an ordinary answer shows none. */
Test(answer, ttl_anomalies_mixed_rr_ttls_and_rrsig_ttl)
{
	ans_summary_t ok, mixed, sig, neg;
	pkt_spec_t s_ok = {.qname = "example.lab.", .qtype = 48, .aa = 1, .answer = {K1, K2, SIG1}};
	pkt_spec_t s_mixed = {
	    .qname = "example.lab.",
	    .qtype = 48,
	    .aa = 1,
	    .answer = {K1,
		       "example.lab. 3600 IN DNSKEY 256 3 13 "
		       "oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJ"
		       "kqmVfRvMGPmM1x8fGAa2XhSA==",
		       SIG1}};
	pkt_spec_t s_sig = {
	    .qname = "example.lab.",
	    .qtype = 48,
	    .aa = 1,
	    .answer = {K1, K2,
		       "example.lab. 86400 IN RRSIG DNSKEY 13 2 5 20261204000000 20261127000000 "
		       "12345 example.lab. "
		       "c2lnbmF0dXJlMXNpZ25hdHVyZTFzaWduYXR1cmUxc2lnbmF0dXJlMXNpZ25hdHVyZTFzaWduYXR"
		       "1cmUxMDEyMzQ1Njc4OQ=="}};
	pkt_spec_t s_neg = {.qname = "nx.example.lab.",
			    .qtype = 1,
			    .aa = 1,
			    .rcode = 3,
			    .authority = {"example.lab. 5 IN SOA a. b. 1 2 3 4 5",
					  "example.lab. 60 IN NSEC z.example.lab. SOA NSEC"}};
	parse(&s_ok, &ok);
	parse(&s_mixed, &mixed);
	parse(&s_sig, &sig);
	parse(&s_neg, &neg);
	cr_assert_not(ans_ttl_anomaly(&ok.ver), "ordinary answer");
	cr_assert_eq(ok.ver.ttl_max, 5);
	cr_assert_eq(ok.ver.sig_ttl_min, 5);

	cr_assert(ans_ttl_anomaly(&mixed.ver), "(i) RRs with TTLs 5 and 3600");
	cr_assert_eq(mixed.ver.ttl, 5);
	cr_assert_eq(mixed.ver.ttl_max, 3600);
	cr_assert_eq(mixed.ver.sig_ttl_min, 5);
	cr_assert_eq(memcmp(mixed.ver.hash, ok.ver.hash, ANS_HASH_LEN), 0, "TTL not identity");

	cr_assert(ans_ttl_anomaly(&sig.ver), "(ii) RRSIG TTL 86400, set 5");
	cr_assert_eq(sig.ver.ttl, 5);
	cr_assert_eq(sig.ver.ttl_max, 5);
	cr_assert_eq(sig.ver.sig_ttl_min, 86400);
	cr_assert_eq(sig.ver.sig_ttl_max, 86400);

	cr_assert_not(ans_ttl_anomaly(&neg.ver), "negative proofs are not judged here");
	ans_summary_clear(&ok);
	ans_summary_clear(&mixed);
	ans_summary_clear(&sig);
	ans_summary_clear(&neg);
}
