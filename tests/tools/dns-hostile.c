/* SPDX-License-Identifier: MIT */
/* A hostile authoritative server for tests. For each query it misbehaves according to the
 * first label of the query name, then (for some modes) sends the genuine answer:
 *   spoof.*  off-path answers first (wrong ID, wrong question, QR=0, no question, cut short,
 *            from another source address), then the genuine answer (A 192.0.2.7)
 *   bomb.*   a 65 KB TXT bomb with the right ID and question, nothing else
 *   tsig.*   a matching answer carrying two TSIG records, nothing else
 *   chain.*  a genuine answer whose OPT carries an empty EDNS CHAIN option (ldns 1.8.3
 *            crashes printing it)
 *   late.*   the genuine answer after 1.5 s
 *   other    the genuine answer
 * Usage: dns-hostile ADDR PORT SPOOF_ADDR   (runs until killed) */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int bind_udp(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(addr);
		exit(1);
	}
	return fd;
}

static size_t genuine(const ldns_pkt *q, uint8_t *out, size_t cap, int chain)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_aa(r, true);
	ldns_rr *qrr = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0));
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, qrr);
	if (ldns_rr_get_type(qrr) == LDNS_RR_TYPE_A) {
		ldns_rr *a = ldns_rr_new();
		ldns_rr_set_type(a, LDNS_RR_TYPE_A);
		ldns_rr_set_owner(a, ldns_rdf_clone(ldns_rr_owner(qrr)));
		ldns_rr_set_ttl(a, 5);
		ldns_rr_push_rdf(a, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.7"));
		ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, a);
	}
	ldns_pkt_set_edns_udp_size(r, 1232);
	if (chain) {
		ldns_edns_option_list *l = ldns_edns_option_list_new();
		static const uint8_t none[1];
		ldns_edns_option_list_push(l, ldns_edns_new_from_data(LDNS_EDNS_CHAIN, 0, none));
		ldns_pkt_set_edns_option_list(r, l);
	}
	uint8_t *w = NULL;
	size_t len = 0;
	ldns_pkt2wire(&w, r, &len);
	ldns_pkt_free(r);
	if (len > cap)
		len = 0;
	memcpy(out, w, len);
	free(w);
	return len;
}

/* header (ID, flags 0x8400, counts) + the query's question copied from its wire */
static size_t head(const uint8_t *qw, size_t qlen, uint8_t *out, uint16_t an, uint16_t ar)
{
	size_t qend = 12;
	while (qend < qlen && qw[qend] != 0)
		qend += (size_t)qw[qend] + 1;
	qend += 5;
	memcpy(out, qw, qend);
	out[2] = 0x84;
	out[3] = 0x00;
	out[6] = (uint8_t)(an >> 8);
	out[7] = (uint8_t)an;
	out[8] = out[9] = 0;
	out[10] = (uint8_t)(ar >> 8);
	out[11] = (uint8_t)ar;
	return qend;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: dns-hostile ADDR PORT SPOOF_ADDR\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN); /* no zombies from late answers */
	int fd = bind_udp(argv[1], atoi(argv[2]));
	int spoof_fd = bind_udp(argv[3], atoi(argv[2]));
	static uint8_t qw[4096], out[70000];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, qw, sizeof(qw), 0, (struct sockaddr *)&from, &fl);
		if (n < 12)
			continue;
		ldns_pkt *q = NULL;
		if (ldns_wire2pkt(&q, qw, (size_t)n) != LDNS_STATUS_OK ||
		    ldns_pkt_qdcount(q) != 1) {
			ldns_pkt_free(q);
			continue;
		}
		const ldns_rdf *name = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0));
		const uint8_t *d = ldns_rdf_data(name);
		char label[64] = "";
		if (d[0] > 0 && d[0] < sizeof(label)) {
			memcpy(label, d + 1, d[0]);
			label[d[0]] = 0;
		}
		struct sockaddr *to = (struct sockaddr *)&from;
		size_t len;
		if (strcmp(label, "spoof") == 0) {
			len = genuine(q, out, sizeof(out), 0);
			out[1] ^= 0x55; /* wrong ID */
			sendto(fd, out, len, 0, to, fl);
			out[1] ^= 0x55;
			out[14] ^= 0x01; /* wrong question name */
			sendto(fd, out, len, 0, to, fl);
			out[14] ^= 0x01;
			out[2] &= 0x7f; /* QR=0 */
			sendto(fd, out, len, 0, to, fl);
			out[2] |= 0x80;
			uint8_t save = out[5];
			out[5] = 0; /* no question */
			sendto(fd, out, len, 0, to, fl);
			out[5] = save;
			sendto(fd, out, 20, 0, to, fl);          /* cut short */
			sendto(spoof_fd, out, len, 0, to, fl);   /* right bytes, wrong source */
			sendto(fd, out, len, 0, to, fl);         /* genuine */
		} else if (strcmp(label, "bomb") == 0) {
			size_t o = head(qw, (size_t)n, out, 1, 0);
			uint8_t rr[12] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 5, 0xfd, 0xe8};
			memcpy(out + o, rr, sizeof(rr));
			o += sizeof(rr);
			memset(out + o, 0, 65000);
			o += 65000;
			sendto(fd, out, o, 0, to, fl);
		} else if (strcmp(label, "tsig") == 0) {
			size_t o = head(qw, (size_t)n, out, 0, 2);
			for (int i = 0; i < 2; i++) {
				uint8_t rr[11] = {0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0};
				memcpy(out + o, rr, sizeof(rr));
				o += sizeof(rr);
			}
			sendto(fd, out, o, 0, to, fl);
		} else if (strcmp(label, "chain") == 0) {
			len = genuine(q, out, sizeof(out), 1);
			sendto(fd, out, len, 0, to, fl);
		} else if (strcmp(label, "late") == 0) {
			len = genuine(q, out, sizeof(out), 0);
			if (fork() == 0) { /* answer late without stalling the other queries */
				struct timespec ts = {1, 500000000};
				nanosleep(&ts, NULL);
				sendto(fd, out, len, 0, to, fl);
				_exit(0);
			}
		} else {
			len = genuine(q, out, sizeof(out), 0);
			sendto(fd, out, len, 0, to, fl);
		}
		ldns_pkt_free(q);
	}
}
