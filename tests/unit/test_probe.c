/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "obs_err.h"
#include "pktgen.h"
#include "probe.h"

Test(probe, build_sets_flags_edns_and_question)
{
	probe_query_t q;
	cr_assert_eq(probe_build("Example.LAB.", LDNS_RR_TYPE_DNSKEY, PROBE_DO | PROBE_CD, &q),
		     OBS_EOK);
	ldns_pkt *p = NULL;
	cr_assert_eq(ldns_wire2pkt(&p, q.wire, q.len), LDNS_STATUS_OK);
	cr_assert_eq(ldns_pkt_id(p), 0);
	cr_assert(!ldns_pkt_rd(p));
	cr_assert(ldns_pkt_cd(p));
	cr_assert(ldns_pkt_edns_do(p));
	cr_assert_eq(ldns_pkt_edns_udp_size(p), PROBE_EDNS_BUFSIZE);
	cr_assert_eq(q.qname_len, 13);
	cr_assert_eq(q.qtype, LDNS_RR_TYPE_DNSKEY);
	ldns_pkt_free(p);
	probe_free(&q);

	cr_assert_eq(probe_build("x.example.", LDNS_RR_TYPE_A, PROBE_RD, &q), OBS_EOK);
	cr_assert(q.wire[2] & 1, "RD bit");
	probe_free(&q);
	cr_assert_eq(probe_build("bad..name", LDNS_RR_TYPE_A, 0, &q), OBS_ESYNTAX);
}

struct match_case {
	const char *name;
	const char *qname;
	uint16_t qtype;
	uint16_t id;
	int qr_clear, opcode, qdcount;
	int want;
};

Test(probe, match_table)
{
	static const struct match_case cases[] = {
	    {"genuine", "www.example.lab.", 1, 4711, 0, 0, 1, OBS_EOK},
	    {"case differs (no 0x20)", "WWW.Example.lab.", 1, 4711, 0, 0, 1, OBS_EOK},
	    {"wrong id", "www.example.lab.", 1, 4712, 0, 0, 1, OBS_EMISMATCH},
	    {"qr clear", "www.example.lab.", 1, 4711, 1, 0, 1, OBS_EMISMATCH},
	    {"opcode notify", "www.example.lab.", 1, 4711, 0, 4, 1, OBS_EMISMATCH},
	    {"no question", "www.example.lab.", 1, 4711, 0, 0, 0, OBS_EMISMATCH},
	    {"other name", "www.example.lac.", 1, 4711, 0, 0, 1, OBS_EMISMATCH},
	    {"longer name", "www.example.lab.x.", 1, 4711, 0, 0, 1, OBS_EMISMATCH},
	    {"other type", "www.example.lab.", 28, 4711, 0, 0, 1, OBS_EMISMATCH},
	};
	probe_query_t q;
	cr_assert_eq(probe_build("www.example.lab.", 1, PROBE_DO, &q), OBS_EOK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct match_case *c = &cases[i];
		pkt_spec_t spec = {.qname = c->qname, .qtype = c->qtype};
		uint8_t *w = NULL;
		size_t len = 0;
		cr_assert_eq(pkt_build(&spec, c->id, &w, &len), 0);
		if (c->qr_clear)
			w[2] &= 0x7f;
		w[2] = (uint8_t)((w[2] & 0x87) | (c->opcode << 3));
		if (c->qdcount == 0) {
			w[4] = w[5] = 0;
		}
		cr_assert_eq(probe_match(&q, 4711, w, len), c->want, "case %s", c->name);
		free(w);
	}
	uint8_t tiny[5] = {0};
	cr_assert_eq(probe_match(&q, 0, tiny, sizeof(tiny)), OBS_EMALFORMED);
	probe_free(&q);
}

Test(probe, set_id)
{
	uint8_t w[12] = {0};
	probe_set_id(w, 0xbeef);
	cr_assert_eq(w[0], 0xbe);
	cr_assert_eq(w[1], 0xef);
}
