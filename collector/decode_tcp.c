/* SPDX-License-Identifier: MIT */
/* TCP streams to or from port 53, one direction at a time, with DNS's 2-byte length framing.
 * Each direction is followed by sequence number from the first segment seen (a SYN gives
 * ISN+1). There is no reordering queue: a segment starting beyond the next expected byte is a
 * gap; the direction is then lost (counted once in tcp_gaps) and its payload discarded until a
 * new SYN restarts it or FIN, RST, idle timeout or eviction ends it. Message boundaries cannot
 * be found again in the middle of a stream, so resynchronising there would hand garbage on. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "decode_int.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

#define BUF_KEEP 4096 /* an emptied buffer larger than this is given back */

void dec_tcp_init(dec_t *d)
{
	for (int32_t i = 0; i < DEC_FLOW_BUCKETS; i++)
		d->buckets[i] = -1;
	for (int32_t i = 0; i < DEC_MAX_FLOWS; i++)
		d->flows[i].hnext = i + 1 < DEC_MAX_FLOWS ? i + 1 : -1;
	d->free_head = 0;
	d->lru_head = d->lru_tail = -1;
}

/* FNV-1a over the key, folded to a bucket. */
static uint32_t flow_bucket(const uint8_t *key)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < DEC_FLOW_KEY; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & (DEC_FLOW_BUCKETS - 1);
}

static int32_t flow_find(const dec_t *d, const uint8_t *key)
{
	for (int32_t i = d->buckets[flow_bucket(key)]; i >= 0; i = d->flows[i].hnext)
		if (memcmp(d->flows[i].key, key, DEC_FLOW_KEY) == 0)
			return i;
	return -1;
}

static void lru_unlink(dec_t *d, int32_t i)
{
	dec_flow_t *f = &d->flows[i];
	if (f->lprev >= 0)
		d->flows[f->lprev].lnext = f->lnext;
	else
		d->lru_head = f->lnext;
	if (f->lnext >= 0)
		d->flows[f->lnext].lprev = f->lprev;
	else
		d->lru_tail = f->lprev;
}

static void lru_push(dec_t *d, int32_t i)
{
	dec_flow_t *f = &d->flows[i];
	f->lprev = -1;
	f->lnext = d->lru_head;
	if (d->lru_head >= 0)
		d->flows[d->lru_head].lprev = i;
	else
		d->lru_tail = i;
	d->lru_head = i;
}

/* End a direction: a partial message still buffered counts as cut. */
static void flow_remove(dec_t *d, int32_t i)
{
	dec_flow_t *f = &d->flows[i];
	if (f->len > 0 && !f->lost)
		d->st.tcp_cut++;
	int32_t *pp = &d->buckets[flow_bucket(f->key)];
	while (*pp != i)
		pp = &d->flows[*pp].hnext;
	*pp = f->hnext;
	lru_unlink(d, i);
	free(f->buf);
	memset(f, 0, sizeof(*f));
	f->hnext = d->free_head;
	d->free_head = i;
}

/* A new direction, evicting the least recently used one when the table is full. */
static int32_t flow_new(dec_t *d, const uint8_t *key, uint32_t next)
{
	if (d->free_head < 0) {
		d->st.tcp_evicted++;
		flow_remove(d, d->lru_tail);
	}
	int32_t i = d->free_head;
	dec_flow_t *f = &d->flows[i];
	d->free_head = f->hnext;
	memcpy(f->key, key, DEC_FLOW_KEY);
	f->used = true;
	f->next = next;
	uint32_t b = flow_bucket(key);
	f->hnext = d->buckets[b];
	d->buckets[b] = i;
	lru_push(d, i);
	return i;
}

void dec_tcp_expire(dec_t *d, obs_usec_t t)
{
	while (d->lru_tail >= 0 && t - d->flows[d->lru_tail].last > DEC_FLOW_TIMEOUT_US)
		flow_remove(d, d->lru_tail);
}

void dec_tcp_clear(dec_t *d)
{
	while (d->lru_tail >= 0)
		flow_remove(d, d->lru_tail);
}

/* Hand on every complete length-prefixed message at the start of p; returns the bytes
 * consumed. An empty message (length 0) is counted as a bad header and skipped. */
static size_t tcp_frame(dec_t *d, const dec_ip_t *ip, uint16_t sport, uint16_t dport,
			const uint8_t *p, size_t n)
{
	size_t pos = 0;
	while (n - pos >= 2) {
		size_t mlen = (size_t)p[pos] << 8 | p[pos + 1];
		if (n - pos - 2 < mlen)
			break;
		if (mlen == 0)
			d->st.bad_header++;
		else
			dec_emit(d, ip, sport, dport, 1, p + pos + 2, mlen);
		pos += 2 + mlen;
	}
	return pos;
}

/* Grow f's buffer to hold need bytes (need <= DEC_TCP_BUF_MAX). */
static bool flow_reserve(dec_flow_t *f, size_t need)
{
	if (need <= f->cap)
		return true;
	size_t cap = f->cap ? f->cap * 2 : 512;
	if (cap < need)
		cap = need;
	if (cap > DEC_TCP_BUF_MAX)
		cap = DEC_TCP_BUF_MAX;
	uint8_t *b = realloc(f->buf, cap);
	if (!b)
		return false;
	f->buf = b;
	f->cap = cap;
	return true;
}

/* Append in-order payload to a direction and frame it. Whole messages at the start of an
 * empty buffer are framed in place; the rest is copied. The buffer never exceeds
 * DEC_TCP_BUF_MAX: once full it holds a whole message, so framing always makes room. */
static void tcp_feed(dec_t *d, dec_flow_t *f, const dec_ip_t *ip, uint16_t sport, uint16_t dport,
		     const uint8_t *p, size_t n)
{
	if (f->len == 0) {
		size_t used = tcp_frame(d, ip, sport, dport, p, n);
		p += used;
		n -= used;
	}
	while (n > 0) {
		size_t k = DEC_TCP_BUF_MAX - f->len;
		if (k > n)
			k = n;
		if (!flow_reserve(f, f->len + k)) { /* out of memory: the stream is lost */
			d->st.tcp_gaps++;
			f->lost = true;
			f->len = 0;
			return;
		}
		memcpy(f->buf + f->len, p, k);
		f->len += k;
		p += k;
		n -= k;
		size_t used = tcp_frame(d, ip, sport, dport, f->buf, f->len);
		memmove(f->buf, f->buf + used, f->len - used);
		f->len -= used;
	}
	if (f->len == 0 && f->cap > BUF_KEEP) {
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
}

/* The payload of a segment on a known direction, by where it starts (data_seq) against the
 * next expected byte: in order (appended), behind (a retransmission: trimmed or ignored) or
 * beyond (a gap: the direction is lost). */
static void tcp_data(dec_t *d, dec_flow_t *f, const dec_ip_t *ip, uint16_t sport, uint16_t dport,
		     uint32_t data_seq, const uint8_t *p, size_t n)
{
	int32_t delta = (int32_t)(data_seq - f->next);
	if (f->lost || n == 0)
		return;
	if (delta > 0) {
		d->st.tcp_gaps++;
		f->lost = true;
		f->len = 0;
		return;
	}
	size_t skip = (size_t) - (int64_t)delta;
	if (skip >= n)
		return;
	f->next += (uint32_t)(n - skip);
	tcp_feed(d, f, ip, sport, dport, p + skip, n - skip);
}

void dec_tcp_segment(dec_t *d, const dec_ip_t *ip, const uint8_t *p, size_t len)
{
	obs_cur_t c = obs_cur_init(p, len);
	uint16_t sport = obs_cur_u16(&c);
	uint16_t dport = obs_cur_u16(&c);
	uint32_t seq = obs_cur_u32(&c);
	obs_cur_skip(&c, 4);
	size_t hlen = (size_t)(obs_cur_u8(&c) >> 4) * 4;
	uint8_t flags = obs_cur_u8(&c);
	if (!obs_cur_ok(&c) || hlen < 20 || hlen > len) {
		d->st.bad_header++;
		return;
	}
	if (sport != 53 && dport != 53) {
		d->st.unsupported++;
		return;
	}
	uint8_t key[DEC_FLOW_KEY];
	key[0] = ip->family;
	memcpy(key + 1, ip->src, 16);
	memcpy(key + 17, ip->dst, 16);
	key[33] = (uint8_t)(sport >> 8);
	key[34] = (uint8_t)sport;
	key[35] = (uint8_t)(dport >> 8);
	key[36] = (uint8_t)dport;
	const uint8_t *data = p + hlen;
	size_t n = len - hlen;
	uint32_t data_seq = flags & TCP_SYN ? seq + 1 : seq;

	int32_t i = flow_find(d, key);
	if (flags & TCP_RST) {
		if (i >= 0)
			flow_remove(d, i);
		return;
	}
	if (i < 0) {
		if (!(flags & TCP_SYN) && n == 0)
			return; /* nothing to follow yet */
		i = flow_new(d, key, data_seq);
	} else if ((flags & TCP_SYN) && data_seq != d->flows[i].next) {
		flow_remove(d, i); /* a new connection on the same ports */
		i = flow_new(d, key, data_seq);
	} else {
		lru_unlink(d, i);
		lru_push(d, i);
	}
	dec_flow_t *f = &d->flows[i];
	f->last = ip->t;
	tcp_data(d, f, ip, sport, dport, data_seq, data, n);
	if (flags & TCP_FIN)
		flow_remove(d, i);
}
