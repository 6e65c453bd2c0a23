/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "nsr.h"
#include "obs_err.h"
#include "vers.h"

#define NSR_NAMES 32 /* NS names looked at per version; more are ignored (never seen so far) */

struct iv {
	obs_usec_t lo, hi; /* [lo, hi) */
};

struct ivset {
	struct iv *v;
	size_t n, cap;
};

struct nsr_prov {
	char name[64];
	struct ivset base; /* NSR0 */
	struct ivset all;  /* NSR (ONESTEP) */
};

struct host {
	char host[256];
	size_t prov;
};

/* an apex NS run at provider r naming provider p, waiting for NSR0(r) */
struct apex {
	size_t r, p;
	struct iv iv;
	obs_usec_t pad;
};

struct nsr {
	struct nsr_prov *p;
	size_t pn;
	obs_usec_t eps;
	bool parent_seen;
};

/* ---- interval sets ---- */

static obs_usec_t sat_add(obs_usec_t a, obs_usec_t b)
{
	if (a == INT64_MAX || b >= INT64_MAX - a)
		return INT64_MAX;
	return a + b;
}

static int iv_add(struct ivset *s, obs_usec_t lo, obs_usec_t hi)
{
	if (lo >= hi)
		return OBS_EOK;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct iv *n = realloc(s->v, nc * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		s->v = n;
		s->cap = nc;
	}
	s->v[s->n].lo = lo;
	s->v[s->n++].hi = hi;
	return OBS_EOK;
}

static int iv_cmp(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* sort and coalesce (touching intervals merge) */
static void iv_norm(struct ivset *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), iv_cmp);
	size_t k = 0;
	for (size_t i = 1; i < s->n; i++) {
		if (s->v[i].lo <= s->v[k].hi) {
			if (s->v[i].hi > s->v[k].hi)
				s->v[k].hi = s->v[i].hi;
		} else {
			s->v[++k] = s->v[i];
		}
	}
	s->n = k + 1;
}

/* ---- building ---- */

static long prov_find(const nsr_t *n, const char *name)
{
	for (size_t i = 0; i < n->pn; i++) {
		if (strcmp(n->p[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

static int prov_add(nsr_t *n, const char *name, size_t *idx)
{
	long i = prov_find(n, name);
	if (i >= 0) {
		*idx = (size_t)i;
		return OBS_EOK;
	}
	struct nsr_prov *np = realloc(n->p, (n->pn + 1) * sizeof(*np));
	if (np == NULL)
		return OBS_ENOMEM;
	n->p = np;
	memset(&n->p[n->pn], 0, sizeof(n->p[0]));
	snprintf(n->p[n->pn].name, sizeof(n->p[0].name), "%s", name);
	*idx = n->pn++;
	return OBS_EOK;
}

/* providers named by an NS RDATA blob: a bit per provider index (at most 64 providers) */
static int named(nsr_t *n, const struct host *hosts, size_t hn, const uint8_t *blob, size_t blen,
		 uint64_t *mask)
{
	size_t pos = 0, len, k = 0;
	const uint8_t *it;
	*mask = 0;
	while (k++ < NSR_NAMES && vers_next(blob, blen, &pos, &it, &len, NULL)) {
		ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, it);
		if (r == NULL)
			return OBS_ENOMEM;
		char name[256];
		ans_dname_text(r, name, sizeof(name));
		ldns_rdf_deep_free(r);
		size_t p = SIZE_MAX;
		for (size_t h = 0; h < hn && p == SIZE_MAX; h++) {
			if (strcasecmp(hosts[h].host, name) == 0)
				p = hosts[h].prov;
		}
		if (p == SIZE_MAX) {
			int ret = prov_add(n, "?", &p);
			if (ret)
				return ret;
		}
		if (p < 64)
			*mask |= UINT64_C(1) << p;
	}
	return OBS_EOK;
}

static int estimate_eps(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t *eps)
{
	sqlite3_stmt *st = NULL;
	*eps = 0;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT sum(r.last_seen - r.first_seen), sum(r.count - 1) FROM run_ref r "
		"JOIN series s ON s.id = r.series_id JOIN target t ON t.id = "
		"s.target_id WHERE t.zone = ? AND s.role IN ('referral', 'ns') AND "
		"r.count > 1 AND r.last_seen <= ?",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 1) > 0)
		*eps = sqlite3_column_int64(st, 0) / sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return OBS_EOK;
}

int nsr_build(an_db_t *db, const char *zone, obs_usec_t at, obs_usec_t eps, nsr_t **out)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *st = NULL;
	struct host *hosts = NULL;
	struct apex *ax = NULL;
	size_t hn = 0, an = 0, acap = 0;
	int ret = OBS_ENOMEM;
	nsr_t *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (n == NULL)
		goto fail;
	ret = OBS_ESQL;
	if (eps == NSR_EPS_AUTO && (ret = estimate_eps(db, zone, at, &eps)))
		goto fail;
	n->eps = eps < 0 ? 0 : eps;
	/* providers and their host names */
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(sql,
			       "SELECT DISTINCT origin, host FROM target WHERE zone = ? AND kind = "
			       "'provider' ORDER BY origin, host",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t p;
		struct host *nh = realloc(hosts, (hn + 1) * sizeof(*nh));
		if (nh == NULL) {
			ret = OBS_ENOMEM;
			goto fail;
		}
		hosts = nh;
		if ((ret = prov_add(n, (const char *)sqlite3_column_text(st, 0), &p)))
			goto fail;
		snprintf(hosts[hn].host, sizeof(hosts[0].host), "%s", sqlite3_column_text(st, 1));
		hosts[hn++].prov = p;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* every run of a referral NS version at the parent and of an apex NS version at a
	 * provider; TTLmax: the version's, or the run's when the version has none */
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(
		sql,
		"SELECT t.kind = 'parent', t.origin, coalesce(r.prev_poll, -9223372036854775807 - "
		"1), coalesce(r.next_poll, 9223372036854775807), max(coalesce(v.ttl_max_s, -1), "
		"coalesce(r.ttl_max_s, -1)), v.rdata, coalesce(r.next_shifted, "
		"9223372036854775807) FROM run_ref r JOIN series s ON s.id = "
		"r.series_id JOIN target t ON t.id = s.target_id JOIN version v ON v.id = "
		"r.version_id WHERE t.zone = ? AND ((t.kind = 'parent' AND s.role = 'referral') OR "
		"(t.kind = 'provider' AND s.role = 'ns')) AND (s.flags & 1) = 0 AND v.kind IN (1, "
		"2) AND r.first_seen <= ? ORDER BY r.id",
		-1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool parent = sqlite3_column_int(st, 0) != 0;
		struct iv iv = {sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
		/* still served as of `at` by the collector's own clock shifted (next_shifted); a
		 * run it saw end by `at` is not opened by the widening, only cut at `at` */
		if (sqlite3_column_int64(st, 6) > at)
			iv.hi = INT64_MAX;
		else if (iv.hi > at)
			iv.hi = at;
		int64_t ttl = sqlite3_column_int64(st, 4);
		obs_usec_t pad = sat_add(ttl > 0 ? ttl * OBS_USEC_PER_SEC : 0, n->eps);
		uint64_t mask;
		if ((ret = named(n, hosts, hn, sqlite3_column_blob(st, 5),
				 (size_t)sqlite3_column_bytes(st, 5), &mask)))
			goto fail;
		size_t r = 0;
		if (parent) {
			n->parent_seen = true;
		} else if ((ret = prov_add(n, (const char *)sqlite3_column_text(st, 1), &r))) {
			goto fail;
		}
		for (size_t p = 0; p < n->pn && p < 64; p++) {
			if (!(mask & (UINT64_C(1) << p)))
				continue;
			if (parent) {
				if ((ret = iv_add(&n->p[p].base, iv.lo, sat_add(iv.hi, pad))))
					goto fail;
				continue;
			}
			if (an == acap) {
				acap = acap ? acap * 2 : 16;
				struct apex *na = realloc(ax, acap * sizeof(*na));
				if (na == NULL) {
					ret = OBS_ENOMEM;
					goto fail;
				}
				ax = na;
			}
			ax[an++] = (struct apex){.r = r, .p = p, .iv = iv, .pad = pad};
		}
	}
	ret = OBS_ESQL;
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	/* NSR0, then ONESTEP: apex NS served at r while r is reachable through the parent */
	for (size_t p = 0; p < n->pn; p++) {
		iv_norm(&n->p[p].base);
		for (size_t i = 0; i < n->p[p].base.n; i++) {
			if ((ret =
				 iv_add(&n->p[p].all, n->p[p].base.v[i].lo, n->p[p].base.v[i].hi)))
				goto fail;
		}
	}
	for (size_t i = 0; i < an; i++) {
		const struct ivset *b = &n->p[ax[i].r].base;
		for (size_t k = 0; k < b->n; k++) {
			obs_usec_t lo = b->v[k].lo > ax[i].iv.lo ? b->v[k].lo : ax[i].iv.lo;
			obs_usec_t hi = b->v[k].hi < ax[i].iv.hi ? b->v[k].hi : ax[i].iv.hi;
			if (lo < hi &&
			    (ret = iv_add(&n->p[ax[i].p].all, lo, sat_add(hi, ax[i].pad))))
				goto fail;
		}
	}
	for (size_t p = 0; p < n->pn; p++)
		iv_norm(&n->p[p].all);
	free(hosts);
	free(ax);
	*out = n;
	return OBS_EOK;
fail:
	sqlite3_finalize(st);
	free(hosts);
	free(ax);
	nsr_free(n);
	return ret;
}

void nsr_free(nsr_t *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->pn; i++) {
		free(n->p[i].base.v);
		free(n->p[i].all.v);
	}
	free(n->p);
	free(n);
}

/* ---- queries ---- */

bool nsr_span(const nsr_t *n, const char *provider, obs_usec_t t, obs_usec_t *lo, obs_usec_t *hi)
{
	obs_usec_t l = INT64_MIN, h = INT64_MAX;
	bool ok = true;
	long p = n->parent_seen ? prov_find(n, provider) : -1;
	if (n->parent_seen && p < 0) {
		ok = false;
	} else if (p >= 0) {
		/* the first interval that ends after t */
		const struct ivset *s = &n->p[p].all;
		size_t a = 0, b = s->n;
		while (a < b) {
			size_t mid = a + (b - a) / 2;
			if (s->v[mid].hi <= t)
				a = mid + 1;
			else
				b = mid;
		}
		ok = a < s->n && s->v[a].lo <= t;
		if (ok) {
			l = s->v[a].lo;
			h = s->v[a].hi;
		} else {
			l = a > 0 ? s->v[a - 1].hi : INT64_MIN;
			h = a < s->n ? s->v[a].lo : INT64_MAX;
		}
	}
	if (lo)
		*lo = l;
	if (hi)
		*hi = h;
	return ok;
}

bool nsr_reachable(const nsr_t *n, const char *provider, obs_usec_t t)
{
	return nsr_span(n, provider, t, NULL, NULL);
}

size_t nsr_edges(const nsr_t *n, obs_usec_t *out, size_t max)
{
	size_t k = 0;
	for (size_t p = 0; p < n->pn; p++) {
		for (size_t i = 0; i < n->p[p].all.n; i++) {
			const struct iv *v = &n->p[p].all.v[i];
			if (v->lo != INT64_MIN && k++ < max)
				out[k - 1] = v->lo;
			if (v->hi != INT64_MAX && k++ < max)
				out[k - 1] = v->hi;
		}
	}
	return k;
}

obs_usec_t nsr_eps(const nsr_t *n)
{
	return n->eps;
}

bool nsr_parent_seen(const nsr_t *n)
{
	return n->parent_seen;
}
