/* SPDX-License-Identifier: MIT */
/* Passive capture decoding: link layers, IPv4, IPv6 and UDP. Reassembly is in decode_frag.c,
 * TCP streams in decode_tcp.c. Every header is read through a bounded cursor. A header cut
 * short by the capture counts as truncated; impossible values inside a whole packet count as
 * bad_header. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "decode_int.h"
#include "obs_err.h"

#define ETH_IPV4   0x0800
#define ETH_IPV6   0x86dd
#define ETH_8021Q  0x8100
#define ETH_8021AD 0x88a8
#define ETH_QINQ   0x9100 /* pre-standard 802.1ad outer tag */

#define IP_TCP 6
#define IP_UDP 17

/* DLT_RAW as some systems number it in capture files (OpenBSD 14, others 12) */
#define DEC_LINK_RAW_12 12
#define DEC_LINK_RAW_14 14

static bool dec_link_known(int linktype)
{
	switch (linktype) {
	case DEC_LINK_NULL:
	case DEC_LINK_EN10MB:
	case DEC_LINK_RAW:
	case DEC_LINK_RAW_12:
	case DEC_LINK_RAW_14:
	case DEC_LINK_LOOP:
	case DEC_LINK_LINUX_SLL:
	case DEC_LINK_IPV4:
	case DEC_LINK_IPV6:
	case DEC_LINK_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

int dec_new(int linktype, dec_msg_fn cb, void *arg, dec_t **out)
{
	*out = NULL;
	if (!dec_link_known(linktype))
		return OBS_EINVAL;
	dec_t *d = calloc(1, sizeof(*d));
	if (!d)
		return OBS_ENOMEM;
	d->linktype = linktype;
	d->cb = cb;
	d->arg = arg;
	dec_tcp_init(d);
	*out = d;
	return OBS_EOK;
}

void dec_finish(dec_t *d)
{
	dec_tcp_clear(d);
	dec_frag_clear(d);
}

void dec_free(dec_t *d)
{
	if (!d)
		return;
	dec_finish(d);
	free(d);
}

void dec_get_stats(const dec_t *d, dec_stats_t *out)
{
	*out = d->st;
}

void dec_emit(dec_t *d, const dec_ip_t *ip, uint16_t sport, uint16_t dport, uint8_t transport,
	      const uint8_t *dns, size_t len)
{
	dec_msg_t m = {
	    .t = ip->t,
	    .family = ip->family,
	    .sport = sport,
	    .dport = dport,
	    .transport = transport,
	    .dns = dns,
	    .len = len,
	};
	memcpy(m.src, ip->src, sizeof(m.src));
	memcpy(m.dst, ip->dst, sizeof(m.dst));
	d->st.messages++;
	if (d->cb)
		d->cb(d->arg, &m);
}

/* UDP: the length field must cover the header and fit the IP payload (bytes after it are
 * padding); payloads to or from port 53 are DNS messages. */
static void dec_udp(dec_t *d, const dec_ip_t *ip, const uint8_t *p, size_t len)
{
	obs_cur_t c = obs_cur_init(p, len);
	uint16_t sport = obs_cur_u16(&c);
	uint16_t dport = obs_cur_u16(&c);
	uint16_t ulen = obs_cur_u16(&c);
	obs_cur_skip(&c, 2); /* checksum: not verified (offloading breaks local captures) */
	if (!obs_cur_ok(&c) || ulen <= 8 || ulen > len) {
		d->st.bad_header++;
		return;
	}
	if (sport != 53 && dport != 53) {
		d->st.unsupported++;
		return;
	}
	dec_emit(d, ip, sport, dport, 0, p + 8, (size_t)ulen - 8);
}

void dec_l4(dec_t *d, const dec_ip_t *ip, const uint8_t *p, size_t len)
{
	if (ip->proto == IP_UDP)
		dec_udp(d, ip, p, len);
	else if (ip->proto == IP_TCP)
		dec_tcp_segment(d, ip, p, len);
	else
		d->st.unsupported++;
}

/* IPv4: the header (options skipped) and total length are checked against what was captured;
 * bytes past the total length are link padding. Fragments go to reassembly. */
static void dec_ipv4(dec_t *d, obs_usec_t t, obs_cur_t *c)
{
	dec_ip_t ip = {.t = t, .family = 4};
	const uint8_t *start = obs_cur_ptr(c);
	size_t avail = obs_cur_left(c);
	uint8_t vihl = obs_cur_u8(c);
	obs_cur_skip(c, 1);
	size_t total = obs_cur_u16(c);
	uint16_t id = obs_cur_u16(c);
	uint16_t frag = obs_cur_u16(c);
	obs_cur_skip(c, 1);
	ip.proto = obs_cur_u8(c);
	obs_cur_skip(c, 2);
	obs_cur_bytes(c, ip.src, 4);
	obs_cur_bytes(c, ip.dst, 4);
	if (!obs_cur_ok(c)) {
		d->st.truncated++;
		return;
	}
	size_t hlen = (size_t)(vihl & 0x0f) * 4;
	if (vihl >> 4 != 4 || hlen < 20 || total < hlen) {
		d->st.bad_header++;
		return;
	}
	if (total > avail) {
		d->st.truncated++;
		return;
	}
	const uint8_t *p = start + hlen;
	size_t len = total - hlen;
	size_t off = (size_t)(frag & 0x1fff) * 8;
	bool more = frag & 0x2000;
	if (!more && off == 0) {
		dec_l4(d, &ip, p, len);
		return;
	}
	if (more && len % 8 != 0) {
		d->st.bad_header++;
		return;
	}
	size_t n;
	uint8_t *whole = dec_frag_add(d, &ip, id, off, more, p, len, &n);
	if (whole) {
		dec_l4(d, &ip, whole, n);
		free(whole);
	}
}

/* The IPv6 next-header chain from `nh` over the cursor: hop-by-hop, routing, destination
 * options and AH are skipped, a fragment goes to reassembly and the reassembled payload
 * continues the chain (a second fragment header there is refused). */
static void dec_ip6_chain(dec_t *d, dec_ip_t *ip, uint8_t nh, obs_cur_t *c, bool reassembled)
{
	while (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
		uint8_t next = obs_cur_u8(c);
		uint8_t hl = obs_cur_u8(c);
		if (nh == 51) {
			obs_cur_skip(c, (size_t)hl * 4 + 6);
		} else if (nh != 44) {
			obs_cur_skip(c, (size_t)hl * 8 + 6);
		} else {
			uint16_t offm = obs_cur_u16(c);
			uint32_t id = obs_cur_u32(c);
			size_t off = offm & 0xfff8;
			bool more = offm & 1;
			if (!obs_cur_ok(c) || reassembled || (more && obs_cur_left(c) % 8 != 0)) {
				d->st.bad_header++;
				return;
			}
			if (off != 0 || more) {
				ip->proto = next;
				size_t n;
				uint8_t *whole = dec_frag_add(d, ip, id, off, more, obs_cur_ptr(c),
							      obs_cur_left(c), &n);
				if (whole) {
					obs_cur_t wc = obs_cur_init(whole, n);
					dec_ip6_chain(d, ip, next, &wc, true);
					free(whole);
				}
				return;
			}
			/* an atomic fragment (offset 0, no more): the chain goes on */
		}
		if (!obs_cur_ok(c)) {
			d->st.bad_header++;
			return;
		}
		nh = next;
	}
	ip->proto = nh;
	dec_l4(d, ip, obs_cur_ptr(c), obs_cur_left(c));
}

/* IPv6: the fixed header, then the chain within the payload length (bytes past it are link
 * padding). A jumbogram (payload length 0) is not supported. */
static void dec_ipv6(dec_t *d, obs_usec_t t, obs_cur_t *c)
{
	dec_ip_t ip = {.t = t, .family = 6};
	uint32_t vtf = obs_cur_u32(c);
	size_t plen = obs_cur_u16(c);
	uint8_t nh = obs_cur_u8(c);
	obs_cur_skip(c, 1);
	obs_cur_bytes(c, ip.src, 16);
	obs_cur_bytes(c, ip.dst, 16);
	if (!obs_cur_ok(c)) {
		d->st.truncated++;
		return;
	}
	if (vtf >> 28 != 6) {
		d->st.bad_header++;
		return;
	}
	if (plen == 0) {
		d->st.unsupported++;
		return;
	}
	if (plen > obs_cur_left(c)) {
		d->st.truncated++;
		return;
	}
	obs_cur_t pc = obs_cur_init(obs_cur_ptr(c), plen);
	dec_ip6_chain(d, &ip, nh, &pc, false);
}

/* IPv4 or IPv6 by the version nibble (raw IP link types). */
static void dec_ip_any(dec_t *d, obs_usec_t t, obs_cur_t *c)
{
	if (obs_cur_left(c) == 0) {
		d->st.truncated++;
		return;
	}
	uint8_t v = obs_cur_ptr(c)[0] >> 4;
	if (v == 4)
		dec_ipv4(d, t, c);
	else if (v == 6)
		dec_ipv6(d, t, c);
	else
		d->st.bad_header++;
}

/* An Ethernet type after any number of VLAN tags (802.1Q, 802.1ad): each tag is 2 bytes of
 * TCI and the next type. */
static void dec_ethertype(dec_t *d, obs_usec_t t, uint16_t type, obs_cur_t *c)
{
	while (type == ETH_8021Q || type == ETH_8021AD || type == ETH_QINQ) {
		obs_cur_skip(c, 2);
		type = obs_cur_u16(c);
	}
	if (!obs_cur_ok(c))
		d->st.truncated++;
	else if (type == ETH_IPV4)
		dec_ipv4(d, t, c);
	else if (type == ETH_IPV6)
		dec_ipv6(d, t, c);
	else
		d->st.unsupported++;
}

/* A BSD address family (NULL and LOOP link types): 2 is IPv4; IPv6 is 10 (Linux), 24
 * (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS). */
static void dec_family(dec_t *d, obs_usec_t t, uint32_t fam, obs_cur_t *c)
{
	if (!obs_cur_ok(c))
		d->st.truncated++;
	else if (fam == 2)
		dec_ipv4(d, t, c);
	else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
		dec_ipv6(d, t, c);
	else
		d->st.unsupported++;
}

void dec_frame(dec_t *d, obs_usec_t t, const uint8_t *frame, size_t caplen, size_t wirelen)
{
	(void)wirelen; /* truncation is found from the IP lengths, which also see padding */
	d->st.frames++;
	dec_frag_expire(d, t);
	dec_tcp_expire(d, t);
	obs_cur_t c = obs_cur_init(frame, caplen);
	uint32_t fam;
	uint16_t type;
	switch (d->linktype) {
	case DEC_LINK_EN10MB:
		obs_cur_skip(&c, 12);
		type = obs_cur_u16(&c);
		dec_ethertype(d, t, type, &c);
		break;
	case DEC_LINK_LINUX_SLL:
		obs_cur_skip(&c, 14);
		type = obs_cur_u16(&c);
		dec_ethertype(d, t, type, &c);
		break;
	case DEC_LINK_LINUX_SLL2:
		type = obs_cur_u16(&c);
		obs_cur_skip(&c, 18);
		dec_ethertype(d, t, type, &c);
		break;
	case DEC_LINK_NULL: /* the capturing host's byte order: families are small */
		fam = obs_cur_u32le(&c);
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		dec_family(d, t, fam, &c);
		break;
	case DEC_LINK_LOOP:
		fam = obs_cur_u32(&c);
		dec_family(d, t, fam, &c);
		break;
	case DEC_LINK_IPV4:
		dec_ipv4(d, t, &c);
		break;
	case DEC_LINK_IPV6:
		dec_ipv6(d, t, &c);
		break;
	default: /* raw IP: DEC_LINK_RAW and DLT_RAW 12, 14 */
		dec_ip_any(d, t, &c);
		break;
	}
}
