/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "model.h"
#include "obs_err.h"
#include "oglitch.h"
#include "pglitch.h"
#include "report_json.h"

#define SEC OBS_USEC_PER_SEC

struct change {
	int v;                /* the version that appeared (model index) */
	obs_usec_t at;        /* its first sighting at the origin after `lo` */
	obs_usec_t safe_from; /* the latest end of a window it opened */
	json_t *ids, *tiers, *with, *rrsets;
};

struct acc {
	mdl_t *m;
	struct change *c;
	size_t n, cap;
	int err;
};

static bool has(json_t *arr, const char *s)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) if (strcmp(json_string_value(x), s) == 0) return true;
	return false;
}

static void add_str(json_t *arr, const char *s)
{
	if (!has(arr, s))
		json_array_append_new(arr, json_string(s));
}

/* the change behind a window: the member that started being served last, at the window's
 * start */
static void on_window(void *arg, const pg_glitch_t *g)
{
	struct acc *a = arg;
	if (g->a < 0 || g->b < 0 || g->uncertain)
		return; /* M2 windows count too: RFC 7583 timing */
	mdl_t *m = a->m;
	for (size_t w = 0; w < g->when->n; w++) {
		obs_usec_t lo = g->when->v[w].lo, hi = g->when->v[w].hi;
		if (lo == ISET_NEG_INF || hi == ISET_INF)
			continue; /* since before the record, or still open: not a finished step */
		/* the member that became available last, at the window's start */
		int pick = -1;
		obs_usec_t best = ISET_NEG_INF;
		for (int k = 0; k < 2; k++) {
			int v = k ? g->b : g->a;
			const iset_t *f = &m->v[v].F;
			for (size_t i = 0; i < f->n; i++)
				if (f->v[i].lo <= lo && lo < f->v[i].hi && f->v[i].lo > best &&
				    f->v[i].lo != ISET_NEG_INF) {
					best = f->v[i].lo;
					pick = v;
				}
		}
		if (pick < 0)
			continue;
		/* fetchable later than served: an NS change made its provider reachable */
		bool served_then = false;
		for (size_t i = 0; i < m->v[pick].served.n; i++)
			served_then |= m->v[pick].served.v[i].lo == best;
		if (!served_then && m->v[pick].origin != MDL_PARENT) {
			int ns = -1;
			obs_usec_t nbest = ISET_NEG_INF;
			for (size_t j = 0; j < m->nv; j++) {
				const mdl_ver_t *n = &m->v[j];
				bool isns = n->cls == MC_NSP ||
					    (n->cls == MC_DATA && strcmp(n->role, "ns") == 0);
				if (!isns || !(n->names >> m->v[pick].origin & 1))
					continue;
				for (size_t i = 0; i < n->served.n; i++)
					if (n->served.v[i].lo <= best &&
					    n->served.v[i].lo > nbest &&
					    n->served.v[i].lo != ISET_NEG_INF) {
						nbest = n->served.v[i].lo;
						ns = (int)j;
					}
			}
			if (ns >= 0) {
				pick = ns;
				best = nbest;
			}
		}
		/* when it was first seen: the seen set's first point at or after the start */
		obs_usec_t first = best;
		for (size_t i = 0; i < m->v[pick].seen.n; i++)
			if (m->v[pick].seen.v[i].lo >= best) {
				first = m->v[pick].seen.v[i].lo;
				break;
			}
		/* one step per origin and poll round: the RRsets it changed together */
		struct change *c = NULL;
		for (size_t i = 0; i < a->n; i++)
			if (m->v[a->c[i].v].origin == m->v[pick].origin &&
			    llabs(a->c[i].at - first) < m->poll / 2)
				c = &a->c[i];
		if (c == NULL) {
			if (a->n == a->cap) {
				size_t cap = a->cap ? a->cap * 2 : 8;
				struct change *nc = realloc(a->c, cap * sizeof(*nc));
				if (nc == NULL) {
					a->err = OBS_ENOMEM;
					return;
				}
				a->c = nc;
				a->cap = cap;
			}
			c = &a->c[a->n++];
			*c = (struct change){pick,         first,        hi,          json_array(),
					     json_array(), json_array(), json_array()};
		}
		if (first < c->at)
			c->at = first;
		char r[300];
		snprintf(r, sizeof(r), "%s %s", m->v[pick].owner, m->v[pick].role);
		add_str(c->rrsets, r);
		if (hi > c->safe_from)
			c->safe_from = hi;
		add_str(c->ids, g->id);
		add_str(c->tiers, pg_tier_names[g->tier]);
		char l[160];
		int other = pick == g->b ? g->a : g->b;
		add_str(c->with, mdl_ver_label(m, &m->v[other], l, sizeof(l)));
	}
}

static void merge_into(json_t *dst, json_t *src)
{
	size_t i;
	json_t *x;
	json_array_foreach(src, i, x) add_str(dst, json_string_value(x));
}

static int cmp_change(const void *x, const void *y)
{
	const struct change *a = x, *b = y;
	return a->at < b->at ? -1 : a->at > b->at;
}

/* A re-signed RRset that keeps a window going (its predecessor's window ends where it
 * starts) is the same step: the step was safe only from the last window's end. */
static int merge_continuations(struct acc *a)
{
	if (a->n > 1)
		qsort(a->c, a->n, sizeof(*a->c), cmp_change);
	for (size_t i = 0; i < a->n; i++) {
		struct change *c = &a->c[i];
		for (size_t j = i + 1; j < a->n; j++) {
			struct change *d = &a->c[j];
			if (a->m->v[d->v].origin != a->m->v[c->v].origin ||
			    llabs(d->at - c->safe_from) >= a->m->poll / 2)
				continue;
			if (d->safe_from > c->safe_from)
				c->safe_from = d->safe_from;
			merge_into(c->ids, d->ids);
			merge_into(c->tiers, d->tiers);
			merge_into(c->with, d->with);
			merge_into(c->rrsets, d->rrsets);
			json_decref(d->ids);
			json_decref(d->tiers);
			json_decref(d->with);
			json_decref(d->rrsets);
			memmove(d, d + 1, (a->n - j - 1) * sizeof(*d));
			a->n--;
			j = i; /* the merged window may now meet another one */
		}
	}
	return OBS_EOK;
}

struct vac {
	obs_usec_t lo, hi;
	json_t *arr;
};

static void on_observed(void *arg, const og_glitch_t *g)
{
	struct vac *v = arg;
	if (g->excluded || g->first_bad < v->lo || g->first_bad >= v->hi)
		return;
	add_str(v->arr, g->vantage);
}

int au_audit(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, obs_usec_t hold,
	     json_t **out, char *err, size_t errlen)
{
	mdl_t *m = NULL;
	*out = NULL;
	if (hold <= 0)
		hold = 60 * SEC;
	int ret = mdl_load(db, sv, zone, at, &m, err, errlen);
	if (ret == OBS_EOK)
		ret = mdl_avail(m, &mdl_prof_default);
	struct acc a = {.m = m};
	if (ret == OBS_EOK)
		ret = pg_run(m, &mdl_prof_default, m->first_obs, on_window, &a);
	if (ret == OBS_EOK)
		ret = a.err;
	if (ret == OBS_EOK)
		ret = merge_continuations(&a);
	json_t *doc = ret == OBS_EOK ? json_object() : NULL, *arr = json_array();
	for (size_t i = 0; ret == OBS_EOK && i < a.n; i++) {
		struct change *c = &a.c[i];
		const mdl_ver_t *v = &m->v[c->v];
		if (c->safe_from <= c->at)
			continue; /* the window began before the change was seen: not its doing */
		struct vac vc = {c->at, c->safe_from + hold, json_array()};
		if ((ret = og_run(db, zone, at, 0, on_observed, NULL, &vc)) != OBS_EOK) {
			json_decref(vc.arr);
			break;
		}
		char l[160];
		json_t *o = json_object();
		json_object_set_new(o, "change", json_string(mdl_ver_label(m, v, l, sizeof(l))));
		json_object_set(o, "rrsets", c->rrsets);
		json_object_set_new(
		    o, "origin",
		    json_string(v->origin == MDL_PARENT ? "parent" : m->prov[v->origin]));
		json_object_set_new(o, "role", json_string(v->role));
		json_object_set_new(o, "changed_at", rj_time(c->at));
		json_object_set_new(o, "safe_from", rj_time(c->safe_from));
		json_object_set_new(o, "early_by", json_real((double)(c->safe_from - c->at) / 1e6));
		json_object_set(o, "ids", c->ids);
		json_object_set(o, "tiers", c->tiers);
		json_object_set(o, "with", c->with);
		json_object_set_new(o, "vantages", vc.arr);
		json_array_append_new(arr, o);
	}
	for (size_t i = 0; i < a.n; i++) {
		json_decref(a.c[i].ids);
		json_decref(a.c[i].tiers);
		json_decref(a.c[i].with);
		json_decref(a.c[i].rrsets);
	}
	free(a.c);
	if (ret == OBS_EOK) {
		json_object_set_new(doc, "zone", json_string(zone));
		json_object_set_new(doc, "at", rj_time(at));
		json_object_set_new(doc, "hold", json_real((double)hold / 1e6));
		json_object_set_new(doc, "audit", arr);
		*out = doc;
	} else {
		json_decref(arr);
		json_decref(doc);
	}
	mdl_free(m);
	return ret;
}
