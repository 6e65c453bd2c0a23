/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "obs_err.h"

const char *const fetch_profile_names[4] = {"UNKNOWN", "HONOUR", "STRETCH", "STALE"};

/* ---- growable arrays ---- */

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

/* ---- addresses: one node each, joined into resolvers (union-find) ---- */

struct node {
	char addr[80];
	char name[128]; /* configured resolver name, "" unknown */
	bool service, upstream;
	size_t parent;
};

struct fev {
	fetch_event_t e;
	size_t node;
};

struct ans {
	size_t node;
	obs_usec_t t;
	int64_t vid, ttl, obs;
	uint16_t type;
	int kind;
	bool stale; /* EDE 3 or 19 */
	bool passive;
};

struct query { /* for linking service and upstream addresses */
	size_t node;
	obs_usec_t lo, hi;
	uint64_t q; /* hash of lower-case qname and qtype */
};

struct score {
	size_t svc, up;
	int64_t n;
};

struct vttl {
	int64_t vid, ttl; /* ttl -1: unknown */
	bool db_done;     /* version.ttl_max_s merged in */
};

struct fctx {
	an_db_t *db;
	const char *zone;
	obs_usec_t at, tol;
	struct node *nd;
	size_t nn, ncap;
	struct fev *f;
	size_t fn, fcap;
	struct ans *a;
	size_t an, acap;
	struct query *uq;
	size_t uqn, uqcap;
	struct score *sc;
	size_t scn, sccap;
	fetch_link_t *lk;
	size_t lkn, lkcap;
	fetch_drop_t *dr;
	size_t drn, drcap;
	struct vttl *vt;
	size_t vtn, vtcap;
};

static int node_of(struct fctx *c, const char *addr, size_t *out)
{
	for (size_t i = 0; i < c->nn; i++) {
		if (strcmp(c->nd[i].addr, addr) == 0) {
			*out = i;
			return OBS_EOK;
		}
	}
	int ret;
	struct node *n = PUSH(c->nd, c->nn, c->ncap, ret);
	if (n == NULL)
		return ret;
	memset(n, 0, sizeof(*n));
	snprintf(n->addr, sizeof(n->addr), "%s", addr);
	n->parent = c->nn - 1;
	*out = c->nn - 1;
	return OBS_EOK;
}

static size_t root(struct fctx *c, size_t i)
{
	while (c->nd[i].parent != i) {
		c->nd[i].parent = c->nd[c->nd[i].parent].parent;
		i = c->nd[i].parent;
	}
	return i;
}

static void join(struct fctx *c, size_t a, size_t b)
{
	a = root(c, a);
	b = root(c, b);
	if (a != b)
		c->nd[a > b ? a : b].parent = a < b ? a : b;
}

static uint64_t qhash(const char *qname, int qtype)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)qname; *p; p++) {
		unsigned char ch = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		h = (h ^ ch) * 1099511628211ULL;
	}
	h = (h ^ (uint64_t)(qtype & 0xffff)) * 1099511628211ULL;
	return h;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

static bool ede_stale(const char *ede)
{
	/* comma separated codes: 3 stale answer, 19 stale NXDOMAIN answer */
	const char *p = ede;
	while (*p) {
		long v = strtol(p, (char **)&p, 10);
		if (v == 3 || v == 19)
			return true;
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	return false;
}

/* ---- loading ---- */

#define OFF "c.clock_offset_us"

/* the fetches, then the DS carried by referrals (DO set, the zone's referral NS version) with
 * the version of the last DS poll of that parent server at or before the response */
static const char *const SQL_FETCH =
    "SELECT pp.observation_id, pp.client, pp.server, coalesce(pp.t_response, pp.t_query) - " OFF
    ", v.owner, v.type, v.kind, pp.version_id, pp.ttl_s, 0 FROM passive_pair pp JOIN version v "
    "ON v.id = pp.version_id JOIN collector c ON c.id = pp.collector_id WHERE pp.zone = ?1 AND "
    "(pp.qflags & 1) = 0 AND pp.status IN (0, 7) AND pp.ttl_s IS NOT NULL AND v.kind IN (1, 2) "
    "AND v.type IN (2, 43, 48) AND lower(v.owner) = lower(?1) AND pp.t_query - " OFF
    " <= ?2 UNION ALL SELECT pp.observation_id, pp.client, pp.server, coalesce(pp.t_response, "
    "pp.t_query) - " OFF ", dv.owner, dv.type, dv.kind, dv.id, o2.ttl_s, 1 FROM passive_pair pp "
    "JOIN version rv ON rv.id = pp.version_id JOIN collector c ON c.id = pp.collector_id JOIN "
    "observation o2 ON o2.id = (SELECT o.id FROM target tg JOIN collector c2 ON c2.id = "
    "tg.collector_id JOIN series s ON s.target_id = tg.id JOIN observation o ON o.series_id = "
    "s.id WHERE tg.kind = 'parent' AND tg.zone = ?1 AND tg.address = pp.server AND s.qtype = 43 "
    "AND o.status = 0 AND o.version_id IS NOT NULL AND o.t - c2.clock_offset_us <= "
    "coalesce(pp.t_response, pp.t_query) - " OFF " ORDER BY o.t DESC LIMIT 1) JOIN version dv "
    "ON dv.id = o2.version_id WHERE pp.zone = ?1 AND (pp.qflags & 1) = 0 AND (pp.qflags & 4) "
    "!= 0 AND pp.status IN (0, 7) AND rv.kind = 2 AND rv.type = 2 AND lower(rv.owner) = "
    "lower(?1) AND dv.type = 43 AND dv.kind = 1 AND o2.ttl_s IS NOT NULL AND pp.t_query - " OFF
    " <= ?2 ORDER BY 4, 1, 10";

static const char *const SQL_UPQ =
    "SELECT pp.client, pp.t_query - " OFF ", pp.qname, pp.qtype FROM passive_pair pp JOIN "
    "collector c ON c.id = pp.collector_id WHERE pp.zone = ?1 AND (pp.qflags & 1) = 0 AND "
    "pp.t_query - " OFF " <= ?2 ORDER BY 2, pp.id";

/* the resolver polls: reached through the runs of the versions of interest (an answered poll
 * returning version v lies in a run of v of its series, between its first and last sighting),
 * so only those stretches of a resolver's polls are read, not its whole history. The rows are
 * put in (time, observation id) order by load_answers (a total order: ids are unique): SQLite's
 * sorter over these wide rows took most of the statement's time. */
static const char *const SQL_ANS =
    "SELECT pp.server, coalesce(pp.t_response, pp.t_query) - " OFF
    ", pp.version_id, v.type, v.kind, pp.ttl_s, coalesce(pp.ede, ''), pp.observation_id, 1, "
    "'' FROM passive_pair pp JOIN version v ON v.id = pp.version_id JOIN collector c ON c.id = "
    "pp.collector_id WHERE pp.zone = ?1 AND (pp.qflags & 1) = 1 AND pp.status = 0 AND "
    "pp.ttl_s IS NOT NULL AND v.kind IN (1, 2) AND v.type IN (2, 43, 48) AND lower(v.owner) = "
    "lower(?1) AND pp.t_query - " OFF " <= ?2 UNION ALL SELECT tg.address, o.t + "
    "coalesce(o.rtt, 0) - " OFF ", o.version_id, v.type, v.kind, o.ttl_s, coalesce(o.ede, ''), "
    "o.id, 0, tg.host FROM target tg JOIN collector c ON c.id = tg.collector_id JOIN series s "
    "ON s.target_id = tg.id JOIN run r ON r.series_id = s.id JOIN version v ON v.id = "
    "r.version_id JOIN observation o ON o.series_id = r.series_id AND o.t >= r.first_seen AND "
    "o.t <= r.last_seen WHERE tg.kind = 'resolver' AND tg.zone = ?1 AND v.kind IN (1, 2) AND "
    "v.type IN (2, 43, 48) AND lower(v.owner) = lower(?1) AND o.version_id = r.version_id AND "
    "o.status = 0 AND o.ttl_s IS NOT NULL AND o.t - " OFF " <= ?2";

/* every question asked of a service address, answered (for linking) */
static const char *const SQL_DOWNQ =
    "SELECT pp.server, pp.t_query - " OFF ", coalesce(pp.t_response, pp.t_query) - " OFF
    ", pp.qname, pp.qtype, '' FROM passive_pair pp JOIN collector c ON c.id = pp.collector_id "
    "WHERE pp.zone = ?1 AND (pp.qflags & 1) = 1 AND pp.status = 0 AND pp.t_query - " OFF
    " <= ?2 UNION ALL SELECT tg.address, o.t - " OFF ", o.t + coalesce(o.rtt, 0) - " OFF
    ", s.qname, s.qtype, tg.host FROM observation o JOIN series s ON s.id = o.series_id JOIN "
    "target tg ON tg.id = s.target_id JOIN collector c ON c.id = tg.collector_id WHERE "
    "tg.kind = 'resolver' AND tg.zone = ?1 AND o.status = 0 AND o.t - " OFF " <= ?2";

static const char *const SQL_DROPS =
    "SELECT c.name, d.t_start - " OFF ", d.t_end - " OFF ", d.received, d.dropped, "
    "d.ifdropped FROM capture_drop d JOIN collector c ON c.id = d.collector_id WHERE d.t_start "
    "- " OFF " <= ?1 ORDER BY 2, c.name";

static int prep(struct fctx *c, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(an_db_sql(c->db), sql, -1, st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	if (sqlite3_bind_parameter_count(*st) >= 2) {
		sqlite3_bind_text(*st, 1, c->zone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(*st, 2, c->at);
	} else {
		sqlite3_bind_int64(*st, 1, c->at);
	}
	return OBS_EOK;
}

static int vttl_note(struct fctx *c, int64_t vid, int64_t ttl)
{
	for (size_t i = 0; i < c->vtn; i++) {
		if (c->vt[i].vid == vid) {
			if (ttl > c->vt[i].ttl)
				c->vt[i].ttl = ttl;
			return OBS_EOK;
		}
	}
	int ret;
	struct vttl *v = PUSH(c->vt, c->vtn, c->vtcap, ret);
	if (v == NULL)
		return ret;
	v->vid = vid;
	v->ttl = ttl;
	v->db_done = false;
	return OBS_EOK;
}

static int load_fetches(struct fctx *c)
{
	sqlite3_stmt *st = NULL;
	int ret = prep(c, SQL_FETCH, &st), rc;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t node;
		if ((ret = node_of(c, col_text(st, 1), &node)))
			break;
		c->nd[node].upstream = true;
		struct fev *f = PUSH(c->f, c->fn, c->fcap, ret);
		if (f == NULL)
			break;
		memset(f, 0, sizeof(*f));
		f->node = node;
		fetch_event_t *e = &f->e;
		e->obs_id = sqlite3_column_int64(st, 0);
		snprintf(e->client, sizeof(e->client), "%s", col_text(st, 1));
		snprintf(e->server, sizeof(e->server), "%s", col_text(st, 2));
		e->t = sqlite3_column_int64(st, 3);
		snprintf(e->owner, sizeof(e->owner), "%s", col_text(st, 4));
		e->type = (uint16_t)sqlite3_column_int(st, 5);
		e->kind = sqlite3_column_int(st, 6);
		e->version_id = sqlite3_column_int64(st, 7);
		e->ttl_s = sqlite3_column_int64(st, 8);
		e->in_referral = sqlite3_column_int(st, 9) != 0;
		e->until = e->t + e->ttl_s * OBS_USEC_PER_SEC;
		e->next = INT64_MAX;
		ret = vttl_note(c, e->version_id, e->ttl_s);
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	return ret;
}

/* an answer as read, before the addresses become nodes: who indexes the distinct (address,
 * configured name) pairs of the statement */
struct rawans {
	struct ans a;
	size_t who;
};

struct who {
	char *addr, *host;
};

static int cmp_rawans(const void *x, const void *y)
{
	const struct rawans *a = x, *b = y;
	if (a->a.t != b->a.t)
		return a->a.t < b->a.t ? -1 : 1;
	return a->a.obs < b->a.obs ? -1 : a->a.obs > b->a.obs;
}

static int who_of(struct who **w, size_t *wn, size_t *last, const char *addr, const char *host,
		  size_t *out)
{
	if (*last < *wn && strcmp((*w)[*last].addr, addr) == 0 &&
	    strcmp((*w)[*last].host, host) == 0) {
		*out = *last;
		return OBS_EOK;
	}
	for (size_t i = 0; i < *wn; i++) {
		if (strcmp((*w)[i].addr, addr) == 0 && strcmp((*w)[i].host, host) == 0) {
			*out = *last = i;
			return OBS_EOK;
		}
	}
	struct who *n = realloc(*w, (*wn + 1) * sizeof(*n));
	if (n == NULL)
		return OBS_ENOMEM;
	*w = n;
	n[*wn].addr = strdup(addr);
	n[*wn].host = strdup(host);
	if (n[*wn].addr == NULL || n[*wn].host == NULL) {
		free(n[*wn].addr);
		free(n[*wn].host);
		return OBS_ENOMEM;
	}
	*out = *last = (*wn)++;
	return OBS_EOK;
}

/* The answers in (time, observation id) order; each address becomes a service node in that
 * order, named by the first answer that carries a configured name (as when SQLite sorted). */
static int load_answers(struct fctx *c)
{
	sqlite3_stmt *st = NULL;
	struct rawans *raw = NULL;
	struct who *w = NULL;
	size_t rn = 0, rcap = 0, wn = 0, last = 0;
	int ret = prep(c, SQL_ANS, &st), rc = SQLITE_DONE;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rawans *r = PUSH(raw, rn, rcap, ret);
		if (r == NULL)
			break;
		if ((ret = who_of(&w, &wn, &last, col_text(st, 0), col_text(st, 9), &r->who)))
			break;
		struct ans *a = &r->a;
		a->t = sqlite3_column_int64(st, 1);
		a->vid = sqlite3_column_int64(st, 2);
		a->type = (uint16_t)sqlite3_column_int(st, 3);
		a->kind = sqlite3_column_int(st, 4);
		a->ttl = sqlite3_column_int64(st, 5);
		a->stale = ede_stale(col_text(st, 6));
		a->obs = sqlite3_column_int64(st, 7);
		a->passive = sqlite3_column_int(st, 8) != 0;
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	if (ret == OBS_EOK && rn)
		qsort(raw, rn, sizeof(*raw), cmp_rawans);
	for (size_t i = 0; i < rn && ret == OBS_EOK; i++) {
		const struct who *x = &w[raw[i].who];
		size_t node;
		if ((ret = node_of(c, x->addr, &node)))
			break;
		c->nd[node].service = true;
		if (x->host[0] && c->nd[node].name[0] == '\0')
			snprintf(c->nd[node].name, sizeof(c->nd[node].name), "%s", x->host);
		struct ans *a = PUSH(c->a, c->an, c->acap, ret);
		if (a == NULL)
			break;
		*a = raw[i].a;
		a->node = node;
	}
	for (size_t i = 0; i < wn; i++) {
		free(w[i].addr);
		free(w[i].host);
	}
	free(w);
	free(raw);
	return ret;
}

static int load_drops(struct fctx *c)
{
	sqlite3_stmt *st = NULL;
	int ret = prep(c, SQL_DROPS, &st), rc;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		fetch_drop_t *d = PUSH(c->dr, c->drn, c->drcap, ret);
		if (d == NULL)
			break;
		snprintf(d->collector, sizeof(d->collector), "%s", col_text(st, 0));
		d->lo = sqlite3_column_int64(st, 1);
		d->hi = sqlite3_column_int64(st, 2);
		d->received = sqlite3_column_int64(st, 3);
		d->dropped = sqlite3_column_int64(st, 4);
		d->ifdropped = sqlite3_column_int64(st, 5);
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	return ret;
}

/* Does a drop window overlap [a, b]? */
static bool dropped_in(const struct fctx *c, obs_usec_t a, obs_usec_t b)
{
	for (size_t i = 0; i < c->drn; i++)
		if (c->dr[i].lo <= b && c->dr[i].hi > a)
			return true;
	return false;
}

/* The largest authoritative TTL of a version: the fetches' and version.ttl_max_s; -1 unknown */
static int auth_ttl(struct fctx *c, int64_t vid, int64_t *out)
{
	struct vttl *v = NULL;
	int ret;
	for (size_t i = 0; i < c->vtn && v == NULL; i++)
		if (c->vt[i].vid == vid)
			v = &c->vt[i];
	if (v == NULL) {
		if ((ret = vttl_note(c, vid, -1)))
			return ret;
		v = &c->vt[c->vtn - 1];
	}
	if (!v->db_done) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(an_db_sql(c->db),
				       "SELECT ttl_max_s FROM version WHERE id = ?", -1, &st,
				       NULL) != SQLITE_OK)
			return OBS_ESQL;
		sqlite3_bind_int64(st, 1, vid);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 0) > v->ttl)
			v->ttl = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		v->db_done = true;
	}
	*out = v->ttl;
	return OBS_EOK;
}

/* ---- linking service and upstream addresses ---- */

static int cmp_query(const void *a, const void *b)
{
	const struct query *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_score(struct fctx *c, size_t svc, size_t up)
{
	for (size_t i = 0; i < c->scn; i++) {
		if (c->sc[i].svc == svc && c->sc[i].up == up) {
			c->sc[i].n++;
			return OBS_EOK;
		}
	}
	int ret;
	struct score *s = PUSH(c->sc, c->scn, c->sccap, ret);
	if (s == NULL)
		return ret;
	s->svc = svc;
	s->up = up;
	s->n = 1;
	return OBS_EOK;
}

/* One client query to a service address over [lo, hi]: which upstream addresses fetched the
 * same question inside it? Exactly one: a point for that pair. */
static int explain(struct fctx *c, size_t svc, obs_usec_t lo, obs_usec_t hi, uint64_t q)
{
	size_t a = 0, b = c->uqn;
	while (a < b) { /* first upstream query at or after lo */
		size_t m = a + (b - a) / 2;
		if (c->uq[m].lo < lo)
			a = m + 1;
		else
			b = m;
	}
	size_t who = SIZE_MAX;
	for (size_t i = a; i < c->uqn && c->uq[i].lo <= hi; i++) {
		if (c->uq[i].q != q || c->uq[i].node == svc)
			continue;
		if (who != SIZE_MAX && who != c->uq[i].node)
			return OBS_EOK; /* two candidates: explains nothing */
		who = c->uq[i].node;
	}
	return who == SIZE_MAX ? OBS_EOK : add_score(c, svc, who);
}

static int link_addresses(struct fctx *c)
{
	bool need = false;
	for (size_t i = 0; i < c->nn; i++)
		need |= c->nd[i].service && !c->nd[i].upstream;
	if (!need)
		return OBS_EOK;
	sqlite3_stmt *st = NULL;
	int ret = prep(c, SQL_UPQ, &st), rc = SQLITE_DONE;
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t node;
		if ((ret = node_of(c, col_text(st, 0), &node)))
			break;
		struct query *u = PUSH(c->uq, c->uqn, c->uqcap, ret);
		if (u == NULL)
			break;
		u->node = node;
		u->lo = u->hi = sqlite3_column_int64(st, 1);
		u->q = qhash(col_text(st, 2), sqlite3_column_int(st, 3));
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	st = NULL;
	if (ret)
		return ret;
	if (c->uqn == 0)
		return OBS_EOK; /* no upstream query to explain anything with */
	if (c->uqn)
		qsort(c->uq, c->uqn, sizeof(*c->uq), cmp_query);
	/* an address that fetches itself is its own upstream: only the others are linked */
	ret = prep(c, SQL_DOWNQ, &st);
	while (ret == OBS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t node = SIZE_MAX;
		for (size_t i = 0; i < c->nn && node == SIZE_MAX; i++)
			if (strcmp(c->nd[i].addr, col_text(st, 0)) == 0)
				node = i;
		if (node == SIZE_MAX || !c->nd[node].service || c->nd[node].upstream)
			continue;
		ret = explain(c, node, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			      qhash(col_text(st, 3), sqlite3_column_int(st, 4)));
	}
	if (ret == OBS_EOK && rc != SQLITE_DONE)
		ret = OBS_ESQL;
	sqlite3_finalize(st);
	if (ret)
		return ret;
	/* each service address joins its best-scoring upstream address; a tie links nothing */
	for (size_t s = 0; s < c->nn; s++) {
		int64_t best = 0;
		size_t up = SIZE_MAX;
		bool tie = false;
		for (size_t i = 0; i < c->scn; i++) {
			if (c->sc[i].svc != s)
				continue;
			if (c->sc[i].n > best) {
				best = c->sc[i].n;
				up = c->sc[i].up;
				tie = false;
			} else if (c->sc[i].n == best) {
				tie = true;
			}
		}
		if (up == SIZE_MAX || tie || !c->nd[up].upstream)
			continue;
		join(c, s, up);
		fetch_link_t *l = PUSH(c->lk, c->lkn, c->lkcap, ret);
		if (l == NULL)
			return ret;
		snprintf(l->service, sizeof(l->service), "%s", c->nd[s].addr);
		snprintf(l->upstream, sizeof(l->upstream), "%s", c->nd[up].addr);
		l->matches = best;
	}
	return OBS_EOK;
}

/* ---- judging one resolver ---- */

struct group {
	fetch_resolver_t r;
	fetch_event_t *ev;
	size_t evn, evcap;
	fetch_flag_t *fl;
	size_t fln, flcap;
	fetch_link_t *lk;
	size_t lkn, lkcap;
};

static int cmp_event(const void *a, const void *b)
{
	const fetch_event_t *x = a, *y = b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->obs_id < y->obs_id ? -1 : x->obs_id > y->obs_id;
}

/* whole seconds, to the nearest: TTLs are whole seconds and a resolver's remaining TTL is
 * itself rounded, so a finer estimate would be noise */
static int64_t secs(obs_usec_t d)
{
	return d <= 0 ? 0 : (d + OBS_USEC_PER_SEC / 2) / OBS_USEC_PER_SEC;
}

static int flag(struct group *g, const char *id, int sev, const struct ans *a, const char *via,
		int64_t auth, const fetch_event_t *f, obs_usec_t held)
{
	fetch_flag_t *x = NULL;
	int64_t fobs = f ? f->obs_id : 0;
	for (size_t i = 0; i < g->fln && x == NULL; i++) {
		fetch_flag_t *y = &g->fl[i];
		if (y->id == id && y->version_id == a->vid && y->fetch_obs == fobs &&
		    y->passive == a->passive && strcmp(y->via, via) == 0)
			x = y;
	}
	if (x == NULL) {
		int ret;
		if ((x = PUSH(g->fl, g->fln, g->flcap, ret)) == NULL)
			return ret;
		memset(x, 0, sizeof(*x));
		x->id = id;
		x->sev = sev;
		x->version_id = a->vid;
		x->type = a->type;
		snprintf(x->via, sizeof(x->via), "%s", via);
		x->passive = a->passive;
		x->lo = a->t;
		x->first_obs = a->obs;
		x->ttl_auth_s = auth;
		x->fetch_obs = fobs;
		x->fetch_t = f ? f->t : INT64_MIN;
		x->expiry = f ? f->until : INT64_MIN;
		x->hold_until = INT64_MIN;
	}
	x->hi = a->t;
	x->last_obs = a->obs;
	x->answers++;
	if (a->ttl > x->ttl_answer_s)
		x->ttl_answer_s = a->ttl;
	obs_usec_t hold = a->t + a->ttl * OBS_USEC_PER_SEC;
	if (hold > x->hold_until)
		x->hold_until = hold;
	if (secs(held) > x->held_s)
		x->held_s = secs(held);
	return OBS_EOK;
}

/* the last event of (type, kind) at or before t; NULL when none */
static const fetch_event_t *last_fetch(const struct group *g, uint16_t type, int kind, obs_usec_t t)
{
	const fetch_event_t *best = NULL;
	for (size_t i = 0; i < g->evn; i++) {
		const fetch_event_t *e = &g->ev[i];
		if (e->type == type && e->kind == kind && e->t <= t)
			best = e; /* sorted by time within (type, kind) */
	}
	return best;
}

static int judge_answer(struct fctx *c, struct group *g, const struct ans *a)
{
	fetch_resolver_t *r = &g->r;
	const char *via = c->nd[a->node].addr;
	int64_t auth;
	int ret = auth_ttl(c, a->vid, &auth);
	if (ret)
		return ret;
	obs_usec_t tol = c->tol;
	r->answers++;
	const fetch_event_t *f = last_fetch(g, a->type, a->kind, a->t);
	bool over_auth = auth >= 0 && a->ttl > auth + 1;
	if (f == NULL || f->version_id != a->vid) {
		r->unmatched++;
		return over_auth ? flag(g, "T-1", 1, a, via, auth, NULL, a->ttl * OBS_USEC_PER_SEC)
				 : OBS_EOK;
	}
	if (dropped_in(c, f->t, a->t)) {
		/* a refetch may be missing from the capture: only the TTL bound is judged */
		r->incomplete++;
		return over_auth ? flag(g, "T-1", 1, a, via, auth, NULL, a->ttl * OBS_USEC_PER_SEC)
				 : OBS_EOK;
	}
	r->checked++;
	obs_usec_t hold = a->t + a->ttl * OBS_USEC_PER_SEC;
	/* a stale marker past the fetched expiry is serve-stale whatever the tolerance */
	if (a->t >= f->until + tol || (a->stale && a->t >= f->until)) {
		if (a->stale) {
			obs_usec_t past = hold - f->until;
			if (secs(past) > r->stale_s)
				r->stale_s = secs(past);
			return flag(g, "T-2s", 0, a, via, auth, f, hold - f->t);
		}
		return flag(g, "T-2x", 1, a, via, auth, f, hold - f->t);
	}
	if (hold > f->until + tol || over_auth)
		return flag(g, "T-1", 1, a, via, auth, f, hold - f->t);
	return OBS_EOK;
}

static void profile(fetch_resolver_t *r)
{
	int64_t m = 0;
	bool stretch = false, stale = false;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *x = &r->flags[i];
		if (strcmp(x->id, "T-2s") == 0) {
			stale = true;
			continue;
		}
		stretch = true;
		if (x->held_s > m)
			m = x->held_s;
	}
	if (stretch) {
		r->profile = FETCH_STRETCH;
		r->stretch_s = m;
	} else if (stale) {
		r->profile = FETCH_STALE;
	} else {
		r->profile = r->checked > 0 ? FETCH_HONOUR : FETCH_UNKNOWN;
	}
}

static int add_addr(fetch_resolver_t *r, const char *addr, bool service)
{
	char(*list)[80] = service ? r->service : r->upstream;
	size_t *n = service ? &r->service_n : &r->upstream_n;
	if (*n >= FETCH_ADDRS) {
		r->addrs_dropped++;
		return OBS_EOK;
	}
	snprintf(list[(*n)++], 80, "%s", addr);
	return OBS_EOK;
}

/* A resolver's name: its configured name (from the collector's resolver polls), else its
 * first service address, else its first upstream address. */
static void label(struct fctx *c, size_t g0, char *buf, size_t len)
{
	const char *svc = NULL, *up = NULL;
	for (size_t i = 0; i < c->nn; i++) {
		const struct node *n = &c->nd[i];
		if (root(c, i) != g0)
			continue;
		if (n->name[0]) {
			snprintf(buf, len, "%s", n->name);
			return;
		}
		if (n->service && svc == NULL)
			svc = n->addr;
		if (n->upstream && up == NULL)
			up = n->addr;
	}
	snprintf(buf, len, "%s", svc ? svc : up ? up : "?");
}

static int run_group(struct fctx *c, size_t g0, fetch_resolver_fn cb, void *arg)
{
	struct group g = {0};
	fetch_resolver_t *r = &g.r;
	int ret = OBS_EOK;
	label(c, g0, r->name, sizeof(r->name));
	for (size_t i = 0; i < c->nn; i++) {
		if (root(c, i) != g0)
			continue;
		const struct node *n = &c->nd[i];
		if (n->service)
			add_addr(r, n->addr, true);
		if (n->upstream)
			add_addr(r, n->addr, false);
	}
	for (size_t i = 0; i < c->fn; i++) {
		if (root(c, c->f[i].node) != g0)
			continue;
		fetch_event_t *e = PUSH(g.ev, g.evn, g.evcap, ret);
		if (e == NULL)
			goto done;
		*e = c->f[i].e;
	}
	if (g.evn)
		qsort(g.ev, g.evn, sizeof(*g.ev), cmp_event);
	for (size_t i = 0; i < g.evn; i++) {
		fetch_event_t *e = &g.ev[i];
		if (i + 1 < g.evn && g.ev[i + 1].type == e->type && g.ev[i + 1].kind == e->kind)
			e->next = g.ev[i + 1].t;
		e->late_refetch = e->next != INT64_MAX && e->next > e->until + c->tol;
		e->incomplete = dropped_in(c, e->t, e->next == INT64_MAX ? c->at : e->next);
	}
	for (size_t i = 0; i < c->an; i++) {
		if (root(c, c->a[i].node) != g0)
			continue;
		if ((ret = judge_answer(c, &g, &c->a[i])))
			goto done;
	}
	for (size_t i = 0; i < c->lkn; i++) {
		size_t s;
		for (s = 0; s < c->nn && strcmp(c->nd[s].addr, c->lk[i].service) != 0; s++)
			;
		if (s < c->nn && root(c, s) == g0) {
			fetch_link_t *l = PUSH(g.lk, g.lkn, g.lkcap, ret);
			if (l == NULL)
				goto done;
			*l = c->lk[i];
		}
	}
	r->fetches = g.ev;
	r->fetches_n = g.evn;
	r->flags = g.fl;
	r->flags_n = g.fln;
	r->links = g.lk;
	r->links_n = g.lkn;
	profile(r);
	if (cb)
		cb(arg, r);
done:
	free(g.ev);
	free(g.fl);
	free(g.lk);
	return ret;
}

struct named {
	size_t root;
	char name[128];
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (x->root < y->root ? -1 : x->root > y->root);
}

int fetch_run(an_db_t *db, const char *zone, obs_usec_t at, const fetch_opts_t *opts,
	      fetch_resolver_fn rcb, fetch_drop_fn dcb, void *arg)
{
	struct fctx c = {.db = db, .zone = zone, .at = at};
	c.tol = opts && opts->tol > 0 ? opts->tol : FETCH_TOL_DEFAULT;
	struct named *roots = NULL;
	int ret;
	if ((ret = load_drops(&c)) || (ret = load_fetches(&c)) || (ret = load_answers(&c)) ||
	    (ret = link_addresses(&c)))
		goto done;
	/* one resolver per root with fetches or answers, in the order of their names */
	size_t rn = 0;
	roots = calloc(c.nn + 1, sizeof(*roots));
	if (roots == NULL) {
		ret = OBS_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < c.nn; i++) {
		size_t g = root(&c, i);
		if (!c.nd[i].service && !c.nd[i].upstream)
			continue;
		bool have = false;
		for (size_t k = 0; k < rn; k++)
			have |= roots[k].root == g;
		if (!have) {
			roots[rn].root = g;
			label(&c, g, roots[rn].name, sizeof(roots[rn].name));
			rn++;
		}
	}
	if (rn)
		qsort(roots, rn, sizeof(*roots), cmp_named);
	for (size_t k = 0; k < rn && ret == OBS_EOK; k++)
		ret = run_group(&c, roots[k].root, rcb, arg);
	for (size_t i = 0; i < c.drn && ret == OBS_EOK && dcb; i++)
		dcb(arg, &c.dr[i]);
done:
	free(roots);
	free(c.nd);
	free(c.f);
	free(c.a);
	free(c.uq);
	free(c.sc);
	free(c.lk);
	free(c.dr);
	free(c.vt);
	return ret;
}
