/* SPDX-License-Identifier: MIT */
/* IP fragment reassembly in bounded memory: at most DEC_MAX_FRAG_DATAGRAMS datagrams of at
 * most DEC_FRAG_MAX payload bytes each, keyed by (family, src, dst, protocol, id). A byte
 * received twice must be the same byte, or the whole datagram is dropped (overlap attacks).
 * Datagrams not complete after DEC_FRAG_TIMEOUT_US of capture time are dropped; when the table
 * is full, the oldest datagram makes room for a new one. */
#include <stdlib.h>
#include <string.h>

#include "decode_int.h"

#define BITMAP_OFF DEC_FRAG_MAX /* the received-bytes bitmap follows the payload in buf */
#define BUF_SIZE   (DEC_FRAG_MAX + (DEC_FRAG_MAX + 7) / 8)

static void frag_release(dec_t *d, dec_frag_dgram_t *g)
{
	free(g->buf);
	memset(g, 0, sizeof(*g));
	d->nfrags--;
}

/* Give a datagram up (counted once); its slot stays dead until the timeout. */
static void frag_kill(dec_t *d, dec_frag_dgram_t *g)
{
	d->st.frag_dropped++;
	free(g->buf);
	g->buf = NULL;
	g->dead = true;
}

static bool frag_match(const dec_frag_dgram_t *g, const dec_ip_t *ip, uint32_t id)
{
	return g->used && g->id == id && g->proto == ip->proto && g->family == ip->family &&
	       memcmp(g->src, ip->src, 16) == 0 && memcmp(g->dst, ip->dst, 16) == 0;
}

/* The datagram for this fragment, or a new one; NULL without memory (counted). When the table
 * is full, the datagram whose first fragment came earliest is given up (counted if it was not
 * dead already) to make room: a flood of fragments that never complete then costs the oldest
 * incomplete datagrams, not every datagram after it, since a real datagram's fragments
 * arrive together. */
static dec_frag_dgram_t *frag_find(dec_t *d, const dec_ip_t *ip, uint32_t id)
{
	dec_frag_dgram_t *spare = NULL, *oldest = NULL;
	for (size_t i = 0; i < DEC_MAX_FRAG_DATAGRAMS; i++) {
		dec_frag_dgram_t *g = &d->frags[i];
		if (frag_match(g, ip, id))
			return g;
		if (!g->used && !spare)
			spare = g;
		if (g->used && (!oldest || g->first < oldest->first))
			oldest = g;
	}
	if (!spare && oldest) {
		if (!oldest->dead)
			d->st.frag_dropped++;
		frag_release(d, oldest);
		spare = oldest;
	}
	uint8_t *buf = spare ? malloc(BUF_SIZE) : NULL;
	if (!buf) {
		d->st.frag_dropped++;
		return NULL;
	}
	memset(buf + BITMAP_OFF, 0, BUF_SIZE - BITMAP_OFF);
	*spare = (dec_frag_dgram_t){.used = true,
				    .family = ip->family,
				    .proto = ip->proto,
				    .id = id,
				    .first = ip->t,
				    .buf = buf};
	memcpy(spare->src, ip->src, 16);
	memcpy(spare->dst, ip->dst, 16);
	d->nfrags++;
	return spare;
}

/* Copy the fragment's bytes in; false if a byte already received differs. */
static bool frag_copy(dec_frag_dgram_t *g, size_t off, const uint8_t *p, size_t len)
{
	uint8_t *bits = g->buf + BITMAP_OFF;
	for (size_t i = 0; i < len; i++) {
		size_t at = off + i;
		uint8_t bit = (uint8_t)(1u << (at % 8));
		if (bits[at / 8] & bit) {
			if (g->buf[at] != p[i])
				return false;
			continue;
		}
		g->buf[at] = p[i];
		bits[at / 8] |= bit;
		g->have++;
	}
	return true;
}

uint8_t *dec_frag_add(dec_t *d, const dec_ip_t *ip, uint32_t id, size_t off, bool more,
		      const uint8_t *p, size_t len, size_t *outlen)
{
	dec_frag_dgram_t *g = frag_find(d, ip, id);
	if (!g)
		return NULL;
	if (g->dead) {
		d->st.frag_dropped++;
		return NULL;
	}
	size_t end = off + len;
	bool bad_total = !more && g->last_seen && g->total != end;
	if (end > DEC_FRAG_MAX || bad_total || (!more && g->end > end) ||
	    (g->last_seen && end > g->total)) {
		frag_kill(d, g);
		return NULL;
	}
	if (!more) {
		g->last_seen = true;
		g->total = end;
	}
	if (end > g->end)
		g->end = end;
	if (!frag_copy(g, off, p, len)) {
		frag_kill(d, g);
		return NULL;
	}
	if (!g->last_seen || g->have != g->total)
		return NULL;
	/* cut to the payload, so that a read past it is a read past the allocation (ASan) */
	uint8_t *whole = g->total > 0 ? realloc(g->buf, g->total) : NULL;
	if (!whole)
		whole = g->buf;
	*outlen = g->total;
	g->buf = NULL;
	frag_release(d, g);
	d->st.frag_reassembled++;
	return whole;
}

void dec_frag_expire(dec_t *d, obs_usec_t t)
{
	for (size_t i = 0; i < DEC_MAX_FRAG_DATAGRAMS && d->nfrags > 0; i++) {
		dec_frag_dgram_t *g = &d->frags[i];
		if (!g->used || t - g->first <= DEC_FRAG_TIMEOUT_US)
			continue;
		if (!g->dead)
			d->st.frag_dropped++;
		frag_release(d, g);
	}
}

void dec_frag_clear(dec_t *d)
{
	for (size_t i = 0; i < DEC_MAX_FRAG_DATAGRAMS && d->nfrags > 0; i++) {
		dec_frag_dgram_t *g = &d->frags[i];
		if (!g->used)
			continue;
		if (!g->dead)
			d->st.frag_dropped++;
		frag_release(d, g);
	}
}
