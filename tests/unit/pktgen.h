/* SPDX-License-Identifier: MIT */
/* Test helper: build DNS response wire images from presentation-format fixtures (trusted
 * test data only; the product never parses presentation text from the network). */
#pragma once

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pkt_spec {
	const char *qname;
	uint16_t qtype;
	uint8_t rcode;
	int aa, tc, ad;
	const char *answer[8];
	const char *authority[8];
	const char *additional[8];
	uint16_t ede; /* 0 = none */
} pkt_spec_t;

/* Build the wire of spec with the given ID; caller frees *out. Returns 0 on success. */
static inline int pkt_build(const pkt_spec_t *spec, uint16_t id, uint8_t **out, size_t *len)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(spec->qname),
					 (ldns_rr_type)spec->qtype, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, spec->aa);
	ldns_pkt_set_tc(p, spec->tc);
	ldns_pkt_set_ad(p, spec->ad);
	ldns_pkt_set_rcode(p, spec->rcode);
	const char *const *secs[3] = {spec->answer, spec->authority, spec->additional};
	ldns_pkt_section sec[3] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
				   LDNS_SECTION_ADDITIONAL};
	for (int s = 0; s < 3; s++) {
		for (int i = 0; i < 8 && secs[s][i]; i++) {
			ldns_rr *rr = NULL;
			if (ldns_rr_new_frm_str(&rr, secs[s][i], 3600, NULL, NULL) != LDNS_STATUS_OK)
				return -1;
			ldns_pkt_push_rr(p, sec[s], rr);
		}
	}
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_do(p, true);
	if (spec->ede) {
		uint8_t d[2] = {(uint8_t)(spec->ede >> 8), (uint8_t)spec->ede};
		ldns_edns_option_list *l = ldns_edns_option_list_new();
		ldns_edns_option_list_push(l, ldns_edns_new_from_data(LDNS_EDNS_EDE, 2, d));
		ldns_pkt_set_edns_option_list(p, l);
	}
	ldns_status st = ldns_pkt2wire(out, p, len);
	ldns_pkt_free(p);
	return st == LDNS_STATUS_OK ? 0 : -1;
}
