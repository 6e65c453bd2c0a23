/* SPDX-License-Identifier: MIT */
/* Private to the decoder: the dec_t body and the seams between its three files, decode.c
 * (link, IP, UDP), decode_frag.c (IP reassembly) and decode_tcp.c (TCP streams). */
#pragma once

#include "decode.h"

#define DEC_FRAG_MAX     65535 /* bytes of one reassembled datagram's payload */
#define DEC_TCP_BUF_MAX  65537 /* per direction: a 2-byte length and the largest message */
#define DEC_FLOW_BUCKETS 2048  /* hash buckets for flows, a power of two */
#define DEC_FLOW_KEY     37    /* family, src[16], dst[16], sport, dport */

/* The network-layer facts of one packet; addresses zero-padded so they compare whole. */
typedef struct dec_ip {
	obs_usec_t t;
	uint8_t family; /* 4 or 6 */
	uint8_t proto;  /* upper-layer protocol: 17 UDP, 6 TCP, ... */
	uint8_t src[16];
	uint8_t dst[16];
} dec_ip_t;

/* One datagram being reassembled. buf (owned) holds DEC_FRAG_MAX payload bytes followed by a
 * bitmap of the bytes received. A dead datagram (overlap, bad sizes) keeps its slot without a
 * buffer until it times out, so its remaining fragments are dropped, not restarted. */
typedef struct dec_frag_dgram {
	bool used, dead, last_seen;
	uint8_t family, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	obs_usec_t first; /* capture time of the first fragment */
	size_t total;     /* payload length, known once the last fragment is seen */
	size_t end;       /* highest payload byte received so far, plus one */
	size_t have;      /* payload bytes received */
	uint8_t *buf;
} dec_frag_dgram_t;

/* One direction of a TCP connection. buf (owned, grown up to DEC_TCP_BUF_MAX) holds the bytes
 * of the message being framed. Flows live in a fixed pool, chained from hash buckets and kept
 * on a least-recently-used list (indices, -1 = none). */
typedef struct dec_flow {
	uint8_t key[DEC_FLOW_KEY];
	bool used;
	bool lost;     /* a gap was seen: payload is discarded until SYN, FIN or RST */
	uint32_t next; /* sequence number of the next expected byte */
	obs_usec_t last;
	int32_t hnext, lprev, lnext;
	uint8_t *buf;
	size_t len, cap;
} dec_flow_t;

struct dec {
	int linktype;
	dec_msg_fn cb;
	void *arg;
	dec_stats_t st;
	dec_frag_dgram_t frags[DEC_MAX_FRAG_DATAGRAMS];
	size_t nfrags; /* slots in use */
	dec_flow_t flows[DEC_MAX_FLOWS];
	int32_t buckets[DEC_FLOW_BUCKETS];
	int32_t free_head;          /* unused flows, chained through hnext */
	int32_t lru_head, lru_tail; /* most and least recently used */
};

/* decode.c: hand one DNS message to the callback and count it. */
void dec_emit(dec_t *d, const dec_ip_t *ip, uint16_t sport, uint16_t dport, uint8_t transport,
	      const uint8_t *dns, size_t len);

/* decode.c: the transport layer of one (whole) IP payload. */
void dec_l4(dec_t *d, const dec_ip_t *ip, const uint8_t *p, size_t len);

/* decode_frag.c: add the fragment of `len` bytes at payload offset `off` (`more` = more
 * fragments follow) of datagram (ip->family, ip->src, ip->dst, ip->proto, id). When it
 * completes the datagram, returns its payload (*outlen bytes, owned by the caller: free());
 * otherwise NULL, with any anomaly counted. */
uint8_t *dec_frag_add(dec_t *d, const dec_ip_t *ip, uint32_t id, size_t off, bool more,
		      const uint8_t *p, size_t len, size_t *outlen);

/* decode_frag.c: give up datagrams older than DEC_FRAG_TIMEOUT_US at capture time t. */
void dec_frag_expire(dec_t *d, obs_usec_t t);

/* decode_frag.c: free every datagram (counted as dropped when incomplete). */
void dec_frag_clear(dec_t *d);

/* decode_tcp.c: set up the empty flow table. */
void dec_tcp_init(dec_t *d);

/* decode_tcp.c: one TCP segment (header and payload, len bytes, whole). */
void dec_tcp_segment(dec_t *d, const dec_ip_t *ip, const uint8_t *p, size_t len);

/* decode_tcp.c: end directions idle for more than DEC_FLOW_TIMEOUT_US at capture time t. */
void dec_tcp_expire(dec_t *d, obs_usec_t t);

/* decode_tcp.c: end every direction (partial messages counted as tcp_cut), freeing buffers. */
void dec_tcp_clear(dec_t *d);
