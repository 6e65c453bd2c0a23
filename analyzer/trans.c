/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "keys.h"
#include "obs_err.h"
#include "sigv.h"
#include "trans.h"

const char *const trans_class_names[TC__N] = {
    "dnskey", "dnskey-signers", "data-signers", "ds",    "ns-apex", "ns-referral",
    "cds",    "cdnskey",        "csync",        "server"};

const char *const trans_kind_names[TK__N] = {
    "zsk-rollover",  "ksk-rollover",    "csk-rollover",        "algorithm-rollover",
    "provider-join", "provider-leave",  "provider-transfer",   "ds-change",
    "ns-change",     "cds-publication", "cdnskey-publication", "csync-publication",
    "dnskey-change", "signer-change",   "server-stop"};

#define CONTENT_MAX 8192 /* bytes of one content string; longer ones are cut at an item */

struct host {
	char host[256];
	char prov[64];
};

struct prov {
	char name[64];
	char *zsk; /* keys that ever signed the SOA at this provider */
	char *ksk; /* keys that ever signed the DNSKEY RRset */
};

/* one change at one server, before merging */
struct change {
	size_t tl, seg; /* timeline, index of the new segment */
	obs_usec_t first;
};

struct trans_set {
	char zone[256];
	obs_usec_t at, poll;
	char **contents; /* interned content strings */
	size_t contents_n, contents_cap;
	trans_timeline_t *tl;
	int64_t *tl_target;
	size_t tl_n, tl_cap;
	trans_event_t *ev;
	size_t **ev_tls; /* per event: the timelines that contributed */
	size_t *ev_tls_n;
	size_t ev_n, ev_cap;
	trans_t *tr;
	size_t tr_n, tr_cap;
	struct host *hosts;
	size_t hosts_n;
	struct prov *provs;
	size_t provs_n;
	obs_usec_t group_gap;
	obs_usec_t window;
};

/* ---- small helpers: growing arrays and item lists */

static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return OBS_EOK;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, nc * sz);
	if (q == NULL)
		return OBS_ENOMEM;
	*p = q;
	*cap = nc;
	return OBS_EOK;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* true when the space-separated list has the item */
static bool items_has(const char *list, const char *item, size_t ilen)
{
	const char *p = list;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == ilen && memcmp(p, item, l) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* items of a not in b, as a new string (NULL: no memory) */
static char *items_diff(const char *a, const char *b)
{
	size_t n = strlen(a);
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	const char *p = a;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!items_has(b, p, l)) {
			if (o != out)
				*o++ = ' ';
			memcpy(o, p, l);
			o += l;
		}
		p = e ? e + 1 : NULL;
	}
	*o = 0;
	return out;
}

/* true when the two lists share an item */
static bool items_meet(const char *a, const char *b)
{
	const char *p = a;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (items_has(b, p, l))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* add the items of src to the list *dst (kept without duplicates, unsorted) */
static int items_union(char **dst, const char *src)
{
	const char *p = src;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!*dst || !items_has(*dst, p, l)) {
			size_t dl = *dst ? strlen(*dst) : 0;
			char *n = realloc(*dst, dl + l + 2);
			if (n == NULL)
				return OBS_ENOMEM;
			if (dl)
				n[dl++] = ' ';
			memcpy(n + dl, p, l);
			n[dl + l] = 0;
			*dst = n;
		}
		p = e ? e + 1 : NULL;
	}
	if (*dst == NULL && (*dst = calloc(1, 1)) == NULL)
		return OBS_ENOMEM;
	return OBS_EOK;
}

/* algorithm numbers of ALG/TAG items as a 256-bit mask */
static void algs_of(const char *list, uint64_t mask[4])
{
	memset(mask, 0, 4 * sizeof(uint64_t));
	const char *p = list;
	while (p && *p) {
		unsigned a = (unsigned)strtoul(p, NULL, 10) & 255u;
		mask[a / 64] |= UINT64_C(1) << (a % 64);
		const char *e = strchr(p, ' ');
		p = e ? e + 1 : NULL;
	}
}

/* ---- content of a version */

struct items {
	char *v[256];
	size_t n;
	char buf[CONTENT_MAX];
	size_t used;
	bool cut;
};

static void it_add(struct items *it, const char *s)
{
	size_t l = strlen(s) + 1;
	for (size_t i = 0; i < it->n; i++)
		if (strcmp(it->v[i], s) == 0)
			return;
	if (it->n == 256 || it->used + l > sizeof(it->buf)) {
		it->cut = true;
		return;
	}
	memcpy(it->buf + it->used, s, l);
	it->v[it->n++] = it->buf + it->used;
	it->used += l;
}

static void dname_text(const uint8_t *w, size_t len, char *buf, size_t blen)
{
	ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, w);
	if (r == NULL) {
		snprintf(buf, blen, "?");
		return;
	}
	ans_dname_text(r, buf, blen);
	ldns_rdf_deep_free(r);
}

/* the RDATA of an item (kinds 3/4 hold whole RRs) */
static int item_rdata(const vers_t *v, const uint8_t *it, size_t len, const uint8_t **rd,
		      size_t *rdlen)
{
	return sigv_rdata(v, it, len, rd, rdlen);
}

int trans_content(const vers_t *v, enum trans_class cls, char *buf, size_t len)
{
	struct items *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return OBS_ENOMEM;
	int ret = OBS_EOK;
	bool bad = false;
	size_t pos = 0, ilen;
	const uint8_t *item;
	char tok[300];
	bool sigs = cls == TC_DNSKEY_SIG || cls == TC_DATA_SIG;
	const uint8_t *blob = sigs ? v->rrsig : v->rdata;
	size_t blen = sigs ? v->rrsig_len : v->rdata_len;
	if (cls == TC_SERVER || (v->kind != VK_ANSWER && v->kind != VK_REFERRAL))
		blen = 0; /* negative answers: empty content */
	while (vers_next(blob, blen, &pos, &item, &ilen, &bad)) {
		const uint8_t *rd;
		size_t rl;
		if (item_rdata(v, item, ilen, &rd, &rl) != OBS_EOK) {
			ret = OBS_EMALFORMED;
			continue;
		}
		tok[0] = 0;
		switch (cls) {
		case TC_DNSKEY:
		case TC_CDNSKEY: {
			key_info_t k;
			if (cls == TC_CDNSKEY && keys_is_delete(60, rd, rl))
				snprintf(tok, sizeof(tok), "delete");
			else if (keys_parse(rd, rl, &k) == OBS_EOK)
				snprintf(tok, sizeof(tok), "%u/%u", k.alg, k.tag);
			break;
		}
		case TC_DS:
		case TC_CDS: {
			ds_info_t d;
			if (cls == TC_CDS && keys_is_delete(59, rd, rl))
				snprintf(tok, sizeof(tok), "delete");
			else if (keys_ds_parse(rd, rl, &d) == OBS_EOK)
				snprintf(tok, sizeof(tok), "%u/%u", d.alg, d.tag);
			break;
		}
		case TC_DNSKEY_SIG:
		case TC_DATA_SIG: {
			sig_info_t si;
			if (sigv_info(rd, rl, &si) == OBS_EOK)
				snprintf(tok, sizeof(tok), "%u/%u", si.alg, si.tag);
			break;
		}
		case TC_NS_APEX:
		case TC_NS_REF:
			if (v->type == 2)
				dname_text(rd, rl, tok, sizeof(tok));
			break;
		case TC_CSYNC:
			if (rl >= 6)
				snprintf(tok, sizeof(tok), "serial=%u,flags=%u",
					 ((unsigned)rd[0] << 24) | ((unsigned)rd[1] << 16) |
					     ((unsigned)rd[2] << 8) | rd[3],
					 ((unsigned)rd[4] << 8) | rd[5]);
			break;
		default:
			break;
		}
		if (tok[0])
			it_add(it, tok);
	}
	if (bad)
		ret = OBS_EMALFORMED;
	if (it->n)
		qsort(it->v, it->n, sizeof(it->v[0]), str_cmp);
	size_t o = 0;
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < it->n; i++) {
		size_t l = strlen(it->v[i]);
		if (o + l + 2 > len) {
			it->cut = true;
			break;
		}
		if (o)
			buf[o++] = ' ';
		memcpy(buf + o, it->v[i], l + 1);
		o += l;
	}
	if (it->cut && ret == OBS_EOK)
		ret = OBS_ETOOBIG;
	free(it);
	return ret;
}

enum trans_class trans_class_of(const char *origin, const char *role, bool data_sig)
{
	bool parent = strcmp(origin, "PARENT") == 0;
	if (parent) {
		if (data_sig)
			return TC__N;
		if (strcmp(role, "ds") == 0)
			return TC_DS;
		if (strcmp(role, "referral") == 0)
			return TC_NS_REF;
		return TC__N;
	}
	if (data_sig) {
		if (strcmp(role, "dnskey") == 0)
			return TC_DNSKEY_SIG;
		if (strcmp(role, "soa") == 0)
			return TC_DATA_SIG;
		return TC__N;
	}
	static const struct {
		const char *role;
		enum trans_class cls;
	} map[] = {{"dnskey", TC_DNSKEY},
		   {"ns", TC_NS_APEX},
		   {"cds", TC_CDS},
		   {"cdnskey", TC_CDNSKEY},
		   {"csync", TC_CSYNC}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].role, role) == 0)
			return map[i].cls;
	return TC__N;
}

/* ---- the set */

static const char *intern(trans_set_t *s, const char *c)
{
	for (size_t i = s->contents_n; i-- > 0;)
		if (strcmp(s->contents[i], c) == 0)
			return s->contents[i];
	if (grow((void **)&s->contents, &s->contents_cap, s->contents_n, sizeof(char *)))
		return NULL;
	char *d = strdup(c);
	if (d == NULL)
		return NULL;
	s->contents[s->contents_n++] = d;
	return d;
}

static void event_free(trans_event_t *e)
{
	free(e->before);
	free(e->after);
	free(e->added);
	free(e->removed);
}

void trans_free(trans_set_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->contents_n; i++)
		free(s->contents[i]);
	free(s->contents);
	for (size_t i = 0; i < s->tl_n; i++)
		free(s->tl[i].segs);
	free(s->tl);
	free(s->tl_target);
	for (size_t i = 0; i < s->ev_n; i++) {
		event_free(&s->ev[i]);
		free(s->ev_tls[i]);
	}
	free(s->ev);
	free(s->ev_tls);
	free(s->ev_tls_n);
	for (size_t i = 0; i < s->tr_n; i++) {
		trans_t *t = &s->tr[i];
		free(t->keys_old);
		free(t->keys_new);
		free(t->events);
		for (size_t k = 0; k < t->phases_n; k++)
			free(t->phases[k].events);
		free(t->phases);
	}
	free(s->tr);
	free(s->hosts);
	for (size_t i = 0; i < s->provs_n; i++) {
		free(s->provs[i].zsk);
		free(s->provs[i].ksk);
	}
	free(s->provs);
	free(s);
}

const char *trans_zone(const trans_set_t *s)
{
	return s->zone;
}
obs_usec_t trans_at(const trans_set_t *s)
{
	return s->at;
}
size_t trans_count(const trans_set_t *s)
{
	return s->tr_n;
}
const trans_t *trans_get(const trans_set_t *s, size_t i)
{
	return i < s->tr_n ? &s->tr[i] : NULL;
}
size_t trans_event_count(const trans_set_t *s)
{
	return s->ev_n;
}
const trans_event_t *trans_event_get(const trans_set_t *s, size_t i)
{
	return i < s->ev_n ? &s->ev[i] : NULL;
}
size_t trans_timeline_count(const trans_set_t *s)
{
	return s->tl_n;
}
const trans_timeline_t *trans_timeline_get(const trans_set_t *s, size_t i)
{
	return i < s->tl_n ? &s->tl[i] : NULL;
}
obs_usec_t trans_poll(const trans_set_t *s)
{
	return s->poll;
}

static trans_timeline_t *timeline(trans_set_t *s, int64_t target, const char *origin,
				  const char *server, const char *coll, enum trans_class cls)
{
	for (size_t i = s->tl_n; i-- > 0;) {
		if (s->tl_target[i] != target)
			break;
		if (s->tl[i].cls == cls)
			return &s->tl[i];
	}
	size_t cap = s->tl_cap;
	if (grow((void **)&s->tl, &cap, s->tl_n, sizeof(*s->tl)))
		return NULL;
	size_t cap2 = s->tl_cap;
	if (grow((void **)&s->tl_target, &cap2, s->tl_n, sizeof(*s->tl_target)))
		return NULL;
	s->tl_cap = cap < cap2 ? cap : cap2;
	trans_timeline_t *t = &s->tl[s->tl_n];
	memset(t, 0, sizeof(*t));
	snprintf(t->origin, sizeof(t->origin), "%s", origin);
	snprintf(t->server, sizeof(t->server), "%s", server);
	snprintf(t->collector, sizeof(t->collector), "%s", coll);
	t->cls = cls;
	s->tl_target[s->tl_n++] = target;
	return t;
}

/* append a run to a timeline, merging it into the last segment when the content is equal */
static int seg_add(trans_timeline_t *t, size_t *cap, const char *content, obs_usec_t lo,
		   obs_usec_t first, obs_usec_t last, obs_usec_t hi, int64_t vid, int64_t ttl)
{
	if (t->segs_n && t->segs[t->segs_n - 1].content == content) {
		trans_seg_t *g = &t->segs[t->segs_n - 1];
		if (last > g->last)
			g->last = last;
		g->hi = hi;
		if (ttl > g->ttl_s)
			g->ttl_s = ttl;
		return OBS_EOK;
	}
	if (grow((void **)&t->segs, cap, t->segs_n, sizeof(*t->segs)))
		return OBS_ENOMEM;
	t->segs[t->segs_n++] = (trans_seg_t){.lo = lo,
					     .first = first,
					     .last = last,
					     .hi = hi,
					     .content = content,
					     .version_id = vid,
					     .ttl_s = ttl};
	return OBS_EOK;
}

static const char *const SQL_RUNS =
    "SELECT tg.id, tg.origin, tg.address, c.name, c.clock_offset_us, s.role, r.version_id, "
    "r.first_seen, r.last_seen, r.prev_poll, r.next_poll, coalesce(r.ttl_max_s, -1), r.count "
    "FROM run r JOIN series s ON s.id = r.series_id JOIN target tg ON tg.id = s.target_id "
    "JOIN collector c ON c.id = tg.collector_id WHERE tg.zone = ?1 AND tg.kind IN "
    "('provider', 'parent') AND (s.flags & 1) = 0 AND s.role IN ('dnskey', 'ds', 'ns', "
    "'referral', 'cds', 'cdnskey', 'csync', 'soa') AND r.version_id > 0 AND r.first_seen <= ?2 "
    "ORDER BY tg.id, s.role, s.id, r.first_seen";

static int load_timelines(trans_set_t *s, an_db_t *db)
{
	sqlite3_stmt *st = NULL;
	vers_cache_t *vc = NULL;
	char *buf = malloc(CONTENT_MAX);
	size_t *caps = NULL, caps_n = 0;
	int ret = OBS_ENOMEM;
	double spacing = 0, gaps = 0;
	if (buf == NULL || (ret = vers_cache_new(db, &vc)) != OBS_EOK)
		goto done;
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(an_db_sql(db), SQL_RUNS, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, s->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->at);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t target = sqlite3_column_int64(st, 0);
		const char *origin = (const char *)sqlite3_column_text(st, 1);
		const char *addr = (const char *)sqlite3_column_text(st, 2);
		const char *coll = (const char *)sqlite3_column_text(st, 3);
		obs_usec_t off = sqlite3_column_int64(st, 4);
		const char *role = (const char *)sqlite3_column_text(st, 5);
		int64_t vid = sqlite3_column_int64(st, 6);
		obs_usec_t first = sqlite3_column_int64(st, 7) - off;
		obs_usec_t last = sqlite3_column_int64(st, 8) - off;
		obs_usec_t lo = sqlite3_column_type(st, 9) == SQLITE_NULL
				    ? INT64_MIN
				    : sqlite3_column_int64(st, 9) - off;
		obs_usec_t hi = sqlite3_column_type(st, 10) == SQLITE_NULL
				    ? INT64_MAX
				    : sqlite3_column_int64(st, 10) - off;
		int64_t ttl = sqlite3_column_int64(st, 11);
		int64_t count = sqlite3_column_int64(st, 12);
		if (hi != INT64_MAX && hi > s->at)
			hi = INT64_MAX;
		if (last > s->at)
			last = s->at;
		if (count > 1 && last > first) {
			spacing += (double)(last - first);
			gaps += (double)(count - 1);
		}
		const vers_t *v = vers_get(vc, vid);
		if (v == NULL)
			continue;
		for (int pass = 0; pass < 2; pass++) {
			enum trans_class cls = trans_class_of(origin, role, pass == 1);
			if (cls == TC__N)
				continue;
			int cr = trans_content(v, cls, buf, CONTENT_MAX);
			if (cr != OBS_EOK && cr != OBS_ETOOBIG)
				continue; /* a malformed version: not a content change */
			const char *c = intern(s, buf);
			size_t before = s->tl_n;
			trans_timeline_t *t = timeline(s, target, origin, addr, coll, cls);
			if (c == NULL || t == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			if (s->tl_n != before) {
				if (grow((void **)&caps, &caps_n, s->tl_n, sizeof(*caps))) {
					ret = OBS_ENOMEM;
					goto done;
				}
				caps[s->tl_n - 1] = 0;
			}
			size_t idx = (size_t)(t - s->tl);
			if ((ret = seg_add(t, &caps[idx], c, lo, first, last, hi, vid, ttl)))
				goto done;
		}
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
	s->poll = gaps > 0 ? (obs_usec_t)(spacing / gaps) : 0;
done:
	sqlite3_finalize(st);
	vers_cache_free(vc);
	free(buf);
	free(caps);
	return ret;
}

/* provider servers whose last polls went unanswered: a "server" timeline answering/stopped */
static int load_stops(trans_set_t *s, an_db_t *db)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *q = NULL, *last = NULL, *next = NULL;
	int ret = OBS_ESQL;
	if (sqlite3_prepare_v2(
		sql,
		"SELECT s.id, tg.id, tg.origin, tg.address, c.name, "
		"c.clock_offset_us, (SELECT max(r.last_seen) FROM run r WHERE "
		"r.series_id = s.id AND r.first_seen <= ?2), (SELECT min(r.first_seen) "
		"FROM run r WHERE r.series_id = s.id) FROM series s JOIN target tg ON "
		"tg.id = s.target_id JOIN collector c ON c.id = tg.collector_id WHERE "
		"tg.zone = ?1 AND tg.kind = 'provider' AND s.role = 'soa' AND "
		"(s.flags & 1) = 0 ORDER BY tg.id",
		-1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql,
			       "SELECT t, status FROM observation WHERE series_id = ? AND t <= ? "
			       "ORDER BY t DESC LIMIT 1",
			       -1, &last, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql,
			       "SELECT min(t) FROM observation WHERE series_id = ? AND t > ? AND t "
			       "<= ?",
			       -1, &next, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(q, 1, s->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, s->at);
	const char *ans = intern(s, "answering"), *stop = intern(s, "stopped");
	if (ans == NULL || stop == NULL) {
		ret = OBS_ENOMEM;
		goto done;
	}
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_type(q, 6) == SQLITE_NULL)
			continue;
		int64_t series = sqlite3_column_int64(q, 0), target = sqlite3_column_int64(q, 1);
		obs_usec_t off = sqlite3_column_int64(q, 5);
		obs_usec_t last_ans = sqlite3_column_int64(q, 6);
		obs_usec_t first_ans = sqlite3_column_int64(q, 7);
		sqlite3_reset(last);
		sqlite3_bind_int64(last, 1, series);
		sqlite3_bind_int64(last, 2, s->at + off);
		bool stopped = false;
		obs_usec_t t_stop = 0;
		if (sqlite3_step(last) == SQLITE_ROW && sqlite3_column_int(last, 1) != 0 &&
		    sqlite3_column_int64(last, 0) > last_ans) {
			sqlite3_reset(next);
			sqlite3_bind_int64(next, 1, series);
			sqlite3_bind_int64(next, 2, last_ans);
			sqlite3_bind_int64(next, 3, s->at + off);
			if (sqlite3_step(next) == SQLITE_ROW &&
			    sqlite3_column_type(next, 0) != SQLITE_NULL) {
				stopped = true;
				t_stop = sqlite3_column_int64(next, 0);
			}
		}
		trans_timeline_t *t = timeline(s, target, (const char *)sqlite3_column_text(q, 2),
					       (const char *)sqlite3_column_text(q, 3),
					       (const char *)sqlite3_column_text(q, 4), TC_SERVER);
		if (t == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		size_t cap = 0;
		if (seg_add(t, &cap, ans, INT64_MIN, first_ans - off, last_ans - off,
			    stopped ? t_stop - off : INT64_MAX, 0, -1) ||
		    (stopped && seg_add(t, &cap, stop, last_ans - off, t_stop - off, s->at,
					INT64_MAX, 0, -1))) {
			ret = OBS_ENOMEM;
			goto done;
		}
	}
	ret = rc == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
done:
	sqlite3_finalize(q);
	sqlite3_finalize(last);
	sqlite3_finalize(next);
	return ret;
}

static int load_hosts(trans_set_t *s, an_db_t *db)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	if (sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT DISTINCT lower(host), origin FROM target WHERE zone = ? AND "
			       "kind = 'provider'",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, s->zone, -1, SQLITE_STATIC);
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		if ((ret = grow((void **)&s->hosts, &cap, s->hosts_n, sizeof(*s->hosts))))
			break;
		struct host *h = &s->hosts[s->hosts_n++];
		snprintf(h->host, sizeof(h->host), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(h->prov, sizeof(h->prov), "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return ret;
}

/* the provider of an NS host name ("?" when none) */
static const char *prov_of_name(const trans_set_t *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->hosts_n; i++)
		if (strlen(s->hosts[i].host) == len &&
		    strncasecmp(s->hosts[i].host, name, len) == 0)
			return s->hosts[i].prov;
	return "?";
}

/* the providers an NS content names, space-separated, into buf */
static void provs_named(const trans_set_t *s, const char *ns, char *buf, size_t blen)
{
	buf[0] = 0;
	const char *p = ns;
	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		const char *pr = prov_of_name(s, p, l);
		if (!items_has(buf, pr, strlen(pr))) {
			size_t o = strlen(buf);
			snprintf(buf + o, blen - o, "%s%s", o ? " " : "", pr);
		}
		p = e ? e + 1 : NULL;
	}
}

static struct prov *prov_get(trans_set_t *s, const char *name)
{
	for (size_t i = 0; i < s->provs_n; i++)
		if (strcmp(s->provs[i].name, name) == 0)
			return &s->provs[i];
	return NULL;
}

static int load_provs(trans_set_t *s)
{
	size_t cap = 0;
	for (size_t i = 0; i < s->tl_n; i++) {
		trans_timeline_t *t = &s->tl[i];
		if (strcmp(t->origin, "PARENT") == 0)
			continue;
		struct prov *p = prov_get(s, t->origin);
		if (p == NULL) {
			if (grow((void **)&s->provs, &cap, s->provs_n, sizeof(*s->provs)))
				return OBS_ENOMEM;
			p = &s->provs[s->provs_n++];
			memset(p, 0, sizeof(*p));
			snprintf(p->name, sizeof(p->name), "%s", t->origin);
			if (items_union(&p->zsk, "") || items_union(&p->ksk, ""))
				return OBS_ENOMEM;
		}
		if (t->cls != TC_DATA_SIG && t->cls != TC_DNSKEY_SIG)
			continue;
		for (size_t k = 0; k < t->segs_n; k++)
			if (items_union(t->cls == TC_DATA_SIG ? &p->zsk : &p->ksk,
					t->segs[k].content))
				return OBS_ENOMEM;
	}
	return OBS_EOK;
}

/* ---- events */

static int change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static bool tl_alive(const trans_timeline_t *t, obs_usec_t at)
{
	return t->segs_n && t->segs[0].first <= at &&
	       (t->segs[t->segs_n - 1].hi == INT64_MAX || t->segs[t->segs_n - 1].last >= at);
}

static int build_events(trans_set_t *s)
{
	struct change *ch = NULL;
	size_t n = 0, cap = 0, ecap = 0, ecap2 = 0, ecap3 = 0;
	int ret = OBS_ENOMEM;
	for (size_t i = 0; i < s->tl_n; i++) {
		for (size_t k = 1; k < s->tl[i].segs_n; k++) {
			if (s->tl[i].segs[k].content == s->tl[i].segs[k - 1].content)
				continue;
			if (grow((void **)&ch, &cap, n, sizeof(*ch)))
				goto done;
			ch[n++] = (struct change){i, k, s->tl[i].segs[k].first};
		}
	}
	if (n)
		qsort(ch, n, sizeof(*ch), change_cmp);
	for (size_t c = 0; c < n; c++) {
		const trans_timeline_t *t = &s->tl[ch[c].tl];
		const trans_seg_t *now = &t->segs[ch[c].seg], *was = &t->segs[ch[c].seg - 1];
		size_t e = SIZE_MAX;
		for (size_t j = s->ev_n; j-- > 0 && e == SIZE_MAX;) {
			trans_event_t *ev = &s->ev[j];
			if (ev->cls != t->cls || strcmp(ev->origin, t->origin) != 0 ||
			    strcmp(ev->after, now->content) != 0)
				continue;
			bool seen = false;
			for (size_t q = 0; q < s->ev_tls_n[j]; q++)
				seen |= s->ev_tls[j][q] == ch[c].tl;
			if (seen)
				break; /* this server already made this change: a new event */
			e = j;
		}
		if (e == SIZE_MAX) {
			if (grow((void **)&s->ev, &ecap, s->ev_n, sizeof(*s->ev)) ||
			    grow((void **)&s->ev_tls, &ecap2, s->ev_n, sizeof(*s->ev_tls)) ||
			    grow((void **)&s->ev_tls_n, &ecap3, s->ev_n, sizeof(*s->ev_tls_n)))
				goto done;
			e = s->ev_n++;
			trans_event_t *ev = &s->ev[e];
			memset(ev, 0, sizeof(*ev));
			s->ev_tls[e] = NULL;
			s->ev_tls_n[e] = 0;
			snprintf(ev->origin, sizeof(ev->origin), "%s", t->origin);
			ev->cls = t->cls;
			ev->before = strdup(was->content);
			ev->after = strdup(now->content);
			if (ev->before == NULL || ev->after == NULL)
				goto done;
			ev->added = items_diff(ev->after, ev->before);
			ev->removed = items_diff(ev->before, ev->after);
			if (ev->added == NULL || ev->removed == NULL)
				goto done;
			ev->lo = now->lo;
			ev->first = now->first;
			ev->all = now->first;
			ev->ttl_before_s = was->ttl_s;
			ev->ttl_after_s = now->ttl_s;
			ev->version_before = was->version_id;
			ev->version_after = now->version_id;
			ev->pickup = -1;
		}
		trans_event_t *ev = &s->ev[e];
		size_t *nt = realloc(s->ev_tls[e], (s->ev_tls_n[e] + 1) * sizeof(*nt));
		if (nt == NULL)
			goto done;
		s->ev_tls[e] = nt;
		nt[s->ev_tls_n[e]++] = ch[c].tl;
		ev->servers_done++;
		if (now->first > ev->all)
			ev->all = now->first;
		if (was->ttl_s > ev->ttl_before_s)
			ev->ttl_before_s = was->ttl_s;
		if (now->ttl_s > ev->ttl_after_s)
			ev->ttl_after_s = now->ttl_s;
	}
	/* every server of the origin still answering at the first sighting must follow */
	for (size_t e = 0; e < s->ev_n; e++) {
		trans_event_t *ev = &s->ev[e];
		size_t alive = 0;
		for (size_t i = 0; i < s->tl_n; i++)
			if (s->tl[i].cls == ev->cls && strcmp(s->tl[i].origin, ev->origin) == 0 &&
			    tl_alive(&s->tl[i], ev->first))
				alive++;
		ev->servers = alive > ev->servers_done ? alive : ev->servers_done;
		if (ev->servers_done < ev->servers)
			ev->all = INT64_MAX;
	}
	ret = OBS_EOK;
done:
	free(ch);
	return ret;
}

/* the segment of timeline t that contains instant x, or NULL */
static const trans_seg_t *seg_at(const trans_timeline_t *t, obs_usec_t x)
{
	for (size_t k = t->segs_n; k-- > 0;)
		if (t->segs[k].first <= x)
			return t->segs[k].hi == INT64_MAX || x < t->segs[k].hi ? &t->segs[k] : NULL;
	return NULL;
}

/* the instant from which every provider server served `want` in class cls continuously up to
 * x (INT64_MIN: not every server did) */
static obs_usec_t consistent_since(const trans_set_t *s, enum trans_class cls, const char *want,
				   obs_usec_t x, bool nonempty)
{
	obs_usec_t since = INT64_MIN;
	size_t n = 0;
	for (size_t i = 0; i < s->tl_n; i++) {
		const trans_timeline_t *t = &s->tl[i];
		if (t->cls != cls || strcmp(t->origin, "PARENT") == 0 || !tl_alive(t, x))
			continue;
		const trans_seg_t *g = seg_at(t, x);
		if (g == NULL || (want && strcmp(g->content, want) != 0) ||
		    (nonempty && g->content[0] == 0))
			return INT64_MIN;
		if (g->first > since)
			since = g->first;
		n++;
	}
	return n ? since : INT64_MIN;
}

static void pickups(trans_set_t *s)
{
	for (size_t e = 0; e < s->ev_n; e++) {
		trans_event_t *ev = &s->ev[e];
		if (strcmp(ev->origin, "PARENT") != 0 || ev->all == INT64_MAX)
			continue;
		obs_usec_t x = ev->first - 1, since = INT64_MIN;
		if (ev->cls == TC_DS) {
			since = consistent_since(s, TC_CDS, ev->after, x, false);
			if (since == INT64_MIN)
				since = consistent_since(s, TC_CDNSKEY, ev->after, x, false);
		} else if (ev->cls == TC_NS_REF) {
			obs_usec_t a = consistent_since(s, TC_CSYNC, NULL, x, true);
			obs_usec_t b = consistent_since(s, TC_NS_APEX, ev->after, x, false);
			since = a == INT64_MIN || b == INT64_MIN ? INT64_MIN : (a > b ? a : b);
		}
		if (since != INT64_MIN && ev->all >= since)
			ev->pickup = ev->all - since;
	}
}

/* ---- transitions */

static trans_t *tr_new(trans_set_t *s, enum trans_kind kind)
{
	size_t cap = s->tr_cap;
	if (grow((void **)&s->tr, &cap, s->tr_n, sizeof(*s->tr)))
		return NULL;
	s->tr_cap = cap;
	trans_t *t = &s->tr[s->tr_n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	if (items_union(&t->keys_old, "") || items_union(&t->keys_new, "")) {
		s->tr_n--;
		free(t->keys_old);
		free(t->keys_new);
		return NULL;
	}
	return t;
}

static int tr_add_event(trans_t *t, size_t e)
{
	for (size_t i = 0; i < t->events_n; i++)
		if (t->events[i] == e)
			return OBS_EOK;
	size_t *n = realloc(t->events, (t->events_n + 1) * sizeof(*n));
	if (n == NULL)
		return OBS_ENOMEM;
	t->events = n;
	n[t->events_n++] = e;
	return OBS_EOK;
}

static void tr_add_prov(trans_t *t, const char *p)
{
	if (!items_has(t->providers, p, strlen(p))) {
		size_t o = strlen(t->providers);
		snprintf(t->providers + o, sizeof(t->providers) - o, "%s%s", o ? " " : "", p);
	}
}

static bool key_class(enum trans_class c)
{
	return c == TC_DNSKEY || c == TC_DS || c == TC_CDS || c == TC_CDNSKEY;
}

/* A rollover at provider p in one role (data or DNSKEY signers): a run of signer events from
 * the first that adds a key to the first that removes one. */
struct roll {
	char prov[64];
	enum trans_class role;
	char *new_keys, *old_keys;
	obs_usec_t first, last;
	bool closed;
	bool merged; /* folded into another roll */
	bool both;   /* new key in both roles: CSK */
};

static int find_rolls(trans_set_t *s, struct roll **out, size_t *out_n)
{
	struct roll *r = NULL;
	size_t n = 0, cap = 0;
	for (size_t p = 0; p < s->provs_n; p++) {
		for (int role = 0; role < 2; role++) {
			enum trans_class cls = role ? TC_DNSKEY_SIG : TC_DATA_SIG;
			struct roll *cur = NULL;
			for (size_t e = 0; e < s->ev_n; e++) {
				trans_event_t *ev = &s->ev[e];
				if (ev->cls != cls || strcmp(ev->origin, s->provs[p].name) != 0)
					continue;
				if (cur == NULL && ev->added[0]) {
					if (grow((void **)&r, &cap, n, sizeof(*r)))
						goto fail;
					cur = &r[n++];
					memset(cur, 0, sizeof(*cur));
					snprintf(cur->prov, sizeof(cur->prov), "%s", ev->origin);
					cur->role = cls;
					cur->first = ev->first;
				}
				if (cur == NULL)
					continue;
				if (items_union(&cur->new_keys, ev->added) ||
				    items_union(&cur->old_keys, ev->removed))
					goto fail;
				cur->last = ev->first;
				if (ev->removed[0]) {
					cur->closed = true;
					cur = NULL;
				}
			}
		}
	}
	*out = r;
	*out_n = n;
	return OBS_EOK;
fail:
	for (size_t i = 0; i < n; i++) {
		free(r[i].new_keys);
		free(r[i].old_keys);
	}
	free(r);
	return OBS_ENOMEM;
}

static bool alg_change(const char *newk, const char *oldk)
{
	uint64_t a[4], b[4];
	algs_of(newk, a);
	algs_of(oldk, b);
	bool an = false, bn = false, meet = false;
	for (int i = 0; i < 4; i++) {
		an |= a[i] != 0;
		bn |= b[i] != 0;
		meet |= (a[i] & b[i]) != 0;
	}
	return an && bn && !meet;
}

static int roll_merge(struct roll *into, struct roll *from)
{
	if (items_union(&into->new_keys, from->new_keys) ||
	    items_union(&into->old_keys, from->old_keys))
		return OBS_ENOMEM;
	if (from->first < into->first)
		into->first = from->first;
	if (from->last > into->last)
		into->last = from->last;
	into->closed = into->closed && from->closed;
	from->merged = true;
	return OBS_EOK;
}

/* is event e part of a rollover with these providers and keys? */
static bool roll_claims(const trans_set_t *s, const trans_event_t *ev, const char *provs,
			const char *newk, const char *oldk)
{
	if (ev->cls == TC_DATA_SIG || ev->cls == TC_DNSKEY_SIG)
		return items_has(provs, ev->origin, strlen(ev->origin)) &&
		       (items_meet(ev->added, newk) || items_meet(ev->removed, oldk));
	(void)s;
	if (!key_class(ev->cls))
		return false;
	/* a CDS / CDNSKEY withdrawn after the parent acted names the new key too (K5, D5) */
	if ((ev->cls == TC_CDS || ev->cls == TC_CDNSKEY) && items_meet(ev->removed, newk))
		return true;
	return items_meet(ev->added, newk) || items_meet(ev->removed, oldk);
}

static int rollovers(trans_set_t *s, bool *claimed)
{
	struct roll *r = NULL;
	size_t n = 0;
	int ret = find_rolls(s, &r, &n);
	if (ret)
		return ret;
	ret = OBS_ENOMEM;
	/* one provider: a key new in both roles is a CSK; two algorithm changes are one (their
	 * spans compared with a slack of two poll periods, one change may show a poll later) */
	obs_usec_t slack = 2 * (s->poll > 0 ? s->poll : OBS_USEC_PER_SEC);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n && !r[i].merged; j++) {
			if (r[j].merged || strcmp(r[i].prov, r[j].prov) != 0 ||
			    r[i].role == r[j].role)
				continue;
			bool csk = items_meet(r[i].new_keys, r[j].new_keys);
			bool alg = alg_change(r[i].new_keys, r[i].old_keys) &&
				   alg_change(r[j].new_keys, r[j].old_keys) &&
				   r[i].first <= r[j].last + slack &&
				   r[j].first <= r[i].last + slack;
			if (csk || alg) {
				if (roll_merge(&r[i], &r[j]))
					goto done;
				r[i].both = csk;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].merged)
			continue;
		enum trans_kind kind;
		if (alg_change(r[i].new_keys, r[i].old_keys))
			kind = TK_ALG_ROLL;
		else if (r[i].both)
			kind = TK_CSK_ROLL;
		else
			kind = r[i].role == TC_DATA_SIG ? TK_ZSK_ROLL : TK_KSK_ROLL;
		/* an algorithm rollover of several providers at once is one transition */
		trans_t *t = NULL;
		if (kind == TK_ALG_ROLL) {
			uint64_t na[4], oa[4];
			algs_of(r[i].new_keys, na);
			algs_of(r[i].old_keys, oa);
			for (size_t k = 0; k < s->tr_n && t == NULL; k++) {
				trans_t *o = &s->tr[k];
				uint64_t nb[4], ob[4];
				algs_of(o->keys_new, nb);
				algs_of(o->keys_old, ob);
				if (o->kind == TK_ALG_ROLL && memcmp(na, nb, sizeof(na)) == 0 &&
				    memcmp(oa, ob, sizeof(oa)) == 0 &&
				    r[i].first <= o->last + slack && o->first <= r[i].last + slack)
					t = o;
			}
		}
		if (t == NULL) {
			if ((t = tr_new(s, kind)) == NULL)
				goto done;
			t->first = r[i].first;
			t->last = r[i].last;
			t->complete = true;
		}
		if (r[i].first < t->first)
			t->first = r[i].first;
		if (r[i].last > t->last)
			t->last = r[i].last;
		t->complete = t->complete && r[i].closed;
		tr_add_prov(t, r[i].prov);
		if (items_union(&t->keys_new, r[i].new_keys) ||
		    items_union(&t->keys_old, r[i].old_keys))
			goto done;
	}
	for (size_t k = 0; k < s->tr_n; k++) {
		trans_t *t = &s->tr[k];
		for (size_t e = 0; e < s->ev_n; e++) {
			if (roll_claims(s, &s->ev[e], t->providers, t->keys_new, t->keys_old)) {
				if (tr_add_event(t, e))
					goto done;
				claimed[e] = true;
			}
		}
	}
	ret = OBS_EOK;
done:
	for (size_t i = 0; i < n; i++) {
		free(r[i].new_keys);
		free(r[i].old_keys);
	}
	free(r);
	return ret;
}

/* keys of provider p as signer (both roles) */
static const char *keys_zsk(trans_set_t *s, const char *p)
{
	struct prov *pr = prov_get(s, p);
	return pr ? pr->zsk : "";
}
static const char *keys_ksk(trans_set_t *s, const char *p)
{
	struct prov *pr = prov_get(s, p);
	return pr ? pr->ksk : "";
}

/* does NS list l name provider p? */
static bool names_prov(const trans_set_t *s, const char *l, const char *p)
{
	const char *q = l;
	while (q && *q) {
		const char *e = strchr(q, ' ');
		size_t len = e ? (size_t)(e - q) : strlen(q);
		if (strcmp(prov_of_name(s, q, len), p) == 0)
			return true;
		q = e ? e + 1 : NULL;
	}
	return false;
}

static bool join_claims(trans_set_t *s, const trans_event_t *ev, const char *p)
{
	switch (ev->cls) {
	case TC_NS_APEX:
	case TC_NS_REF:
		return names_prov(s, ev->added, p);
	case TC_DNSKEY:
		return strcmp(ev->origin, p) != 0 && (items_meet(ev->added, keys_zsk(s, p)) ||
						      items_meet(ev->added, keys_ksk(s, p)));
	case TC_DS:
	case TC_CDS:
	case TC_CDNSKEY:
		return items_meet(ev->added, keys_ksk(s, p));
	case TC_CSYNC:
		return true;
	default:
		return false;
	}
}

static bool leave_claims(trans_set_t *s, const trans_event_t *ev, const char *p)
{
	switch (ev->cls) {
	case TC_NS_APEX:
	case TC_NS_REF:
		return names_prov(s, ev->removed, p);
	case TC_SERVER:
		return strcmp(ev->origin, p) == 0 && strcmp(ev->after, "stopped") == 0;
	case TC_DNSKEY:
		return strcmp(ev->origin, p) != 0 && (items_meet(ev->removed, keys_zsk(s, p)) ||
						      items_meet(ev->removed, keys_ksk(s, p)));
	case TC_DS:
	case TC_CDS:
	case TC_CDNSKEY:
		return items_meet(ev->removed, keys_ksk(s, p));
	case TC_CSYNC:
		return true;
	default:
		return false;
	}
}

struct membership {
	size_t ref; /* the referral event */
	size_t tr;  /* the transition */
	char prov[64];
	bool join;
	size_t before, after; /* number of providers named before / after */
};

static int providers(trans_set_t *s, bool *claimed)
{
	size_t *refs = NULL, nref = 0;
	struct membership *m = NULL;
	size_t mn = 0, mcap = 0;
	int ret = OBS_ENOMEM;
	refs = calloc(s->ev_n + 1, sizeof(*refs));
	if (refs == NULL)
		goto done;
	for (size_t e = 0; e < s->ev_n; e++)
		if (s->ev[e].cls == TC_NS_REF)
			refs[nref++] = e;
	for (size_t r = 0; r < nref; r++) {
		const trans_event_t *ref = &s->ev[refs[r]];
		char pb[256], pa[256];
		provs_named(s, ref->before, pb, sizeof(pb));
		provs_named(s, ref->after, pa, sizeof(pa));
		/* the window: since the previous referral change (at most `window` before), up to
		 * the next one (at most `window` after) */
		obs_usec_t prev = r ? s->ev[refs[r - 1]].first : INT64_MIN;
		obs_usec_t next = r + 1 < nref ? s->ev[refs[r + 1]].first : INT64_MAX;
		if (prev < ref->first - s->window)
			prev = ref->first - s->window;
		if (next > ref->first + s->window)
			next = ref->first + s->window;
		obs_usec_t end = (ref->all == INT64_MAX ? ref->first : ref->all) + s->poll;
		size_t nb = 0, na = 0;
		for (const char *q = pb; *q; q++)
			nb += q == pb || q[-1] == ' ';
		for (const char *q = pa; *q; q++)
			na += q == pa || q[-1] == ' ';
		for (int join = 1; join >= 0; join--) {
			const char *from = join ? pa : pb, *other = join ? pb : pa;
			const char *p = from;
			while (p && *p) {
				const char *e = strchr(p, ' ');
				size_t l = e ? (size_t)(e - p) : strlen(p);
				char name[64];
				snprintf(name, sizeof(name), "%.*s", (int)l, p);
				p = e ? e + 1 : NULL;
				if (items_has(other, name, strlen(name)) || strcmp(name, "?") == 0)
					continue;
				trans_t *t = tr_new(s, join ? TK_JOIN : TK_LEAVE);
				if (t == NULL)
					goto done;
				tr_add_prov(t, name);
				for (size_t k = 0; k < s->ev_n; k++) {
					const trans_event_t *ev = &s->ev[k];
					bool in = join ? ev->first > prev && ev->first <= end
						       : ev->first > prev && ev->first < next;
					if (k == refs[r] ||
					    (in && (join ? join_claims(s, ev, name)
							 : leave_claims(s, ev, name)))) {
						if (tr_add_event(t, k))
							goto done;
						claimed[k] = true;
					}
				}
				if (grow((void **)&m, &mcap, mn, sizeof(*m)))
					goto done;
				m[mn] = (struct membership){.ref = r,
							    .tr = s->tr_n - 1,
							    .join = join,
							    .before = nb,
							    .after = na};
				snprintf(m[mn].prov, sizeof(m[mn].prov), "%s", name);
				mn++;
			}
		}
	}
	/* a join followed (at the same or the next referral change) by a leave that restores the
	 * number of providers: a transfer */
	for (size_t i = 0; i < mn; i++) {
		if (!m[i].join || s->tr[m[i].tr].kind != TK_JOIN)
			continue;
		for (size_t j = 0; j < mn; j++) {
			if (m[j].join || s->tr[m[j].tr].kind != TK_LEAVE ||
			    (m[j].ref != m[i].ref && m[j].ref != m[i].ref + 1) ||
			    m[i].before != m[j].after || strcmp(m[i].prov, m[j].prov) == 0)
				continue;
			trans_t *t = &s->tr[m[i].tr], *l = &s->tr[m[j].tr];
			t->kind = TK_TRANSFER;
			t->method = m[j].ref == m[i].ref ? "hard-cutover" : "multi-signer";
			t->providers[0] = 0;
			tr_add_prov(t, m[j].prov);
			tr_add_prov(t, m[i].prov);
			for (size_t k = 0; k < l->events_n; k++)
				if (tr_add_event(t, l->events[k]))
					goto done;
			l->kind = TK__N; /* dropped below */
			break;
		}
	}
	size_t w = 0;
	for (size_t i = 0; i < s->tr_n; i++) {
		if (s->tr[i].kind == TK__N) {
			free(s->tr[i].keys_old);
			free(s->tr[i].keys_new);
			free(s->tr[i].events);
			continue;
		}
		s->tr[w++] = s->tr[i];
	}
	s->tr_n = w;
	ret = OBS_EOK;
done:
	free(refs);
	free(m);
	return ret;
}

static enum trans_kind standalone_kind(enum trans_class c)
{
	switch (c) {
	case TC_DS:
		return TK_DS_CHANGE;
	case TC_CDS:
		return TK_CDS_PUB;
	case TC_CDNSKEY:
		return TK_CDNSKEY_PUB;
	case TC_NS_APEX:
	case TC_NS_REF:
		return TK_NS_CHANGE;
	case TC_CSYNC:
		return TK_CSYNC_PUB;
	case TC_DNSKEY:
		return TK_DNSKEY_CHANGE;
	case TC_SERVER:
		return TK_SERVER_STOP;
	default:
		return TK_SIGNER_CHANGE;
	}
}

/* families whose changes of the same items form one transition: DS with CDS/CDNSKEY, NS apex
 * with referral */
static int family(enum trans_class c)
{
	return c == TC_DS || c == TC_CDS || c == TC_CDNSKEY ? 1
	       : c == TC_NS_APEX || c == TC_NS_REF          ? 2
							    : 10 + (int)c;
}

static int standalone(trans_set_t *s, const bool *claimed)
{
	size_t first_new = s->tr_n;
	for (size_t e = 0; e < s->ev_n; e++) {
		const trans_event_t *ev = &s->ev[e];
		if (claimed[e] || (ev->cls == TC_SERVER && strcmp(ev->after, "stopped") != 0))
			continue;
		trans_t *t = NULL;
		for (size_t k = s->tr_n; k-- > first_new && t == NULL;) {
			trans_t *o = &s->tr[k];
			const trans_event_t *l = &s->ev[o->events[o->events_n - 1]];
			if (family(l->cls) == family(ev->cls) && strcmp(l->added, ev->added) == 0 &&
			    strcmp(l->removed, ev->removed) == 0 &&
			    ev->first - l->first <= s->group_gap)
				t = o;
		}
		if (t == NULL && (t = tr_new(s, standalone_kind(ev->cls))) == NULL)
			return OBS_ENOMEM;
		if (ev->cls == TC_DS || ev->cls == TC_NS_REF)
			t->kind =
			    standalone_kind(ev->cls); /* a DS / NS change wins over the signal */
		if (strcmp(ev->origin, "PARENT") != 0)
			tr_add_prov(t, ev->origin);
		if (tr_add_event(t, e))
			return OBS_ENOMEM;
		if (key_class(ev->cls) && (items_union(&t->keys_new, ev->added) ||
					   items_union(&t->keys_old, ev->removed)))
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

/* ---- phases: names, then the gate table */

static bool is_in(const char *list, const char *item)
{
	return items_has(list, item, strlen(item));
}

static const char *phase_name(const trans_set_t *s, const trans_t *t, const trans_event_t *ev)
{
	(void)s;
	bool roll = t->kind <= TK_ALG_ROLL;
	bool add = ev->added[0] != 0, rem = ev->removed[0] != 0;
	if (roll) {
		add = items_meet(ev->added, t->keys_new);
		rem = items_meet(ev->removed, t->keys_old);
	}
	switch (ev->cls) {
	case TC_DNSKEY:
		if (!roll)
			return add && rem ? "dnskey-swap"
			       : add      ? "import"
			       : rem      ? "unimport"
					  : "dnskey";
		if (add && rem)
			return "swap";
		if (add)
			return is_in(t->providers, ev->origin) ? "publish" : "import";
		return "withdraw";
	case TC_DNSKEY_SIG:
		if (t->kind == TK_ALG_ROLL)
			return add && !rem ? "sign-both" : add ? "swap" : "withdraw";
		return add && rem ? "swap" : add ? "publish" : "withdraw";
	case TC_DATA_SIG:
		return add && rem ? "sign" : add ? "sign-both" : "unsign";
	case TC_DS:
		return add && rem ? "ds-swap" : add ? "ds-add" : "ds-remove";
	case TC_CDS:
	case TC_CDNSKEY:
		if (strcmp(ev->after, "delete") == 0)
			return "cds-delete";
		return add && rem ? "cds-swap" : add ? "cds-add" : "cds-remove";
	case TC_NS_APEX:
		return add && rem ? "ns-swap" : add ? "ns-add" : "ns-del";
	case TC_NS_REF:
		return add && rem ? "parent-ns-swap" : add ? "parent-ns-add" : "parent-ns-del";
	case TC_CSYNC:
		return ev->after[0] ? "csync" : "csync-remove";
	case TC_SERVER:
		return "stop";
	default:
		return "change";
	}
}

#define K_ROLL (1u << TK_ZSK_ROLL | 1u << TK_KSK_ROLL | 1u << TK_CSK_ROLL | 1u << TK_ALG_ROLL)
#define K_ZC   (1u << TK_ZSK_ROLL | 1u << TK_CSK_ROLL)
#define K_KC   (1u << TK_KSK_ROLL | 1u << TK_CSK_ROLL)
#define K_KCA  (K_KC | 1u << TK_ALG_ROLL)
#define K_JT   (1u << TK_JOIN | 1u << TK_TRANSFER)
#define K_LT   (1u << TK_LEAVE | 1u << TK_TRANSFER)

/* The gate table (reference §4, observed form): a phase of a transition of these kinds must
 * wait, after each earlier gate phase is served everywhere, for the largest TTL of what the
 * gate phase replaced. */
static const struct gate {
	const char *phase;
	unsigned kinds;
	const char *gates[5];
	const char *why;
} gate_table[] = {
    {"sign", K_ZC, {"publish", "import"}, "DNSKEY_WAIT (P3 Z3, P6 C3a)"},
    {"withdraw", K_ZC, {"sign"}, "SIG_WAIT (P3 Z4)"},
    {"unsign", K_ZC, {"publish", "import"}, "DNSKEY_WAIT (double-signature)"},
    {"withdraw", K_KCA, {"ds-swap", "ds-add"}, "DS_WAIT (P4 K4, P5 G5)"},
    {"swap", K_KC, {"ds-add"}, "DS_WAIT (P4 D3)"},
    {"ds-swap", K_KCA, {"publish", "import", "sign-both"}, "IpubC (P4 K2, P5 G3)"},
    {"cds-swap", K_KCA, {"publish", "import", "sign-both"}, "IpubC (P4 K2)"},
    {"ds-add", K_KC, {"publish"}, "IpubC (double-RRset)"},
    {"ds-remove", K_KC, {"swap", "withdraw"}, "DNSKEY_WAIT (P4 D4)"},
    {"cds-remove", K_KC, {"swap", "withdraw"}, "DNSKEY_WAIT (P4 D4)"},
    {"publish", 1u << TK_ALG_ROLL, {"sign-both"}, "SIG_WAIT, STRICT (P5 G2)"},
    {"unsign", 1u << TK_ALG_ROLL, {"withdraw"}, "DNSKEY_WAIT, STRICT (P5 G6)"},
    {"ns-add", K_JT, {"import", "ds-add", "ds-swap"}, "max(DS_WAIT, DNSKEY_WAIT) (P1 J5)"},
    {"ns-swap", K_JT, {"import", "ds-add", "ds-swap"}, "max(DS_WAIT, DNSKEY_WAIT) (P1 J5)"},
    {"parent-ns-add", K_JT, {"import", "ds-add", "ds-swap"}, "max(DS_WAIT, DNSKEY_WAIT) (J5-J7)"},
    {"parent-ns-swap", K_JT, {"import", "ds-add", "ds-swap"}, "max(DS_WAIT, DNSKEY_WAIT)"},
    {"ds-swap", K_LT, {"ns-del", "parent-ns-del", "ns-swap", "parent-ns-swap"}, "NS_WAIT (P2 L6)"},
    {"stop", K_LT, {"ns-del", "parent-ns-del", "ns-swap", "parent-ns-swap"}, "NS_WAIT (P2 L5)"},
    {"unimport", K_LT, {"ns-del", "parent-ns-del"}, "NS_WAIT, M1 (P2 L7)"},
    {"ds-remove", K_LT, {"ns-del", "parent-ns-del"}, "NS_WAIT, M1 (P2 L6)"},
    {"cds-remove", K_LT, {"ns-del", "parent-ns-del"}, "NS_WAIT, M1 (P2 L6)"},
};

static int phase_cmp(const void *a, const void *b)
{
	const trans_phase_t *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int phases(trans_set_t *s, trans_t *t)
{
	for (size_t i = 0; i < t->events_n; i++) {
		const trans_event_t *ev = &s->ev[t->events[i]];
		const char *name = phase_name(s, t, ev);
		trans_phase_t *ph = NULL;
		for (size_t k = 0; k < t->phases_n && ph == NULL; k++)
			if (strcmp(t->phases[k].name, name) == 0)
				ph = &t->phases[k];
		if (ph == NULL) {
			trans_phase_t *n = realloc(t->phases, (t->phases_n + 1) * sizeof(*n));
			if (n == NULL)
				return OBS_ENOMEM;
			t->phases = n;
			ph = &n[t->phases_n++];
			memset(ph, 0, sizeof(*ph));
			ph->name = name;
			ph->first = ev->first;
			ph->all = ev->all;
			ph->waited = ph->needed = -1;
		}
		size_t *ne = realloc(ph->events, (ph->events_n + 1) * sizeof(*ne));
		if (ne == NULL)
			return OBS_ENOMEM;
		ph->events = ne;
		ne[ph->events_n++] = t->events[i];
		if (ev->first < ph->first)
			ph->first = ev->first;
		if (ev->all > ph->all)
			ph->all = ev->all;
	}
	if (t->phases_n)
		qsort(t->phases, t->phases_n, sizeof(*t->phases), phase_cmp);
	for (size_t k = 0; k < t->phases_n; k++) {
		trans_phase_t *ph = &t->phases[k];
		for (size_t g = 0; g < sizeof(gate_table) / sizeof(gate_table[0]); g++) {
			const struct gate *gt = &gate_table[g];
			if (strcmp(gt->phase, ph->name) != 0 || !(gt->kinds & (1u << t->kind)))
				continue;
			/* a gate phase seen only after this one: the step came first (early) */
			for (size_t j = 0; j < t->phases_n; j++) {
				const trans_phase_t *gp = &t->phases[j];
				bool is_gate = false;
				for (size_t q = 0; q < 5 && gt->gates[q]; q++)
					is_gate |= strcmp(gt->gates[q], gp->name) == 0;
				if (!is_gate || j == k)
					continue;
				obs_usec_t done = gp->all == INT64_MAX ? gp->first : gp->all;
				obs_usec_t waited = ph->first - done;
				int64_t ttl = -1;
				for (size_t q = 0; q < gp->events_n; q++)
					if (s->ev[gp->events[q]].ttl_before_s > ttl)
						ttl = s->ev[gp->events[q]].ttl_before_s;
				obs_usec_t needed = ttl < 0 ? -1 : ttl * OBS_USEC_PER_SEC;
				/* the binding gate: the one that leaves the least slack */
				obs_usec_t slack = needed < 0 ? INT64_MAX : waited - needed;
				obs_usec_t old = ph->gate == NULL ? INT64_MAX
						 : ph->needed < 0 ? INT64_MAX
								  : ph->waited - ph->needed;
				if (ph->gate == NULL || slack < old) {
					ph->gate = gp->name;
					ph->waited = waited;
					ph->needed = needed;
				}
			}
		}
		ph->early = ph->gate && ph->needed >= 0 && ph->waited < ph->needed;
		t->early_steps += ph->early;
	}
	return OBS_EOK;
}

static const char *method_of(const trans_t *t)
{
	const trans_phase_t *sign = NULL, *both = NULL, *pub = NULL, *dsadd = NULL, *dsswap = NULL,
			    *dsrem = NULL;
	for (size_t k = 0; k < t->phases_n; k++) {
		const trans_phase_t *p = &t->phases[k];
		if (strcmp(p->name, "sign") == 0)
			sign = p;
		else if (strcmp(p->name, "sign-both") == 0)
			both = p;
		else if (strcmp(p->name, "publish") == 0 || strcmp(p->name, "import") == 0)
			pub = pub ? pub : p;
		else if (strcmp(p->name, "ds-add") == 0)
			dsadd = p;
		else if (strcmp(p->name, "ds-swap") == 0)
			dsswap = p;
		else if (strcmp(p->name, "ds-remove") == 0)
			dsrem = p;
	}
	switch (t->kind) {
	case TK_ZSK_ROLL:
		if (both)
			return "double-signature";
		return sign && pub ? "pre-publish" : NULL;
	case TK_KSK_ROLL:
	case TK_CSK_ROLL:
		if (dsswap)
			return "double-ksk";
		if (dsadd && (pub == NULL || dsadd->first < pub->first))
			return "double-ds";
		if (dsadd && dsrem)
			return "double-rrset";
		return NULL;
	case TK_ALG_ROLL:
		return both && pub && both->first < pub->first ? "conservative" : "liberal";
	default:
		return t->method;
	}
}

static int finish(trans_set_t *s)
{
	for (size_t i = 0; i < s->tr_n; i++) {
		trans_t *t = &s->tr[i];
		t->lo = INT64_MAX;
		t->first = INT64_MAX;
		t->last = INT64_MIN;
		t->propagation = 0;
		t->pickup = -1;
		bool all = true;
		for (size_t k = 0; k < t->events_n; k++) {
			const trans_event_t *ev = &s->ev[t->events[k]];
			if (ev->lo < t->lo)
				t->lo = ev->lo;
			if (ev->first < t->first)
				t->first = ev->first;
			if (ev->all == INT64_MAX)
				all = false;
			else if (ev->all > t->last)
				t->last = ev->all;
			if (ev->all != INT64_MAX && ev->all - ev->first > t->propagation)
				t->propagation = ev->all - ev->first;
			if (ev->pickup > t->pickup)
				t->pickup = ev->pickup;
		}
		if (!all) {
			t->last = INT64_MAX;
			t->propagation = -1;
		}
		bool roll = t->kind <= TK_ALG_ROLL;
		t->complete = all && (!roll || t->keys_old[0]);
		int ret = phases(s, t);
		if (ret)
			return ret;
		t->method = method_of(t);
	}
	return OBS_EOK;
}

static int tr_cmp(const void *a, const void *b)
{
	const trans_t *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int ev_sort(const trans_set_t *s, trans_t *t)
{
	/* events of a transition in time order (insertion sort: few events) */
	for (size_t i = 1; i < t->events_n; i++) {
		size_t e = t->events[i], j = i;
		while (j > 0 && s->ev[t->events[j - 1]].first > s->ev[e].first) {
			t->events[j] = t->events[j - 1];
			j--;
		}
		t->events[j] = e;
	}
	return OBS_EOK;
}

int trans_run(an_db_t *db, const char *zone, obs_usec_t at, const trans_opts_t *opts,
	      trans_set_t **out)
{
	*out = NULL;
	trans_set_t *s = calloc(1, sizeof(*s));
	bool *claimed = NULL;
	if (s == NULL)
		return OBS_ENOMEM;
	snprintf(s->zone, sizeof(s->zone), "%s", zone);
	s->at = at;
	s->group_gap = opts && opts->group_gap > 0 ? opts->group_gap : 600 * OBS_USEC_PER_SEC;
	s->window = opts && opts->window > 0 ? opts->window : 7 * 86400 * OBS_USEC_PER_SEC;
	int ret;
	if ((ret = load_hosts(s, db)) || (ret = load_timelines(s, db)) ||
	    (ret = load_stops(s, db)) || (ret = load_provs(s)) || (ret = build_events(s)))
		goto fail;
	pickups(s);
	ret = OBS_ENOMEM;
	if ((claimed = calloc(s->ev_n + 1, sizeof(*claimed))) == NULL)
		goto fail;
	if ((ret = rollovers(s, claimed)) || (ret = providers(s, claimed)) ||
	    (ret = standalone(s, claimed)))
		goto fail;
	for (size_t i = 0; i < s->tr_n; i++)
		ev_sort(s, &s->tr[i]);
	if ((ret = finish(s)))
		goto fail;
	if (s->tr_n)
		qsort(s->tr, s->tr_n, sizeof(*s->tr), tr_cmp);
	free(claimed);
	*out = s;
	return OBS_EOK;
fail:
	free(claimed);
	trans_free(s);
	return ret;
}
