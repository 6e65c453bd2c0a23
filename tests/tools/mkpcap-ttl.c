/* SPDX-License-Identifier: MIT */
/* Test tool: write tests/fixtures/pcap/ttl.pcap, a synthetic capture of three resolvers
 * answering one stub's DNSKEY questions for example.lab. over 40 s while fetching from one
 * authoritative server (DNSKEY TTL 5), with cache arithmetic done the way Unbound does it
 * (absolute expiry in whole seconds, remaining TTL = expiry - now):
 *   127.0.4.8  honours the TTL: refetches once the 5 s are over;
 *   127.0.4.9  stretches TTLs to a minimum of 30 s: answers with TTL 30 and refetches after 30 s;
 *   127.0.4.7  serves stale: its upstream address 127.0.4.17 gets no answer after the first
 *              fetch, and it answers with TTL 30 and EDE 3 (stale answer).
 * Deterministic (fixed times, IDs and ports). The DNS messages are built with ldns from
 * trusted presentation text; frames are Ethernet/IPv4/UDP. Usage: mkpcap-ttl OUT.pcap */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T0      INT64_C(1795900000) /* 2026-11-28T21:06:40Z */
#define AUTH    "127.0.4.2"
#define STUB    "127.0.4.100"
#define ZONE    "example.lab."
#define KEY_TTL 5
#define DNSKEY                                                                                     \
	"257 3 13 "                                                                                \
	"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="

struct w {
	pcap_dumper_t *d;
	uint16_t id, port;
};

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* one Ethernet/IPv4/UDP frame at t (microseconds) */
static int frame(struct w *w, int64_t t, const char *src, uint16_t sport, const char *dst,
		 uint16_t dport, const uint8_t *dns, size_t len)
{
	uint8_t f[2048];
	if (len + 42 > sizeof(f))
		return -1;
	memset(f, 0, 42);
	f[12] = 0x08; /* IPv4 */
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	uint16_t tot = (uint16_t)(20 + 8 + len);
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *udp = ip + 20;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)((8 + len) >> 8);
	udp[5] = (uint8_t)(8 + len); /* checksum 0: none (IPv4) */
	memcpy(udp + 8, dns, len);
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)(42 + len), .len = (bpf_u_int32)(42 + len)};
	h.ts.tv_sec = (time_t)(t / 1000000);
	h.ts.tv_usec = (suseconds_t)(t % 1000000);
	pcap_dump((u_char *)w->d, &h, f);
	return 0;
}

/* a DNSKEY question (rd: from a stub; else an iterative fetch with CD) or its answer */
static int message(struct w *w, int64_t t, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport, uint16_t id, bool rd, bool response, int ttl, bool stale)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(ZONE), LDNS_RR_TYPE_DNSKEY,
					 LDNS_RR_CLASS_IN, rd ? LDNS_RD : LDNS_CD);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_do(p, true);
	if (response) {
		ldns_pkt_set_qr(p, true);
		ldns_pkt_set_aa(p, !rd);
		ldns_pkt_set_ra(p, rd);
		char text[256];
		snprintf(text, sizeof(text), "%s %d IN DNSKEY %s", ZONE, ttl, DNSKEY);
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
			return -1;
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
		if (stale) {
			uint8_t d[2] = {0, 3}; /* EDE 3: stale answer */
			ldns_edns_option_list *l = ldns_edns_option_list_new();
			ldns_edns_option_list_push(l, ldns_edns_new_from_data(LDNS_EDNS_EDE, 2, d));
			ldns_pkt_set_edns_option_list(p, l);
		}
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK ? 0 : -1;
	if (ret == 0)
		ret = frame(w, t, src, sport, dst, dport, wire, len);
	LDNS_FREE(wire);
	ldns_pkt_free(p);
	return ret;
}

struct res {
	const char *svc, *up;
	int64_t offset;     /* microseconds after each even second the stub asks */
	int min_ttl;        /* the TTL it caches for (5 honours, 30 stretches) */
	bool upstream_dead; /* after the first fetch its server stops answering */
	int64_t expiry;     /* absolute, whole seconds; 0: nothing cached */
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkpcap-ttl OUT.pcap\n");
		return 2;
	}
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	struct w w = {.d = pcap_dump_open(dead, argv[1]), .id = 0x1000, .port = 40000};
	if (w.d == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(dead));
		return 1;
	}
	struct res rs[3] = {
	    {"127.0.4.8", "127.0.4.8", 0, KEY_TTL, false, 0},
	    {"127.0.4.9", "127.0.4.9", 200000, 30, false, 0},
	    {"127.0.4.7", "127.0.4.17", 500000, KEY_TTL, true, 0},
	};
	int ret = 0;
	for (int k = 0; k <= 20 && ret == 0; k++) {
		for (int i = 0; i < 3 && ret == 0; i++) {
			struct res *r = &rs[i];
			int64_t t = (T0 + 2 * k) * 1000000 + r->offset;
			uint16_t cid = w.id++, cport = w.port++;
			ret |= message(&w, t, STUB, cport, r->svc, 53, cid, true, false, 0, false);
			int64_t now = t + 1000;
			bool stale = false;
			if (r->expiry == 0 || t / 1000000 >= r->expiry) {
				uint16_t uid = w.id++, uport = w.port++;
				ret |= message(&w, now, r->up, uport, AUTH, 53, uid, false, false,
					       0, false);
				if (r->upstream_dead && r->expiry != 0) {
					now += 400000; /* gives up on the server, serves stale */
					stale = true;
				} else {
					now += 1000;
					ret |= message(&w, now, AUTH, 53, r->up, uport, uid, false,
						       true, KEY_TTL, false);
					r->expiry = now / 1000000 + r->min_ttl;
				}
				now += 1000;
			}
			int ttl = stale ? 30 : (int)(r->expiry - now / 1000000);
			ret |=
			    message(&w, now, r->svc, 53, STUB, cport, cid, true, true, ttl, stale);
		}
	}
	pcap_dump_close(w.d);
	pcap_close(dead);
	if (ret)
		fprintf(stderr, "mkpcap-ttl: building a message failed\n");
	return ret ? 1 : 0;
}
