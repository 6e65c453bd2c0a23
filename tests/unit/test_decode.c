/* SPDX-License-Identifier: MIT */
/* The capture decoder on frames built here: every link type, VLAN stacks, IPv6 extension
 * headers, IPv4 and IPv6 fragments, TCP framing, truncation at every length, bad headers and
 * a deterministic fuzz run. Every frame is copied into a buffer of exactly its captured
 * length, so ASan sees any read past it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "obs_err.h"

#define FRAME_MAX 4096
#define SINK_MAX  80
#define T0        (INT64_C(1700000000) * OBS_USEC_PER_SEC)
#define SEC       OBS_USEC_PER_SEC

/* a query for example./A: any 12+ bytes would do, the decoder does not parse DNS */
static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0, 0, 0, 0, 0, 7,
				'e',  'x',  'a',  'm',  'p', 'l', 'e', 0, 0, 1, 0, 1};
static const uint8_t reply_msg[] = {0x12, 0x34, 0x81, 0x80, 0,   1,   0,   0, 0, 0, 0, 0, 7,
				    'e',  'x',  'a',  'm',  'p', 'l', 'e', 0, 0, 1, 0, 1};

static const uint8_t addr4[2][16] = {{192, 0, 2, 1}, {198, 51, 100, 53}};
static const uint8_t addr6[2][16] = {{0x20, 0x01, 0x0d, 0xb8, [15] = 1},
				     {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53}};

/* ---- frame building ---- */

typedef struct wb {
	uint8_t b[FRAME_MAX];
	size_t n;
} wb_t;

static void wmem(wb_t *w, const void *p, size_t n)
{
	cr_assert_leq(w->n + n, FRAME_MAX);
	if (n)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w8(wb_t *w, uint8_t v)
{
	wmem(w, &v, 1);
}

static void w16(wb_t *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	wmem(w, b, 2);
}

static void w32(wb_t *w, uint32_t v)
{
	w16(w, (uint16_t)(v >> 16));
	w16(w, (uint16_t)v);
}

static void w32le(wb_t *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	wmem(w, b, 4);
}

/* One packet: addresses, ports, transport and payload. */
typedef struct pkt {
	uint8_t family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	bool tcp;
	uint32_t seq;
	uint8_t flags;
	uint8_t opts; /* IPv4 option words (NOPs) */
	const uint8_t *data;
	size_t len;
} pkt_t;

static pkt_t pkt(uint8_t family, bool tcp, const uint8_t *data, size_t len)
{
	pkt_t p = {
	    .family = family, .sport = 40000, .dport = 53, .tcp = tcp, .data = data, .len = len};
	memcpy(p.src, family == 4 ? addr4[0] : addr6[0], 16);
	memcpy(p.dst, family == 4 ? addr4[1] : addr6[1], 16);
	return p;
}

/* The same connection the other way. */
static pkt_t reverse(pkt_t p)
{
	pkt_t r = p;
	memcpy(r.src, p.dst, 16);
	memcpy(r.dst, p.src, 16);
	r.sport = p.dport;
	r.dport = p.sport;
	return r;
}

static void put_l4(wb_t *w, const pkt_t *p)
{
	w16(w, p->sport);
	w16(w, p->dport);
	if (p->tcp) {
		w32(w, p->seq);
		w32(w, 0);
		w8(w, 0x50);
		w8(w, p->flags);
		w16(w, 65535);
		w32(w, 0);
	} else {
		w16(w, (uint16_t)(8 + p->len));
		w16(w, 0);
	}
	wmem(w, p->data, p->len);
}

static void put_ip4_hdr(wb_t *w, const pkt_t *p, size_t plen, uint16_t id, uint16_t frag)
{
	w8(w, (uint8_t)(0x45 + p->opts));
	w8(w, 0);
	w16(w, (uint16_t)(20 + 4 * p->opts + plen));
	w16(w, id);
	w16(w, frag);
	w8(w, 64);
	w8(w, p->tcp ? 6 : 17);
	w16(w, 0);
	wmem(w, p->src, 4);
	wmem(w, p->dst, 4);
	for (int i = 0; i < p->opts; i++)
		w32(w, 0x01010101);
}

static void put_ip6_hdr(wb_t *w, const pkt_t *p, uint8_t nh, size_t plen)
{
	w32(w, 0x60000000);
	w16(w, (uint16_t)plen);
	w8(w, nh);
	w8(w, 64);
	wmem(w, p->src, 16);
	wmem(w, p->dst, 16);
}

static void put_ip(wb_t *w, const pkt_t *p)
{
	wb_t l4 = {.n = 0};
	put_l4(&l4, p);
	if (p->family == 4)
		put_ip4_hdr(w, p, l4.n, 1, 0);
	else
		put_ip6_hdr(w, p, p->tcp ? 6 : 17, l4.n);
	wmem(w, l4.b, l4.n);
}

/* A link layer: its type, the BSD family for NULL / LOOP (0 = the usual one) and its byte
 * order for NULL, VLAN tags for Ethernet. */
typedef struct link {
	int type;
	uint32_t af;
	bool be;
	uint16_t tags[4];
	size_t ntags;
} link_t;

static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

static void put_link(wb_t *w, const link_t *l, uint8_t family)
{
	uint16_t et = family == 4 ? 0x0800 : 0x86dd;
	uint32_t af = l->af ? l->af : (family == 4 ? 2 : 24);
	switch (l->type) {
	case DEC_LINK_EN10MB:
		wmem(w, mac, 12);
		for (size_t i = 0; i < l->ntags; i++) {
			w16(w, l->tags[i]);
			w16(w, (uint16_t)(100 + i));
		}
		w16(w, et);
		break;
	case DEC_LINK_LINUX_SLL:
		w16(w, 0);
		w16(w, 1);
		w16(w, 6);
		wmem(w, mac, 8);
		w16(w, et);
		break;
	case DEC_LINK_LINUX_SLL2:
		w16(w, et);
		w16(w, 0);
		w32(w, 2);
		w16(w, 1);
		w8(w, 0);
		w8(w, 6);
		wmem(w, mac, 8);
		break;
	case DEC_LINK_NULL:
		if (l->be)
			w32(w, af);
		else
			w32le(w, af);
		break;
	case DEC_LINK_LOOP:
		w32(w, af);
		break;
	default:
		break;
	}
}

static void put_frame(wb_t *w, const link_t *l, const pkt_t *p)
{
	put_link(w, l, p->family);
	put_ip(w, p);
}

static const link_t eth = {.type = DEC_LINK_EN10MB};

/* ---- the decoder and what it hands over ---- */

typedef struct got {
	dec_msg_t m; /* m.dns cleared */
	uint32_t sum;
} got_t;

typedef struct sink {
	size_t n;
	got_t g[SINK_MAX];
} sink_t;

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void on_msg(void *arg, const dec_msg_t *m)
{
	sink_t *s = arg;
	cr_assert_not_null(m->dns);
	if (s->n < SINK_MAX) {
		s->g[s->n].m = *m;
		s->g[s->n].m.dns = NULL;
		s->g[s->n].sum = fnv(m->dns, m->len);
	}
	s->n++;
}

static dec_t *mk(int linktype, sink_t *s)
{
	dec_t *d = NULL;
	memset(s, 0, sizeof(*s));
	cr_assert_eq(dec_new(linktype, on_msg, s, &d), OBS_EOK);
	return d;
}

static dec_stats_t stats(const dec_t *d)
{
	dec_stats_t st;
	dec_get_stats(d, &st);
	return st;
}

/* Feed a copy of exactly len bytes, so that ASan catches any over-read. */
static void feed(dec_t *d, obs_usec_t t, const uint8_t *f, size_t len)
{
	uint8_t *copy = malloc(len);
	cr_assert(len == 0 || copy);
	if (len)
		memcpy(copy, f, len);
	dec_frame(d, t, copy, len, len);
	free(copy);
}

static void feed_pkt(dec_t *d, obs_usec_t t, const link_t *l, const pkt_t *p)
{
	wb_t w = {.n = 0};
	put_frame(&w, l, p);
	feed(d, t, w.b, w.n);
}

/* The message got matches packet p (its addresses, ports, transport) carrying dns. */
static void check_msg(const got_t *g, const pkt_t *p, const uint8_t *dns, size_t len,
		      const char *what)
{
	cr_assert_eq(g->m.family, p->family, "%s: family", what);
	cr_assert_eq(memcmp(g->m.src, p->src, 16), 0, "%s: src", what);
	cr_assert_eq(memcmp(g->m.dst, p->dst, 16), 0, "%s: dst", what);
	cr_assert_eq(g->m.sport, p->sport, "%s: sport", what);
	cr_assert_eq(g->m.dport, p->dport, "%s: dport", what);
	cr_assert_eq(g->m.transport, p->tcp ? 1 : 0, "%s: transport", what);
	cr_assert_eq(g->m.len, len, "%s: len", what);
	cr_assert_eq(g->sum, fnv(dns, len), "%s: bytes", what);
}

/* A message with its 2-byte length prefix. */
static size_t framed(uint8_t *out, const uint8_t *msg, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, msg, len);
	return len + 2;
}

/* ---- link types ---- */

static const struct link_case {
	const char *name;
	link_t link;
	uint8_t family;
} link_cases[] = {
    {"ethernet v4", {.type = DEC_LINK_EN10MB}, 4},
    {"ethernet v6", {.type = DEC_LINK_EN10MB}, 6},
    {"ethernet 802.1Q v4", {.type = DEC_LINK_EN10MB, .tags = {0x8100}, .ntags = 1}, 4},
    {"ethernet 802.1ad+Q v6", {.type = DEC_LINK_EN10MB, .tags = {0x88a8, 0x8100}, .ntags = 2}, 6},
    {"ethernet 3 x 802.1Q v4",
     {.type = DEC_LINK_EN10MB, .tags = {0x8100, 0x8100, 0x8100}, .ntags = 3},
     4},
    {"sll v4", {.type = DEC_LINK_LINUX_SLL}, 4},
    {"sll v6", {.type = DEC_LINK_LINUX_SLL}, 6},
    {"sll2 v4", {.type = DEC_LINK_LINUX_SLL2}, 4},
    {"sll2 v6", {.type = DEC_LINK_LINUX_SLL2}, 6},
    {"null v4 little-endian", {.type = DEC_LINK_NULL}, 4},
    {"null v4 big-endian", {.type = DEC_LINK_NULL, .be = true}, 4},
    {"null v6 af 24", {.type = DEC_LINK_NULL, .af = 24}, 6},
    {"null v6 af 28 big-endian", {.type = DEC_LINK_NULL, .af = 28, .be = true}, 6},
    {"null v6 af 30", {.type = DEC_LINK_NULL, .af = 30}, 6},
    {"null v6 af 10", {.type = DEC_LINK_NULL, .af = 10}, 6},
    {"loop v4", {.type = DEC_LINK_LOOP}, 4},
    {"loop v6 af 24", {.type = DEC_LINK_LOOP, .af = 24}, 6},
    {"raw 101 v4", {.type = DEC_LINK_RAW}, 4},
    {"raw 101 v6", {.type = DEC_LINK_RAW}, 6},
    {"raw 12 v4", {.type = 12}, 4},
    {"raw 14 v6", {.type = 14}, 6},
    {"ipv4 228", {.type = DEC_LINK_IPV4}, 4},
    {"ipv6 229", {.type = DEC_LINK_IPV6}, 6},
};

Test(decode, every_link_type_delivers_udp_and_tcp)
{
	uint8_t stream[64];
	size_t slen = framed(stream, query, sizeof(query));
	for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		const struct link_case *c = &link_cases[i];
		sink_t s;
		dec_t *d = mk(c->link.type, &s);
		pkt_t u = pkt(c->family, false, query, sizeof(query));
		pkt_t tcp = pkt(c->family, true, stream, slen);
		feed_pkt(d, T0, &c->link, &u);
		feed_pkt(d, T0 + 1, &c->link, &tcp);
		cr_assert_eq(s.n, 2, "%s: messages", c->name);
		check_msg(&s.g[0], &u, query, sizeof(query), c->name);
		check_msg(&s.g[1], &tcp, query, sizeof(query), c->name);
		cr_assert_eq(s.g[1].m.t, T0 + 1, "%s: time", c->name);
		dec_stats_t st = stats(d);
		cr_assert_eq(st.frames, 2, "%s", c->name);
		cr_assert_eq(st.messages, 2, "%s", c->name);
		cr_assert_eq(st.truncated + st.bad_header + st.unsupported, 0, "%s", c->name);
		dec_free(d);
	}
}

Test(decode, unknown_link_type_is_refused)
{
	dec_t *d = (dec_t *)1;
	cr_assert_eq(dec_new(105, on_msg, NULL, &d), OBS_EINVAL);
	cr_assert_null(d);
	dec_free(NULL);
}

Test(decode, ethernet_padding_is_not_payload)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t p = pkt(4, false, query, 12);
	wb_t w = {.n = 0};
	put_frame(&w, &eth, &p);
	cr_assert_lt(w.n, 60);
	memset(w.b + w.n, 0, 60 - w.n);
	feed(d, T0, w.b, 60);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &p, query, 12, "padded");
	dec_free(d);
}

Test(decode, ipv4_options_are_skipped)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t p = pkt(4, false, query, sizeof(query));
	p.opts = 3;
	feed_pkt(d, T0, &eth, &p);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &p, query, sizeof(query), "options");
	dec_free(d);
}

/* ---- IPv6 extension headers ---- */

/* An IPv6 UDP frame whose chain is hop-by-hop, routing, destination options, an atomic
 * fragment header and AH before UDP. */
static void put_ip6_ext_frame(wb_t *w, const pkt_t *p)
{
	wb_t l4 = {.n = 0};
	put_l4(&l4, p);
	wb_t ext = {.n = 0};
	const uint8_t hbh[8] = {43, 0, 1, 4, 0, 0, 0, 0};
	const uint8_t rt[24] = {60, 2, 0, 0}; /* 24 bytes: length 2 */
	const uint8_t dst[8] = {44, 0, 1, 4, 0, 0, 0, 0};
	const uint8_t frag[8] = {51, 0, 0, 0, 0, 0, 0, 9}; /* offset 0, M 0 */
	const uint8_t ah[16] = {17, 2};                    /* (2 + 2) * 4 = 16 bytes */
	wmem(&ext, hbh, sizeof(hbh));
	wmem(&ext, rt, sizeof(rt));
	wmem(&ext, dst, sizeof(dst));
	wmem(&ext, frag, sizeof(frag));
	wmem(&ext, ah, sizeof(ah));
	put_link(w, &eth, 6);
	put_ip6_hdr(w, p, 0, ext.n + l4.n);
	wmem(w, ext.b, ext.n);
	wmem(w, l4.b, l4.n);
}

Test(decode, ipv6_extension_headers_are_followed)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t p = pkt(6, false, query, sizeof(query));
	wb_t w = {.n = 0};
	put_ip6_ext_frame(&w, &p);
	feed(d, T0, w.b, w.n);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &p, query, sizeof(query), "ext chain");

	/* a destination options header claiming more than the payload holds */
	w.b[14 + 40 + 8 + 24 + 1] = 200;
	feed(d, T0, w.b, w.n);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(stats(d).bad_header, 1);
	dec_free(d);
}

/* ---- IP fragments ---- */

#define FRAG_DATA 1200 /* UDP payload; with its header 1208 bytes, in 400 + 400 + 408 */

typedef struct frag_spec {
	size_t off, len;
	bool corrupt; /* flip its first byte */
} frag_spec_t;

static uint8_t big[65535];

static void fill_big(void)
{
	memcpy(big, query, sizeof(query));
	for (size_t i = sizeof(query); i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
}

/* One fragment of p's L4 image (header and data): an IPv4 or IPv6 frame on Ethernet. */
static void put_frag(wb_t *w, const pkt_t *p, uint32_t id, const frag_spec_t *f)
{
	wb_t l4 = {.n = 0};
	put_l4(&l4, p);
	cr_assert_leq(f->off + f->len, l4.n);
	bool more = f->off + f->len < l4.n;
	uint8_t slice[FRAME_MAX];
	memcpy(slice, l4.b + f->off, f->len);
	if (f->corrupt)
		slice[0] ^= 0xff;
	put_link(w, &eth, p->family);
	if (p->family == 4) {
		put_ip4_hdr(w, p, f->len, (uint16_t)id,
			    (uint16_t)(f->off / 8 | (more ? 0x2000 : 0)));
	} else {
		put_ip6_hdr(w, p, 44, 8 + f->len);
		w8(w, p->tcp ? 6 : 17);
		w8(w, 0);
		w16(w, (uint16_t)(f->off | (more ? 1 : 0)));
		w32(w, id);
	}
	wmem(w, slice, f->len);
}

static void feed_frag(dec_t *d, obs_usec_t t, const pkt_t *p, uint32_t id, const frag_spec_t *f)
{
	wb_t w = {.n = 0};
	put_frag(&w, p, id, f);
	feed(d, t, w.b, w.n);
}

#define OK(o, l)                                                                                   \
	{                                                                                          \
		o, l, false                                                                        \
	}
#define BAD(o, l)                                                                                  \
	{                                                                                          \
		o, l, true                                                                         \
	}

static const struct frag_case {
	const char *name;
	size_t n;
	frag_spec_t f[6];
	size_t msgs, dropped;
} frag_cases[] = {
    {"in order", 3, {OK(0, 400), OK(400, 400), OK(800, 408)}, 1, 0},
    {"out of order", 3, {OK(800, 408), OK(0, 400), OK(400, 400)}, 1, 0},
    {"reversed", 3, {OK(800, 408), OK(400, 400), OK(0, 400)}, 1, 0},
    {"duplicated identical",
     5,
     {OK(0, 400), OK(400, 400), OK(0, 400), OK(400, 400), OK(800, 408)},
     1,
     0},
    {"overlapping identical", 3, {OK(0, 400), OK(200, 400), OK(600, 608)}, 1, 0},
    /* the datagram is given up (1), then its next fragment is dropped on arrival (2) */
    {"overlapping different", 3, {OK(0, 400), BAD(200, 400), OK(600, 608)}, 0, 2},
    {"last repeated different", 2, {OK(800, 408), BAD(800, 408)}, 0, 1},
    {"missing last", 2, {OK(0, 400), OK(400, 400)}, 0, 0},
};

static void run_frag_case(uint8_t family, const struct frag_case *c)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t p = pkt(family, false, big, FRAG_DATA);
	for (size_t i = 0; i < c->n; i++)
		feed_frag(d, T0 + (obs_usec_t)i, &p, 77, &c->f[i]);
	cr_assert_eq(s.n, c->msgs, "v%d %s: messages", family, c->name);
	if (c->msgs)
		check_msg(&s.g[0], &p, big, FRAG_DATA, c->name);
	dec_stats_t st = stats(d);
	cr_assert_eq(st.frag_reassembled, c->msgs, "v%d %s", family, c->name);
	cr_assert_eq(st.frag_dropped, c->dropped, "v%d %s", family, c->name);
	cr_assert_eq(st.bad_header + st.truncated, 0, "v%d %s", family, c->name);

	/* capture time moves past the timeout: what is left is dropped and counted, once */
	pkt_t other = pkt(family, false, query, sizeof(query));
	feed_pkt(d, T0 + DEC_FRAG_TIMEOUT_US + SEC, &eth, &other);
	bool left = c->msgs == 0 && c->dropped == 0;
	cr_assert_eq(stats(d).frag_dropped, c->dropped + (left ? 1 : 0), "v%d %s", family, c->name);
	dec_free(d);
}

Test(decode, ipv4_fragments, .init = fill_big)
{
	for (size_t i = 0; i < sizeof(frag_cases) / sizeof(frag_cases[0]); i++)
		run_frag_case(4, &frag_cases[i]);
}

Test(decode, ipv6_fragments, .init = fill_big)
{
	for (size_t i = 0; i < sizeof(frag_cases) / sizeof(frag_cases[0]); i++)
		run_frag_case(6, &frag_cases[i]);
}

/* A full table gives up the datagram whose first fragment came earliest (counted once; a dead
 * one was counted when it died), so a flood of incomplete datagrams cannot keep later real
 * ones from being reassembled. */
Test(decode, fragment_table_full_evicts_the_oldest, .init = fill_big)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t p = pkt(4, false, big, FRAG_DATA);
	const frag_spec_t f[3] = {OK(0, 400), OK(400, 400), OK(800, 408)};
	const frag_spec_t bad = BAD(0, 400);
	const uint32_t n = DEC_MAX_FRAG_DATAGRAMS;
	feed_frag(d, T0, &p, 0, &f[0]);
	feed_frag(d, T0 + 1, &p, 0, &bad); /* id 0 dies: a conflicting overlap */
	cr_assert_eq(stats(d).frag_dropped, 1);
	for (uint32_t id = 1; id < n; id++) /* the table is full: id 0 (dead) and 1 .. n-1 */
		feed_frag(d, T0 + 10 + id, &p, id, &f[0]);
	cr_assert_eq(stats(d).frag_dropped, 1);
	feed_frag(d, T0 + 1000, &p, n, &f[0]); /* evicts dead id 0: already counted */
	cr_assert_eq(stats(d).frag_dropped, 1);
	feed_frag(d, T0 + 1001, &p, n + 1, &f[0]); /* evicts id 1, the oldest alive */
	cr_assert_eq(stats(d).frag_dropped, 2);
	for (uint32_t id = n + 1; id >= 2; id--) {
		feed_frag(d, T0 + 2000, &p, id, &f[2]);
		feed_frag(d, T0 + 2000, &p, id, &f[1]);
	}
	cr_assert_eq(s.n, n);
	for (size_t i = 0; i < s.n; i++)
		check_msg(&s.g[i], &p, big, FRAG_DATA, "after eviction");
	dec_stats_t st = stats(d);
	cr_assert_eq(st.frag_reassembled, n);
	cr_assert_eq(st.frag_dropped, 2);
	feed_frag(d, T0 + 3000, &p, 1, &f[1]); /* the rest of evicted id 1: a new datagram */
	dec_finish(d);
	cr_assert_eq(stats(d).frag_dropped, 3);
	cr_assert_eq(stats(d).frag_reassembled, n);
	dec_free(d);
}

Test(decode, fragmented_tcp_segment_is_reassembled, .init = fill_big)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	uint8_t stream[1300];
	size_t n = framed(stream, big, 1200);
	pkt_t p = pkt(4, true, stream, n);
	const frag_spec_t f[2] = {OK(0, 800), OK(800, 20 + n - 800)};
	feed_frag(d, T0, &p, 5, &f[1]);
	feed_frag(d, T0, &p, 5, &f[0]);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &p, big, 1200, "tcp in fragments");
	dec_free(d);
}

/* ---- truncation and bad headers ---- */

Test(decode, truncated_at_every_length)
{
	uint8_t stream[64];
	size_t slen = framed(stream, query, sizeof(query));
	const struct {
		const char *name;
		link_t link;
		pkt_t p;
	} cases[] = {
	    {"ethernet v4 udp", eth, pkt(4, false, query, sizeof(query))},
	    {"ethernet v6 udp", eth, pkt(6, false, query, sizeof(query))},
	    {"vlan v4 tcp",
	     {.type = DEC_LINK_EN10MB, .tags = {0x88a8, 0x8100}, .ntags = 2},
	     pkt(4, true, stream, slen)},
	    {"sll v6 tcp", {.type = DEC_LINK_LINUX_SLL}, pkt(6, true, stream, slen)},
	    {"sll2 v4 udp", {.type = DEC_LINK_LINUX_SLL2}, pkt(4, false, query, sizeof(query))},
	    {"null v6 udp", {.type = DEC_LINK_NULL}, pkt(6, false, query, sizeof(query))},
	    {"loop v4 udp", {.type = DEC_LINK_LOOP}, pkt(4, false, query, sizeof(query))},
	    {"raw v6 udp", {.type = DEC_LINK_RAW}, pkt(6, false, query, sizeof(query))},
	    {"ipv4 tcp", {.type = DEC_LINK_IPV4}, pkt(4, true, stream, slen)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sink_t s;
		dec_t *d = mk(cases[i].link.type, &s);
		wb_t w = {.n = 0};
		put_frame(&w, &cases[i].link, &cases[i].p);
		for (size_t cap = 0; cap < w.n; cap++)
			feed(d, T0, w.b, cap);
		dec_stats_t st = stats(d);
		cr_assert_eq(s.n, 0, "%s", cases[i].name);
		cr_assert_eq(st.truncated, w.n, "%s: truncated", cases[i].name);
		cr_assert_eq(st.bad_header + st.unsupported, 0, "%s", cases[i].name);
		feed(d, T0, w.b, w.n);
		cr_assert_eq(s.n, 1, "%s: whole frame", cases[i].name);
		dec_free(d);
	}
}

/* A valid Ethernet frame with one byte changed; which counter must move. */
static const struct bad_case {
	const char *name;
	uint8_t family;
	bool tcp;
	size_t at; /* offset in the frame (Ethernet header is 14 bytes) */
	uint8_t val;
	size_t counter; /* offsetof in dec_stats_t */
} bad_cases[] = {
    {"ihl 4", 4, false, 14, 0x44, offsetof(dec_stats_t, bad_header)},
    {"ihl 15 beyond total length", 4, false, 14, 0x4f, offsetof(dec_stats_t, bad_header)},
    {"version 5 in an IPv4 frame", 4, false, 14, 0x55, offsetof(dec_stats_t, bad_header)},
    {"total length below header", 4, false, 14 + 3, 10, offsetof(dec_stats_t, bad_header)},
    {"total length beyond capture", 4, false, 14 + 3, 200, offsetof(dec_stats_t, truncated)},
    {"udp length 7", 4, false, 14 + 20 + 5, 7, offsetof(dec_stats_t, bad_header)},
    {"udp length 8 (empty)", 4, false, 14 + 20 + 5, 8, offsetof(dec_stats_t, bad_header)},
    {"udp length beyond ip", 4, false, 14 + 20 + 5, 34, offsetof(dec_stats_t, bad_header)},
    {"udp v6 length beyond ip", 6, false, 14 + 40 + 5, 34, offsetof(dec_stats_t, bad_header)},
    {"ports not 53", 4, false, 14 + 20 + 3, 54, offsetof(dec_stats_t, unsupported)},
    {"protocol icmp", 4, false, 14 + 9, 1, offsetof(dec_stats_t, unsupported)},
    {"v6 next header 59", 6, false, 14 + 6, 59, offsetof(dec_stats_t, unsupported)},
    {"v6 payload length 0", 6, false, 14 + 5, 0, offsetof(dec_stats_t, unsupported)},
    {"v6 version 4", 6, false, 14, 0x40, offsetof(dec_stats_t, bad_header)},
    {"tcp data offset 4", 4, true, 14 + 20 + 12, 0x40, offsetof(dec_stats_t, bad_header)},
    {"tcp data offset 15", 4, true, 14 + 20 + 12, 0xf0, offsetof(dec_stats_t, bad_header)},
    {"tcp ports not 53", 6, true, 14 + 40 + 3, 54, offsetof(dec_stats_t, unsupported)},
    {"ethertype arp", 4, false, 12, 0x08, offsetof(dec_stats_t, unsupported)},
    {"ethertype 802.3 length", 4, false, 12, 0x00, offsetof(dec_stats_t, unsupported)},
};

Test(decode, bad_headers_are_counted)
{
	uint8_t stream[64];
	size_t slen = framed(stream, query, sizeof(query));
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		sink_t s;
		dec_t *d = mk(DEC_LINK_EN10MB, &s);
		pkt_t p = c->tcp ? pkt(c->family, true, stream, slen)
				 : pkt(c->family, false, query, sizeof(query));
		wb_t w = {.n = 0};
		put_frame(&w, &eth, &p);
		cr_assert_lt(c->at, w.n);
		w.b[c->at] = c->val;
		if (c->at == 12 && c->val == 0x08)
			w.b[13] = 0x06; /* 0x0806 */
		feed(d, T0, w.b, w.n);
		dec_stats_t st = stats(d);
		uint64_t v;
		memcpy(&v, (const uint8_t *)&st + c->counter, sizeof(v));
		cr_assert_eq(s.n, 0, "%s", c->name);
		cr_assert_eq(v, 1, "%s: counter", c->name);
		cr_assert_eq(st.truncated + st.bad_header + st.unsupported, 1, "%s: only one",
			     c->name);
		dec_free(d);
	}
}

Test(decode, link_headers_with_unknown_values)
{
	const struct {
		link_t link;
		size_t counter;
	} cases[] = {
	    {{.type = DEC_LINK_NULL, .af = 99}, offsetof(dec_stats_t, unsupported)},
	    {{.type = DEC_LINK_LOOP, .af = 7}, offsetof(dec_stats_t, unsupported)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sink_t s;
		dec_t *d = mk(cases[i].link.type, &s);
		pkt_t p = pkt(4, false, query, sizeof(query));
		feed_pkt(d, T0, &cases[i].link, &p);
		dec_stats_t st = stats(d);
		uint64_t v;
		memcpy(&v, (const uint8_t *)&st + cases[i].counter, sizeof(v));
		cr_assert_eq(v, 1, "case %zu", i);
		cr_assert_eq(s.n, 0);
		dec_free(d);
	}
	sink_t s;
	dec_t *d = mk(DEC_LINK_RAW, &s);
	const uint8_t v5[20] = {0x55};
	feed(d, T0, v5, sizeof(v5));
	cr_assert_eq(stats(d).bad_header, 1);
	dec_free(d);
}

/* ---- TCP ---- */

/* Feed one Ethernet TCP segment of connection direction p. */
static void seg(dec_t *d, obs_usec_t t, pkt_t p, uint32_t seq, uint8_t flags, const uint8_t *data,
		size_t len)
{
	p.tcp = true;
	p.seq = seq;
	p.flags = flags;
	p.data = data;
	p.len = len;
	feed_pkt(d, t, &eth, &p);
}

#define SYN 0x02
#define FIN 0x11 /* FIN+ACK */
#define RST 0x04
#define ACK 0x10

Test(decode, tcp_message_in_three_segments)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0 + 1, c, 1001, ACK, b, 10);
	seg(d, T0 + 2, c, 1011, ACK, b + 10, 10);
	cr_assert_eq(s.n, 0);
	seg(d, T0 + 3, c, 1021, ACK, b + 20, n - 20);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &c, query, sizeof(query), "three segments");
	cr_assert_eq(s.g[0].m.t, T0 + 3);
	dec_free(d);
}

Test(decode, tcp_two_messages_in_one_segment)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(6, true, NULL, 0);
	uint8_t b[128];
	size_t n = framed(b, query, sizeof(query));
	n += framed(b + n, reply_msg, sizeof(reply_msg));
	seg(d, T0, c, 5, ACK, b, n);
	cr_assert_eq(s.n, 2);
	check_msg(&s.g[0], &c, query, sizeof(query), "first");
	check_msg(&s.g[1], &c, reply_msg, sizeof(reply_msg), "second");
	dec_free(d);
}

Test(decode, tcp_length_prefix_split)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[128];
	size_t n = framed(b, query, sizeof(query));
	n += framed(b + n, reply_msg, sizeof(reply_msg));
	size_t cut = 2 + sizeof(query) + 1; /* inside the second prefix */
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0, c, 1001, ACK, b, 1);
	seg(d, T0, c, 1002, ACK, b + 1, cut - 1);
	cr_assert_eq(s.n, 1);
	seg(d, T0, c, (uint32_t)(1001 + cut), ACK, b + cut, n - cut);
	cr_assert_eq(s.n, 2);
	check_msg(&s.g[1], &c, reply_msg, sizeof(reply_msg), "after split prefix");
	dec_free(d);
}

Test(decode, tcp_both_directions)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(6, true, NULL, 0);
	pkt_t r = reverse(c);
	uint8_t q[64], a[64];
	size_t qn = framed(q, query, sizeof(query));
	size_t an = framed(a, reply_msg, sizeof(reply_msg));
	seg(d, T0, c, 100, SYN, NULL, 0);
	seg(d, T0, r, 9000, SYN | ACK, NULL, 0);
	seg(d, T0, c, 101, ACK, q, 5);
	seg(d, T0, r, 9001, ACK, a, 5); /* interleaved halves */
	seg(d, T0, c, 106, ACK, q + 5, qn - 5);
	seg(d, T0, r, 9006, ACK, a + 5, an - 5);
	cr_assert_eq(s.n, 2);
	check_msg(&s.g[0], &c, query, sizeof(query), "query");
	check_msg(&s.g[1], &r, reply_msg, sizeof(reply_msg), "response");
	cr_assert_eq(s.g[1].m.sport, 53);
	seg(d, T0, c, (uint32_t)(101 + qn), FIN, NULL, 0);
	seg(d, T0, r, (uint32_t)(9001 + an), FIN, NULL, 0);
	dec_stats_t st = stats(d);
	cr_assert_eq(st.tcp_cut + st.tcp_gaps, 0);
	dec_free(d);
}

Test(decode, tcp_retransmissions_are_trimmed)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0, c, 1000, SYN, NULL, 0); /* SYN retransmitted */
	seg(d, T0, c, 1001, ACK, b, 10);
	seg(d, T0, c, 1001, ACK, b, 10);        /* exact repeat */
	seg(d, T0, c, 1006, ACK, b + 5, n - 5); /* 5 old bytes, then the rest */
	seg(d, T0, c, 1001, ACK, b, n);         /* the whole message again */
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &c, query, sizeof(query), "retransmitted");
	dec_stats_t st = stats(d);
	cr_assert_eq(st.tcp_gaps + st.tcp_cut, 0);
	dec_free(d);
}

Test(decode, tcp_gap_loses_the_direction_until_a_new_syn)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0, c, 1001, ACK, b, 10);
	seg(d, T0, c, 1021, ACK, b + 20, n - 20); /* bytes 1011..1020 missing */
	cr_assert_eq(stats(d).tcp_gaps, 1);
	seg(d, T0, c, 1011, ACK, b + 10, 10); /* late: the direction is already lost */
	seg(d, T0, c, (uint32_t)(1001 + n), ACK, b, n);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(stats(d).tcp_gaps, 1);
	/* the same ports reused by a new connection */
	seg(d, T0, c, 50000, SYN, NULL, 0);
	seg(d, T0, c, 50001, ACK, b, n);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &c, query, sizeof(query), "after the new SYN");
	dec_stats_t st = stats(d);
	cr_assert_eq(st.tcp_gaps, 1);
	cr_assert_eq(st.tcp_cut, 0);
	dec_free(d);
}

Test(decode, tcp_fin_or_rst_mid_message_is_cut)
{
	const uint8_t enders[2] = {FIN, RST};
	for (int i = 0; i < 2; i++) {
		sink_t s;
		dec_t *d = mk(DEC_LINK_EN10MB, &s);
		pkt_t c = pkt(4, true, NULL, 0);
		uint8_t b[64];
		framed(b, query, sizeof(query));
		seg(d, T0, c, 1000, SYN, NULL, 0);
		seg(d, T0, c, 1001, ACK, b, 10);
		seg(d, T0, c, 1011, enders[i], NULL, 0);
		cr_assert_eq(s.n, 0);
		cr_assert_eq(stats(d).tcp_cut, 1, "ender %d", i);
		dec_free(d);
	}
}

Test(decode, tcp_fin_with_the_last_bytes_delivers)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0, c, 1001, ACK, b, 10);
	seg(d, T0, c, 1011, FIN, b + 10, n - 10);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(stats(d).tcp_cut, 0);
	dec_free(d);
}

Test(decode, tcp_sequence_wraps)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = pkt(4, true, NULL, 0);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	seg(d, T0, c, 0xfffffff0u, SYN, NULL, 0);
	seg(d, T0, c, 0xfffffff1u, ACK, b, 20);
	seg(d, T0, c, 0x00000005u, ACK, b + 20, n - 20);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(stats(d).tcp_gaps, 0);
	dec_free(d);
}

Test(decode, tcp_largest_messages_fill_the_buffer, .init = fill_big)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	pkt_t c = reverse(pkt(6, true, NULL, 0));
	size_t total = 2 * (2 + sizeof(big));
	uint8_t *b = malloc(total);
	framed(b, big, sizeof(big));
	framed(b + 2 + sizeof(big), big, sizeof(big));
	seg(d, T0, c, 7, SYN | ACK, NULL, 0);
	for (size_t off = 0; off < total; off += 1400) {
		size_t k = total - off < 1400 ? total - off : 1400;
		seg(d, T0, c, (uint32_t)(8 + off), ACK, b + off, k);
	}
	cr_assert_eq(s.n, 2);
	check_msg(&s.g[0], &c, big, sizeof(big), "first 65535");
	check_msg(&s.g[1], &c, big, sizeof(big), "second 65535");
	free(b);
	dec_free(d);
}

Test(decode, tcp_flow_table_evicts_least_recently_used)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	pkt_t c = pkt(4, true, NULL, 0);
	for (int i = 0; i <= DEC_MAX_FLOWS; i++) {
		c.sport = (uint16_t)(10000 + i);
		seg(d, T0 + i, c, 1, ACK, b, 1); /* one byte: a partial message in each */
	}
	dec_stats_t st = stats(d);
	cr_assert_eq(st.tcp_evicted, 1);
	cr_assert_eq(st.tcp_cut, 1);
	/* the second flow survived and completes */
	c.sport = 10001;
	seg(d, T0 + 2000, c, 2, ACK, b + 1, n - 1);
	cr_assert_eq(s.n, 1);
	check_msg(&s.g[0], &c, query, sizeof(query), "survivor");
	/* freeing with partial messages pending: no leak, counted */
	dec_free(d);
}

Test(decode, tcp_idle_flow_times_out)
{
	sink_t s;
	dec_t *d = mk(DEC_LINK_EN10MB, &s);
	uint8_t b[64];
	size_t n = framed(b, query, sizeof(query));
	pkt_t c = pkt(4, true, NULL, 0);
	seg(d, T0, c, 1000, SYN, NULL, 0);
	seg(d, T0, c, 1001, ACK, b, 10);
	pkt_t u = pkt(4, false, query, sizeof(query));
	feed_pkt(d, T0 + DEC_FLOW_TIMEOUT_US + SEC, &eth, &u);
	cr_assert_eq(stats(d).tcp_cut, 1);
	cr_assert_eq(s.n, 1); /* the UDP one */
	/* the rest arrives later: picked up mid-stream, which is not a message boundary */
	seg(d, T0 + DEC_FLOW_TIMEOUT_US + 2 * SEC, c, 1011, ACK, b + 10, n - 10);
	cr_assert_eq(stats(d).tcp_gaps, 0);
	dec_free(d);
}

/* ---- fuzz ---- */

typedef struct base {
	int linktype;
	wb_t w;
} base_t;

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(decode, fuzz_random_and_bit_flipped_frames, .init = fill_big)
{
	static const int types[] = {DEC_LINK_EN10MB, DEC_LINK_LINUX_SLL, DEC_LINK_LINUX_SLL2,
				    DEC_LINK_NULL,   DEC_LINK_LOOP,      DEC_LINK_RAW};
	enum { NTYPES = sizeof(types) / sizeof(types[0]), NBASE = 32 };
	base_t *bases = calloc(NBASE, sizeof(*bases));
	size_t nb = 0;
	uint8_t stream[128];
	size_t slen = framed(stream, query, sizeof(query));
	slen += framed(stream + slen, reply_msg, sizeof(reply_msg));
	for (size_t i = 0; i < NTYPES; i++) {
		link_t l = {.type = types[i], .tags = {0x8100}, .ntags = i == 0};
		for (uint8_t fam = 4; fam <= 6; fam += 2) {
			pkt_t u = pkt(fam, false, query, sizeof(query));
			pkt_t t = pkt(fam, true, stream, slen);
			bases[nb].linktype = l.type;
			put_frame(&bases[nb++].w, &l, &u);
			bases[nb].linktype = l.type;
			put_frame(&bases[nb++].w, &l, &t);
		}
	}
	pkt_t p4 = pkt(4, false, big, FRAG_DATA);
	pkt_t p6 = pkt(6, false, big, FRAG_DATA);
	const frag_spec_t f[2] = {OK(0, 400), OK(400, 808)};
	for (int i = 0; i < 2; i++) {
		bases[nb].linktype = DEC_LINK_EN10MB;
		put_frag(&bases[nb++].w, &p4, 9, &f[i]);
		bases[nb].linktype = DEC_LINK_EN10MB;
		put_frag(&bases[nb++].w, &p6, 9, &f[i]);
	}
	pkt_t e = pkt(6, false, query, sizeof(query));
	bases[nb].linktype = DEC_LINK_EN10MB;
	put_ip6_ext_frame(&bases[nb++].w, &e);
	cr_assert_leq(nb, NBASE);

	dec_t *dec[NTYPES];
	sink_t *sinks = calloc(NTYPES, sizeof(sink_t));
	for (size_t i = 0; i < NTYPES; i++)
		dec[i] = mk(types[i], &sinks[i]);
	uint64_t seed = 0x9e3779b97f4a7c15u;
	obs_usec_t t = T0;
	uint8_t buf[FRAME_MAX];
	for (int iter = 0; iter < 20000; iter++) {
		const base_t *b = &bases[rng_next(&seed) % nb];
		size_t n = b->w.n;
		memcpy(buf, b->w.b, n);
		uint64_t r = rng_next(&seed);
		switch (r % 5) {
		case 0: /* a few bit flips */
			for (uint64_t k = 0; k <= (r >> 8) % 4; k++) {
				uint64_t x = rng_next(&seed);
				buf[x % n] ^= (uint8_t)(1u << ((x >> 32) % 8));
			}
			break;
		case 1: /* bytes overwritten in the headers */
			for (uint64_t k = 0; k <= (r >> 8) % 3; k++) {
				uint64_t x = rng_next(&seed);
				buf[x % (n < 80 ? n : 80)] = (uint8_t)(x >> 40);
			}
			break;
		case 2: /* cut short */
			n = (r >> 8) % (n + 1);
			break;
		case 3: /* random bytes of random length */
			n = (r >> 8) % 200;
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)rng_next(&seed);
			break;
		default: /* as built */
			break;
		}
		t += (obs_usec_t)((r >> 20) % 100000);
		if ((r >> 40) % 1000 == 0)
			t += DEC_FLOW_TIMEOUT_US; /* sometimes everything times out */
		size_t di = 0;
		while (types[di] != b->linktype)
			di++;
		feed(dec[di], t, buf, n);
	}
	uint64_t frames = 0, msgs = 0;
	for (size_t i = 0; i < NTYPES; i++) {
		dec_stats_t st = stats(dec[i]);
		frames += st.frames;
		msgs += st.messages;
		cr_assert_eq(st.messages, sinks[i].n);
		dec_free(dec[i]);
	}
	cr_assert_eq(frames, 20000);
	cr_assert_gt(msgs, 0);
	free(sinks);
	free(bases);
}
