/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <ldns/ldns.h>
#include <string.h>

#include "obs_err.h"
#include "probe.h"

int probe_build(const char *qname, uint16_t qtype, unsigned flags, probe_query_t *out)
{
	memset(out, 0, sizeof(*out));
	ldns_rdf *name = ldns_dname_new_frm_str(qname);
	if (name == NULL)
		return OBS_ESYNTAX;
	uint16_t pflags = (flags & PROBE_RD) ? LDNS_RD : 0;
	if (flags & PROBE_CD)
		pflags |= LDNS_CD;
	ldns_pkt *pkt = ldns_pkt_query_new(name, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, pflags);
	if (pkt == NULL) {
		ldns_rdf_deep_free(name);
		return OBS_EDNS;
	}
	ldns_pkt_set_id(pkt, 0);
	ldns_pkt_set_edns_udp_size(pkt, PROBE_EDNS_BUFSIZE);
	if (flags & PROBE_DO)
		ldns_pkt_set_edns_do(pkt, true);
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = OBS_EDNS;
	if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK && len <= PROBE_MAX_QUERY &&
	    len > 12) {
		out->wire = malloc(len); /* ldns's buffer has room for 4 KiB: copy exactly */
		if (out->wire == NULL) {
			free(wire);
			ldns_pkt_free(pkt);
			return OBS_ENOMEM;
		}
		memcpy(out->wire, wire, len);
		out->len = (uint16_t)len;
		size_t pos = 12;
		while (pos < len && out->wire[pos] != 0)
			pos += (size_t)out->wire[pos] + 1;
		out->qname_len = (uint16_t)(pos + 1 - 12);
		out->qtype = qtype;
		out->flags = (uint8_t)flags;
		ret = OBS_EOK;
	}
	free(wire);
	ldns_pkt_free(pkt);
	return ret;
}

void probe_set_id(uint8_t *wire, uint16_t id)
{
	wire[0] = (uint8_t)(id >> 8);
	wire[1] = (uint8_t)id;
}

int probe_match(const probe_query_t *q, uint16_t id, const uint8_t *resp, size_t len)
{
	if (len < 12)
		return OBS_EMALFORMED;
	if ((uint16_t)(resp[0] << 8 | resp[1]) != id)
		return OBS_EMISMATCH;
	if (!(resp[2] & 0x80) || (resp[2] & 0x78) != 0) /* QR=1, opcode QUERY */
		return OBS_EMISMATCH;
	if (resp[4] != 0 || resp[5] != 1) /* exactly one question */
		return OBS_EMISMATCH;
	size_t end = 12 + (size_t)q->qname_len;
	if (len < end + 4)
		return OBS_EMISMATCH;
	/* the question name: label bytes compared case-insensitively, lengths exactly */
	size_t pos = 12;
	while (pos < end) {
		uint8_t l = q->wire[pos];
		if (resp[pos] != l)
			return OBS_EMISMATCH;
		for (size_t i = 1; i <= l; i++) {
			if (tolower(resp[pos + i]) != tolower(q->wire[pos + i]))
				return OBS_EMISMATCH;
		}
		pos += (size_t)l + 1;
	}
	if (memcmp(resp + end, q->wire + end, 4) != 0) /* qtype, qclass */
		return OBS_EMISMATCH;
	return OBS_EOK;
}

void probe_free(probe_query_t *q)
{
	if (q == NULL)
		return;
	free(q->wire);
	q->wire = NULL;
	q->len = 0;
}
