/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch_pred.h"
#include "model.h"
#include "obs_err.h"
#include "pglitch.h"
#include "report_json.h"

#define SEC         OBS_USEC_PER_SEC
#define MAXPROF     8     /* measured profiles run through the model; more use the default */
#define EVIDENCE    8     /* fetch rows listed per pair member and resolver (the rest counted) */
#define OWN_TOL     20000 /* a query within 20 ms of the collector's own poll is the poll */
#define OWN_PERCENT 80

/* ---- pure parts ---- */

obs_usec_t fetch_pred_hold(int64_t ttl_s, enum fetch_profile p, int64_t stretch_s, int64_t stale_s)
{
	int64_t s = ttl_s < 0 ? 0 : ttl_s;
	if (p == FETCH_STRETCH && stretch_s > s)
		s = stretch_s;
	else if (p == FETCH_STALE && stale_s > 0)
		s += stale_s;
	return s * SEC;
}

static int cmp_rrset_time(const void *x, const void *y)
{
	const fetch_event_t *a = x, *b = y;
	int r = strcasecmp(a->owner, b->owner);
	if (r)
		return r;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->obs_id < b->obs_id ? -1 : a->obs_id > b->obs_id;
}

static bool same_rrset(const fetch_event_t *a, const fetch_event_t *b)
{
	return a->type == b->type && a->kind == b->kind && strcasecmp(a->owner, b->owner) == 0;
}

void fetch_pred_holds(fetch_event_t *ev, size_t n, enum fetch_profile p, int64_t stretch_s,
		      int64_t stale_s)
{
	if (n > 1)
		qsort(ev, n, sizeof(*ev), cmp_rrset_time);
	for (size_t i = 0; i < n; i++) {
		fetch_event_t *e = &ev[i];
		e->next = i + 1 < n && same_rrset(e, &ev[i + 1]) ? ev[i + 1].t : INT64_MAX;
		e->until = e->t + fetch_pred_hold(e->ttl_s, p, stretch_s, stale_s);
		if (e->next < e->until)
			e->until = e->next; /* the refetch replaced it in the cache */
	}
}

int fetch_pred_coheld(const fetch_event_t *const *a, size_t na, const fetch_event_t *const *b,
		      size_t nb, const iset_t *w, iset_t *out, bool *used_a, bool *used_b, bool *m1)
{
	iset_t one = ISET_INIT, hit = ISET_INIT, acc = ISET_INIT, tmp = ISET_INIT;
	int ret = OBS_EOK;
	iset_clear(out);
	if (m1)
		*m1 = false;
	for (size_t i = 0; ret == OBS_EOK && i < na; i++) {
		for (size_t j = 0; ret == OBS_EOK && j < nb; j++) {
			obs_usec_t lo = a[i]->t > b[j]->t ? a[i]->t : b[j]->t;
			obs_usec_t hi = a[i]->until < b[j]->until ? a[i]->until : b[j]->until;
			if (lo >= hi)
				continue;
			iset_clear(&one);
			if ((ret = iset_add(&one, lo, hi)) || (ret = iset_and(&one, w, &hit)))
				break;
			if (iset_empty(&hit))
				continue;
			if (used_a)
				used_a[i] = true;
			if (used_b)
				used_b[j] = true;
			if (m1 && b[j]->t >= a[i]->t)
				*m1 = true;
			if ((ret = iset_or(&acc, &hit, &tmp)) == OBS_EOK)
				ret = iset_copy(&acc, &tmp);
		}
	}
	if (ret == OBS_EOK)
		ret = iset_copy(out, &acc);
	iset_free(&one);
	iset_free(&hit);
	iset_free(&acc);
	iset_free(&tmp);
	return ret;
}

/* ---- context ---- */

struct pres {
	char name[128];
	char up[FETCH_ADDRS][80];
	size_t upn;
	char svc[FETCH_ADDRS][80];
	size_t svcn;
	enum fetch_profile prof;
	int64_t stretch_s, stale_s;
	int pidx; /* its profile in pctx.pr (0: the default) */
	fetch_event_t *ev;
	size_t evn, evcap;
};

struct pexcl {
	char client[80];
	int64_t n, matched;
};

struct pentry {
	int prof, a, b;
	const char *id;
	unsigned tiers; /* bit per pg_tier */
	int sev;
	bool uncertain, dead;
	iset_t when;
};

struct pprof {
	mdl_prof_t p;
	char name[48];
	enum fetch_profile fp;
	int64_t stretch_s, stale_s;
};

struct pctx {
	an_db_t *db;
	const char *zone;
	obs_usec_t at;
	mdl_t *m;
	struct pres *r;
	size_t rn, rcap;
	struct pexcl *x;
	size_t xn, xcap;
	fetch_drop_t *dr;
	size_t drn, drcap;
	struct pentry *e;
	size_t en, ecap;
	struct pprof pr[MAXPROF + 1];
	size_t prn;
	size_t prof_capped; /* resolvers whose measured profile did not fit (default used) */
	int cur;
	int err;
	obs_usec_t cov_lo, cov_hi; /* passive evidence of the zone; cov_lo > cov_hi: none */
	int64_t skipped_own;       /* fetches of excluded (observatory) clients */
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return OBS_EOK;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, nc * size);
	if (q == NULL)
		return OBS_ENOMEM;
	*p = q;
	*cap = nc;
	return OBS_EOK;
}

#define PUSH(arr, n, cap, ret)                                                                     \
	(((ret) = grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))) == OBS_EOK ? &(arr)[(n)++]   \
										 : NULL)

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

/* ---- resolvers and their profiles (fetch.h) ---- */

static bool is_own(const struct pctx *c, const char *client);

static void on_resolver(void *arg, const fetch_resolver_t *fr)
{
	struct pctx *c = arg;
	if (c->err)
		return;
	bool own = fr->service_n == 0 && fr->upstream_n > 0;
	for (size_t i = 0; own && i < fr->upstream_n; i++)
		own = is_own(c, fr->upstream[i]);
	if (own) { /* only the observatory's own polls: not a resolver */
		c->skipped_own += (int64_t)fr->fetches_n;
		return;
	}
	struct pres *r = PUSH(c->r, c->rn, c->rcap, c->err);
	if (r == NULL)
		return;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", fr->name);
	for (size_t i = 0; i < fr->upstream_n; i++)
		snprintf(r->up[r->upn++], 80, "%s", fr->upstream[i]);
	for (size_t i = 0; i < fr->service_n; i++)
		snprintf(r->svc[r->svcn++], 80, "%s", fr->service[i]);
	r->prof = fr->profile;
	r->stretch_s = fr->stretch_s;
	r->stale_s = fr->stale_s;
	/* its fetches of the apex DNSKEY, DS (referrals' included) and NS; the observatory's own
	 * are not a resolver's */
	for (size_t i = 0; i < fr->fetches_n && c->err == OBS_EOK; i++) {
		if (is_own(c, fr->fetches[i].client)) {
			c->skipped_own++;
			continue;
		}
		fetch_event_t *e = PUSH(r->ev, r->evn, r->evcap, c->err);
		if (e)
			*e = fr->fetches[i];
	}
}

static void on_drop(void *arg, const fetch_drop_t *d)
{
	struct pctx *c = arg;
	if (c->err)
		return;
	fetch_drop_t *x = PUSH(c->dr, c->drn, c->drcap, c->err);
	if (x)
		*x = *d;
}

/* the measured profile of r as a model profile (index into c->pr; 0: the default) */
static int profile_index(struct pctx *c, const struct pres *r)
{
	bool stretch = r->prof == FETCH_STRETCH && r->stretch_s > 0;
	bool stale = r->prof == FETCH_STALE && r->stale_s > 0;
	if (!stretch && !stale)
		return 0;
	for (size_t i = 1; i < c->prn; i++)
		if (c->pr[i].fp == r->prof && c->pr[i].stretch_s == (stretch ? r->stretch_s : 0) &&
		    c->pr[i].stale_s == (stale ? r->stale_s : 0))
			return (int)i;
	if (c->prn > MAXPROF) {
		c->prof_capped++;
		return 0;
	}
	struct pprof *p = &c->pr[c->prn];
	memset(p, 0, sizeof(*p));
	p->fp = r->prof;
	p->stretch_s = stretch ? r->stretch_s : 0;
	p->stale_s = stale ? r->stale_s : 0;
	snprintf(p->name, sizeof(p->name), "%s(%lld)", stretch ? "STRETCH" : "STALE",
		 (long long)(stretch ? r->stretch_s : r->stale_s));
	p->p = (mdl_prof_t){p->name, MN_ONESTEP, false, p->stretch_s * SEC, p->stale_s * SEC};
	return (int)c->prn++;
}

/* ---- the observatory's own queries ---- */

#define OFF "c.clock_offset_us"

static const char *const SQL_OWN =
    "SELECT pp.client, count(*), sum(EXISTS (SELECT 1 FROM target tg JOIN collector c2 ON c2.id "
    "= tg.collector_id JOIN series s ON s.target_id = tg.id JOIN observation o ON o.series_id = "
    "s.id WHERE tg.zone = ?1 AND tg.kind IN ('parent', 'provider') AND tg.address = pp.server "
    "AND s.qtype = pp.qtype AND o.t BETWEEN pp.t_query - " OFF " + c2.clock_offset_us - ?3 AND "
    "pp.t_query - " OFF " + c2.clock_offset_us + ?3)) FROM passive_pair pp JOIN collector c ON "
    "c.id = pp.collector_id WHERE pp.zone = ?1 AND (pp.qflags & 1) = 0 AND pp.t_query - " OFF
    " <= ?2 GROUP BY pp.client ORDER BY pp.client";

static int load_own(struct pctx *c)
{
	sqlite3_stmt *st = NULL;
	int ret = OBS_EOK, rc;
	if (sqlite3_prepare_v2(an_db_sql(c->db), SQL_OWN, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, c->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->at);
	sqlite3_bind_int64(st, 3, OWN_TOL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 1), k = sqlite3_column_int64(st, 2);
		if (n < 3 || k * 100 < n * OWN_PERCENT)
			continue;
		struct pexcl *x = PUSH(c->x, c->xn, c->xcap, ret);
		if (x == NULL)
			break;
		snprintf(x->client, sizeof(x->client), "%s", col_text(st, 0));
		x->n = n;
		x->matched = k;
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	return ret;
}

static bool is_own(const struct pctx *c, const char *client)
{
	for (size_t i = 0; i < c->xn; i++)
		if (strcmp(c->x[i].client, client) == 0)
			return true;
	return false;
}

/* ---- fetches of the zone's other RRsets (fetch_run has the apex DNSKEY, DS and NS) ---- */

static const char *const SQL_FETCH =
    "SELECT pp.observation_id, pp.client, pp.server, coalesce(pp.t_response, pp.t_query) - " OFF
    ", v.owner, v.type, v.kind, pp.version_id, pp.ttl_s FROM passive_pair pp JOIN version v ON "
    "v.id = pp.version_id JOIN collector c ON c.id = pp.collector_id WHERE pp.zone = ?1 AND "
    "(pp.qflags & 1) = 0 AND pp.status IN (0, 7) AND pp.ttl_s IS NOT NULL AND NOT (v.kind IN "
    "(1, 2) AND v.type IN (2, 43, 48) AND lower(v.owner) = lower(?1)) AND pp.t_query - " OFF
    " <= ?2 ORDER BY 4, pp.observation_id";

static const char *const SQL_COVER =
    "SELECT min(pp.t_query - " OFF "), max(coalesce(pp.t_response, pp.t_query) - " OFF
    ") FROM passive_pair pp JOIN collector c ON c.id = pp.collector_id WHERE pp.zone = ?1 AND "
    "pp.t_query - " OFF " <= ?2";

static int resolver_of(struct pctx *c, const char *client, struct pres **out)
{
	for (size_t i = 0; i < c->rn; i++)
		for (size_t k = 0; k < c->r[i].upn; k++)
			if (strcmp(c->r[i].up[k], client) == 0) {
				*out = &c->r[i];
				return OBS_EOK;
			}
	for (size_t i = 0; i < c->rn; i++)
		for (size_t k = 0; k < c->r[i].svcn; k++)
			if (strcmp(c->r[i].svc[k], client) == 0) {
				*out = &c->r[i];
				return OBS_EOK;
			}
	int ret;
	struct pres *r = PUSH(c->r, c->rn, c->rcap, ret);
	if (r == NULL)
		return ret;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", client);
	snprintf(r->up[r->upn++], 80, "%s", client);
	r->prof = FETCH_UNKNOWN;
	*out = r;
	return OBS_EOK;
}

static int load_fetches(struct pctx *c)
{
	sqlite3_stmt *st = NULL;
	int ret = OBS_EOK, rc;
	if (sqlite3_prepare_v2(an_db_sql(c->db), SQL_COVER, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, c->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->at);
	c->cov_lo = 1;
	c->cov_hi = 0;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		c->cov_lo = sqlite3_column_int64(st, 0);
		c->cov_hi = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(an_db_sql(c->db), SQL_FETCH, -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, c->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->at);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *client = col_text(st, 1);
		if (is_own(c, client)) {
			c->skipped_own++;
			continue;
		}
		struct pres *r = NULL;
		if ((ret = resolver_of(c, client, &r)))
			break;
		fetch_event_t *e = PUSH(r->ev, r->evn, r->evcap, ret);
		if (e == NULL)
			break;
		memset(e, 0, sizeof(*e));
		e->obs_id = sqlite3_column_int64(st, 0);
		snprintf(e->client, sizeof(e->client), "%s", client);
		snprintf(e->server, sizeof(e->server), "%s", col_text(st, 2));
		e->t = sqlite3_column_int64(st, 3);
		snprintf(e->owner, sizeof(e->owner), "%s", col_text(st, 4));
		e->type = (uint16_t)sqlite3_column_int(st, 5);
		e->kind = sqlite3_column_int(st, 6);
		e->version_id = sqlite3_column_int64(st, 7);
		e->ttl_s = sqlite3_column_int64(st, 8);
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	return ret;
}

/* ---- predicted pair windows per profile ---- */

static void on_glitch(void *arg, const pg_glitch_t *g)
{
	struct pctx *c = arg;
	if (c->err || g->server >= 0 || g->a < 0 || g->b < 0)
		return; /* lame servers are not about fetched versions */
	struct pentry *e = NULL;
	for (size_t i = 0; i < c->en && e == NULL; i++)
		if (c->e[i].prof == c->cur && c->e[i].a == g->a && c->e[i].b == g->b)
			e = &c->e[i];
	if (e == NULL) {
		if ((e = PUSH(c->e, c->en, c->ecap, c->err)) == NULL)
			return;
		memset(e, 0, sizeof(*e));
		e->prof = c->cur;
		e->a = g->a;
		e->b = g->b;
		e->id = g->id;
		e->sev = g->sev;
		e->uncertain = true;
	}
	e->tiers |= 1u << g->tier;
	if ((int)g->sev > e->sev)
		e->sev = g->sev;
	e->uncertain &= g->uncertain;
	iset_t u = ISET_INIT;
	if (iset_or(&e->when, g->when, &u) != OBS_EOK || iset_copy(&e->when, &u) != OBS_EOK)
		c->err = OBS_ENOMEM;
	iset_free(&u);
}

static int predict(struct pctx *c)
{
	int ret = OBS_EOK;
	for (size_t p = 0; ret == OBS_EOK && p < c->prn; p++) {
		c->cur = (int)p;
		if ((ret = mdl_avail(c->m, &c->pr[p].p)) == OBS_EOK)
			ret = pg_run(c->m, &c->pr[p].p, c->m->first_obs, on_glitch, c);
		if (ret == OBS_EOK)
			ret = c->err;
	}
	/* a measured profile's entry keeps only what it adds to the default window */
	iset_t tmp = ISET_INIT;
	for (size_t i = 0; ret == OBS_EOK && i < c->en; i++) {
		struct pentry *e = &c->e[i];
		if (e->prof == 0)
			continue;
		for (size_t k = 0; k < c->en; k++) {
			const struct pentry *d = &c->e[k];
			if (d->prof != 0 || d->a != e->a || d->b != e->b)
				continue;
			if ((ret = iset_minus(&e->when, &d->when, &tmp)) == OBS_EOK)
				ret = iset_copy(&e->when, &tmp);
			break;
		}
		e->dead = iset_empty(&e->when);
	}
	iset_free(&tmp);
	return ret;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct pentry *a = x, *b = y;
	if (a->prof != b->prof)
		return a->prof < b->prof ? -1 : 1;
	obs_usec_t la = iset_inf(&a->when), lb = iset_inf(&b->when);
	if (la != lb)
		return la < lb ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* ---- documents ---- */

static const char *type_name(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case 2:
		return "NS";
	case 6:
		return "SOA";
	case 43:
		return "DS";
	case 48:
		return "DNSKEY";
	default:
		snprintf(buf, len, "TYPE%u", t);
		return buf;
	}
}

static json_t *jwindows(const iset_t *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n; i++)
		json_array_append_new(a, json_pack("{s:o, s:o}", "lo", rj_time(s->v[i].lo), "hi",
						   rj_time(s->v[i].hi)));
	return a;
}

static json_t *jver(const mdl_t *m, int i)
{
	const mdl_ver_t *v = &m->v[i];
	char l[160], tb[16];
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "version", (json_int_t)v->id, "label",
			 mdl_ver_label(m, v, l, sizeof(l)), "origin",
			 v->origin == MDL_PARENT ? "parent" : m->prov[v->origin], "owner", v->owner,
			 "type", type_name(v->type, tb, sizeof(tb)));
}

static json_t *jfetch(const fetch_event_t *e)
{
	return json_pack("{s:I, s:o, s:o, s:s, s:s, s:I, s:I, s:b}", "observation",
			 (json_int_t)e->obs_id, "t", rj_time(e->t), "held_until", rj_time(e->until),
			 "client", e->client, "server", e->server, "version",
			 (json_int_t)e->version_id, "ttl", (json_int_t)e->ttl_s, "in_referral",
			 e->in_referral);
}

static json_t *jevidence(const fetch_event_t *const *f, const bool *used, size_t n)
{
	json_t *rows = json_array();
	size_t k = 0, more = 0;
	for (size_t i = 0; rows && i < n; i++) {
		if (!used[i])
			continue;
		if (k++ < EVIDENCE)
			json_array_append_new(rows, jfetch(f[i]));
		else
			more++;
	}
	return json_pack("{s:o, s:I}", "fetches", rows ? rows : json_null(), "more",
			 (json_int_t)more);
}

static json_t *jprofile(const struct pres *r)
{
	return json_pack("{s:s, s:o, s:o}", "profile", fetch_profile_names[r->prof], "stretch",
			 r->prof == FETCH_STRETCH ? json_integer(r->stretch_s) : json_null(),
			 "stale", r->stale_s ? json_integer(r->stale_s) : json_null());
}

static bool drop_touches(const struct pctx *c, obs_usec_t lo, obs_usec_t hi)
{
	for (size_t i = 0; i < c->drn; i++)
		if (c->dr[i].lo < hi && c->dr[i].hi > lo)
			return true;
	return false;
}

/* One entry: which resolvers held the pair inside its window. */
static int judge(struct pctx *c, const struct pentry *e, json_t *arr, json_t *named_all,
		 int64_t counts[4])
{
	static const char *const outcome[4] = {"held", "not_held", "inconclusive", "not_captured"};
	const mdl_t *m = c->m;
	const mdl_ver_t *va = &m->v[e->a], *vb = &m->v[e->b];
	iset_t w = ISET_INIT, held = ISET_INIT;
	const fetch_event_t **fa = NULL, **fb = NULL;
	bool *ua = NULL, *ub = NULL;
	json_t *held_by = json_array(), *partial = json_array();
	int ret = iset_clip(&e->when, ISET_NEG_INF, c->at, &w);
	obs_usec_t ext = 0; /* the largest holding beyond the TTL among the resolvers judged */
	for (size_t ri = 0; ret == OBS_EOK && ri < c->rn; ri++) {
		const struct pres *r = &c->r[ri];
		if (e->prof != 0 && r->pidx != e->prof)
			continue;
		obs_usec_t xt = fetch_pred_hold(va->ttl_s > vb->ttl_s ? va->ttl_s : vb->ttl_s,
						r->prof, r->stretch_s, r->stale_s) -
				(va->ttl_s > vb->ttl_s ? va->ttl_s : vb->ttl_s) * SEC;
		if (xt > ext)
			ext = xt;
		free(fa);
		free(fb);
		free(ua);
		free(ub);
		fa = calloc(r->evn + 1, sizeof(*fa));
		fb = calloc(r->evn + 1, sizeof(*fb));
		ua = calloc(r->evn + 1, sizeof(*ua));
		ub = calloc(r->evn + 1, sizeof(*ub));
		if (!fa || !fb || !ua || !ub) {
			ret = OBS_ENOMEM;
			break;
		}
		size_t na = 0, nb = 0;
		for (size_t i = 0; i < r->evn; i++) {
			if (r->ev[i].version_id == va->id)
				fa[na++] = &r->ev[i];
			if (r->ev[i].version_id == vb->id)
				fb[nb++] = &r->ev[i];
		}
		if (na == 0 && nb == 0)
			continue;
		if (na == 0 || nb == 0) {
			json_array_append_new(
			    partial, json_pack("{s:s, s:I, s:I}", "resolver", r->name, "fetched_a",
					       (json_int_t)na, "fetched_b", (json_int_t)nb));
			continue;
		}
		bool m1 = false;
		if ((ret = fetch_pred_coheld(fa, na, fb, nb, &w, &held, ua, ub, &m1)))
			break;
		if (iset_empty(&held)) {
			json_array_append_new(
			    partial, json_pack("{s:s, s:I, s:I}", "resolver", r->name, "fetched_a",
					       (json_int_t)na, "fetched_b", (json_int_t)nb));
			continue;
		}
		json_t *x = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "resolver", r->name,
				      "profile", jprofile(r), "held", jwindows(&held), "order",
				      m1 ? "b_fetched_while_a_held" : "a_fetched_while_b_held", "a",
				      jevidence(fa, ua, na), "b", jevidence(fb, ub, nb));
		if (x == NULL || json_array_append_new(held_by, x)) {
			ret = OBS_ENOMEM;
			break;
		}
		bool dup = false;
		size_t k;
		json_t *s;
		json_array_foreach(named_all, k, s)
		{
			dup |= strcmp(json_string_value(s), r->name) == 0;
		}
		if (!dup)
			json_array_append_new(named_all, json_string(r->name));
	}
	int oc = 0;
	if (ret == OBS_EOK) {
		obs_usec_t hold = (va->ttl_s > vb->ttl_s ? va->ttl_s : vb->ttl_s) * SEC + ext;
		obs_usec_t lo = iset_inf(&w), hi = iset_sup(&w);
		iset_t cov = ISET_INIT;
		if (json_array_size(held_by))
			oc = 0;
		else if (c->cov_lo > c->cov_hi || iset_empty(&w) ||
			 (ret = iset_clip(&w, c->cov_lo, c->cov_hi + 1, &cov)) != OBS_EOK ||
			 iset_empty(&cov))
			oc = 3;
		else if (drop_touches(c, lo == ISET_NEG_INF ? lo : lo - hold, hi))
			oc = 2;
		else
			oc = 1;
		iset_free(&cov);
	}
	if (ret == OBS_EOK) {
		json_t *tiers = json_array();
		const char *first = NULL;
		for (int t = 0; t < 3; t++)
			if (e->tiers & (1u << t)) {
				json_array_append_new(tiers, json_string(pg_tier_names[t]));
				if (first == NULL)
					first = pg_tier_names[t];
			}
		json_t *x = json_pack(
		    "{s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:s, s:o, s:o}", "id", e->id,
		    "profile", c->pr[e->prof].p.name, "tier", first ? first : "M2", "tiers", tiers,
		    "severity", det_sev_names[e->sev], "uncertain", e->uncertain, "a",
		    jver(m, e->a), "b", jver(m, e->b), "windows", jwindows(&e->when), "outcome",
		    outcome[oc], "held_by", held_by, "fetched_one", partial);
		held_by = partial = NULL;
		if (x == NULL || json_array_append_new(arr, x))
			ret = OBS_ENOMEM;
		counts[oc]++;
	}
	json_decref(held_by);
	json_decref(partial);
	free(fa);
	free(fb);
	free(ua);
	free(ub);
	iset_free(&w);
	iset_free(&held);
	return ret;
}

static json_t *jresolvers(const struct pctx *c)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < c->rn; i++) {
		const struct pres *r = &c->r[i];
		json_t *up = json_array();
		for (size_t k = 0; up && k < r->upn; k++)
			json_array_append_new(up, json_string(r->up[k]));
		json_t *p = jprofile(r);
		json_object_set_new(p, "resolver", json_string(r->name));
		json_object_set_new(p, "upstream", up);
		json_object_set_new(p, "fetches", json_integer((json_int_t)r->evn));
		json_object_set_new(p, "model_profile", json_string(c->pr[r->pidx].p.name));
		json_array_append_new(a, p);
	}
	return a;
}

static json_t *jdoc(struct pctx *c, json_t *pred, const int64_t counts[4], json_t *named)
{
	json_t *excl = json_array(), *drops = json_array(), *profs = json_array();
	for (size_t i = 0; i < c->xn; i++)
		json_array_append_new(
		    excl, json_pack("{s:s, s:I, s:I, s:s}", "client", c->x[i].client, "queries",
				    (json_int_t)c->x[i].n, "matching_polls",
				    (json_int_t)c->x[i].matched, "reason", "observatory"));
	for (size_t i = 0; i < c->drn; i++)
		json_array_append_new(drops,
				      json_pack("{s:s, s:o, s:o, s:I, s:I, s:I}", "collector",
						c->dr[i].collector, "lo", rj_time(c->dr[i].lo),
						"hi", rj_time(c->dr[i].hi), "received",
						(json_int_t)c->dr[i].received, "dropped",
						(json_int_t)c->dr[i].dropped, "ifdropped",
						(json_int_t)c->dr[i].ifdropped));
	for (size_t i = 0; i < c->prn; i++)
		json_array_append_new(profs, json_pack("{s:s, s:I, s:I}", "name", c->pr[i].p.name,
						       "stretch", (json_int_t)c->pr[i].stretch_s,
						       "stale", (json_int_t)c->pr[i].stale_s));
	json_t *cov = c->cov_lo > c->cov_hi ? json_null()
					    : json_pack("{s:o, s:o}", "lo", rj_time(c->cov_lo),
							"hi", rj_time(c->cov_hi));
	return json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:o, s:{s:I, s:I, s:I, s:I, "
	    "s:o}}",
	    "zone", c->zone, "at", rj_time(c->at), "coverage", cov ? cov : json_null(), "resolvers",
	    jresolvers(c), "excluded", excl, "excluded_fetches", (json_int_t)c->skipped_own,
	    "drops", drops, "profiles", profs, "profiles_capped", (json_int_t)c->prof_capped,
	    "predicted", pred, "summary", "held", (json_int_t)counts[0], "not_held",
	    (json_int_t)counts[1], "inconclusive", (json_int_t)counts[2], "not_captured",
	    (json_int_t)counts[3], "named", named);
}

int fetch_pred_run(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at,
		   const fetch_opts_t *opts, json_t **out, char *err, size_t errlen)
{
	struct pctx c = {.db = db, .zone = zone, .at = at};
	json_t *pred = NULL, *named = NULL;
	int64_t counts[4] = {0, 0, 0, 0};
	*out = NULL;
	c.pr[0].p = mdl_prof_default;
	c.prn = 1;
	int ret = mdl_load(db, sv, zone, at, &c.m, err, errlen);
	if (ret == OBS_ENOENT && err && errlen)
		snprintf(
		    err, errlen,
		    "zone %s: no authoritative polls, so nothing is predicted (fetches without "
		    "--predicted lists what was captured)",
		    zone);
	if (ret == OBS_EOK)
		ret = load_own(&c);
	if (ret == OBS_EOK)
		ret = fetch_run(db, zone, at, opts, on_resolver, on_drop, &c);
	if (ret == OBS_EOK)
		ret = c.err;
	if (ret == OBS_EOK)
		ret = load_fetches(&c);
	if (ret)
		goto done;
	for (size_t i = 0; i < c.rn; i++) {
		struct pres *r = &c.r[i];
		r->pidx = profile_index(&c, r);
		fetch_pred_holds(r->ev, r->evn, r->prof, r->stretch_s, r->stale_s);
	}
	if ((ret = predict(&c)))
		goto done;
	if (c.en > 1)
		qsort(c.e, c.en, sizeof(*c.e), cmp_entry);
	pred = json_array();
	named = json_array();
	if (pred == NULL || named == NULL) {
		ret = OBS_ENOMEM;
		goto done;
	}
	for (size_t i = 0; ret == OBS_EOK && i < c.en; i++)
		if (!c.e[i].dead)
			ret = judge(&c, &c.e[i], pred, named, counts);
	if (ret == OBS_EOK) {
		*out = jdoc(&c, pred, counts, named);
		pred = named = NULL;
		if (*out == NULL)
			ret = OBS_ENOMEM;
	}
done:
	if (ret == OBS_ESQL && err && errlen && err[0] == '\0')
		snprintf(err, errlen, "%s", sqlite3_errmsg(an_db_sql(db)));
	json_decref(pred);
	json_decref(named);
	for (size_t i = 0; i < c.rn; i++)
		free(c.r[i].ev);
	for (size_t i = 0; i < c.en; i++)
		iset_free(&c.e[i].when);
	free(c.r);
	free(c.x);
	free(c.dr);
	free(c.e);
	mdl_free(c.m);
	return ret;
}
