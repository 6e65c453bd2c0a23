/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "iset.h"
#include "obs_err.h"

void iset_free(iset_t *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void iset_clear(iset_t *s)
{
	s->n = 0;
}

static int reserve(iset_t *s, size_t n)
{
	if (n <= s->cap)
		return OBS_EOK;
	size_t cap = s->cap ? s->cap : 4;
	while (cap < n)
		cap *= 2;
	iset_ivl_t *v = realloc(s->v, cap * sizeof(*v));
	if (v == NULL)
		return OBS_ENOMEM;
	s->v = v;
	s->cap = cap;
	return OBS_EOK;
}

int iset_copy(iset_t *dst, const iset_t *src)
{
	dst->n = 0;
	if (reserve(dst, src->n))
		return OBS_ENOMEM;
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	dst->n = src->n;
	return OBS_EOK;
}

/* append to a set built in order; merges with the last interval when they touch */
static int push(iset_t *s, obs_usec_t lo, obs_usec_t hi)
{
	if (lo >= hi)
		return OBS_EOK;
	if (s->n && lo <= s->v[s->n - 1].hi) {
		if (hi > s->v[s->n - 1].hi)
			s->v[s->n - 1].hi = hi;
		return OBS_EOK;
	}
	if (reserve(s, s->n + 1)) {
		s->n = 0;
		return OBS_ENOMEM;
	}
	s->v[s->n].lo = lo;
	s->v[s->n++].hi = hi;
	return OBS_EOK;
}

int iset_add(iset_t *s, obs_usec_t lo, obs_usec_t hi)
{
	if (lo >= hi)
		return OBS_EOK;
	size_t i = 0;
	while (i < s->n && s->v[i].hi < lo)
		i++; /* first interval that ends at or after lo */
	size_t j = i;
	while (j < s->n && s->v[j].lo <= hi) {
		if (s->v[j].lo < lo)
			lo = s->v[j].lo;
		if (s->v[j].hi > hi)
			hi = s->v[j].hi;
		j++;
	}
	if (j == i) { /* insert at i */
		if (reserve(s, s->n + 1))
			return OBS_ENOMEM;
		memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
		s->n++;
	} else if (j > i + 1) { /* intervals i..j-1 collapse into i */
		memmove(&s->v[i + 1], &s->v[j], (s->n - j) * sizeof(*s->v));
		s->n -= j - i - 1;
	}
	s->v[i].lo = lo;
	s->v[i].hi = hi;
	return OBS_EOK;
}

int iset_and(const iset_t *a, const iset_t *b, iset_t *out)
{
	out->n = 0;
	size_t i = 0, j = 0;
	while (i < a->n && j < b->n) {
		obs_usec_t lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		obs_usec_t hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;
		if (push(out, lo, hi))
			return OBS_ENOMEM;
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	return OBS_EOK;
}

int iset_or(const iset_t *a, const iset_t *b, iset_t *out)
{
	out->n = 0;
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		const iset_ivl_t *x;
		if (j >= b->n || (i < a->n && a->v[i].lo <= b->v[j].lo))
			x = &a->v[i++];
		else
			x = &b->v[j++];
		if (push(out, x->lo, x->hi))
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

int iset_minus(const iset_t *a, const iset_t *b, iset_t *out)
{
	out->n = 0;
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		obs_usec_t lo = a->v[i].lo, hi = a->v[i].hi;
		while (j < b->n && b->v[j].hi <= lo)
			j++;
		size_t k = j;
		while (lo < hi && k < b->n && b->v[k].lo < hi) {
			if (push(out, lo, b->v[k].lo))
				return OBS_ENOMEM;
			if (b->v[k].hi > lo)
				lo = b->v[k].hi;
			k++;
		}
		if (push(out, lo, hi))
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

static obs_usec_t sat_add(obs_usec_t t, obs_usec_t d)
{
	if (t == ISET_INF || t == ISET_NEG_INF)
		return t;
	if (d > 0 && t > ISET_INF - d)
		return ISET_INF;
	return t + d;
}

int iset_dilate(const iset_t *a, obs_usec_t d, iset_t *out)
{
	out->n = 0;
	for (size_t i = 0; i < a->n; i++)
		if (push(out, a->v[i].lo, sat_add(a->v[i].hi, d)))
			return OBS_ENOMEM;
	return OBS_EOK;
}

int iset_clip(const iset_t *a, obs_usec_t lo, obs_usec_t hi, iset_t *out)
{
	out->n = 0;
	for (size_t i = 0; i < a->n; i++) {
		obs_usec_t l = a->v[i].lo > lo ? a->v[i].lo : lo;
		obs_usec_t h = a->v[i].hi < hi ? a->v[i].hi : hi;
		if (push(out, l, h))
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

bool iset_empty(const iset_t *s)
{
	return s->n == 0;
}

bool iset_contains(const iset_t *s, obs_usec_t t)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (s->v[m].hi <= t)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < s->n && s->v[lo].lo <= t && t < s->v[lo].hi;
}

obs_usec_t iset_sup(const iset_t *s)
{
	return s->n ? s->v[s->n - 1].hi : ISET_NEG_INF;
}

obs_usec_t iset_inf(const iset_t *s)
{
	return s->n ? s->v[0].lo : ISET_INF;
}

obs_usec_t iset_measure(const iset_t *s, obs_usec_t until)
{
	obs_usec_t m = 0;
	for (size_t i = 0; i < s->n; i++) {
		obs_usec_t lo = s->v[i].lo, hi = s->v[i].hi < until ? s->v[i].hi : until;
		if (lo == ISET_NEG_INF || hi <= lo)
			continue;
		m += hi - lo;
	}
	return m;
}
