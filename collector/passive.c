/* SPDX-License-Identifier: MIT */
#include <ldns/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "answer.h"
#include "guard.h"
#include "hmap.h"
#include "obs_err.h"
#include "passive.h"
#include "probe.h"

#define PAS_BUCKETS     16384 /* power of two */
#define PAS_SERIES_MEMO 100000

struct pending {
	struct pending *next_hash;
	struct pending *older, *newer; /* capture-time order */
	uint64_t key;
	obs_usec_t t;
	uint8_t family;
	uint8_t client[16], server[16];
	uint16_t cport, sport, id, qtype;
	unsigned flags; /* PROBE_* */
	uint8_t transport;
	char qname[256];
};

struct pas {
	obs_store_t *store;
	const obs_config_t *cfg;
	struct pending *buckets[PAS_BUCKETS];
	struct pending *oldest, *newest;
	size_t pending_n;
	obs_hmap_t series; /* digest of (client, server, zone, question, flags) -> series id */
	pas_stats_t st;
};

int pas_new(obs_store_t *store, const obs_config_t *cfg, pas_t **out)
{
	pas_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return OBS_ENOMEM;
	p->store = store;
	p->cfg = cfg;
	if (obs_hmap_init(&p->series, PAS_SERIES_MEMO) != OBS_EOK) {
		free(p);
		return OBS_ENOMEM;
	}
	*out = p;
	return OBS_EOK;
}

static uint64_t key_of(uint8_t family, const uint8_t *client, uint16_t cport, const uint8_t *server,
		       uint16_t sport, uint16_t id, uint16_t qtype, const char *qname)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a over the tuple */
	size_t alen = family == 6 ? 16 : 4;
	const uint8_t *parts[2] = {client, server};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < alen; i++)
			h = (h ^ parts[k][i]) * 1099511628211u;
	}
	uint16_t nums[4] = {cport, sport, id, qtype};
	for (int k = 0; k < 4; k++)
		h = ((h ^ (nums[k] & 0xff)) * 1099511628211u ^ (nums[k] >> 8)) * 1099511628211u;
	for (const char *c = qname; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211u;
	return h;
}

static const char *zone_of(const pas_t *p, const char *qname)
{
	if (p->cfg == NULL)
		return "";
	const char *best = "";
	size_t best_len = 0, n = strlen(qname);
	for (size_t i = 0; i < p->cfg->zones_n; i++) {
		const char *z = p->cfg->zones[i].name;
		size_t zl = strlen(z);
		bool under = zl <= n && strcmp(qname + n - zl, z) == 0 &&
			     (zl == n || qname[n - zl - 1] == '.');
		if (under && zl > best_len) {
			best = z;
			best_len = zl;
		}
	}
	return best;
}

static void addr_text(uint8_t family, const uint8_t *raw, uint16_t port, char *buf, size_t len)
{
	obs_addr_t a;
	if (obs_addr_from_raw(raw, family == 6 ? 16 : 4, port, &a) != OBS_EOK)
		snprintf(buf, len, "?");
	else
		obs_addr_format(&a, buf, len);
}

/* The series of (client -> server, question, flags), created on first use. */
static int series_of(pas_t *p, uint8_t family, const uint8_t *client, const uint8_t *server,
		     uint16_t sport, const char *qname, uint16_t qtype, unsigned flags,
		     obs_usec_t t, int64_t *id)
{
	char c[OBS_ADDR_STRLEN], s[OBS_ADDR_STRLEN], keytext[700];
	addr_text(family, client, 53, c, sizeof(c));
	addr_text(family, server, sport, s, sizeof(s));
	const char *zone = zone_of(p, qname);
	int n = snprintf(keytext, sizeof(keytext), "%s|%s|%s|%s|%u|%u", c, s, zone, qname, qtype,
			 flags);
	uint8_t digest[OBS_HMAP_KEY];
	ldns_sha256((const unsigned char *)keytext, (unsigned)n, digest);
	obs_hmap_entry_t *e = obs_hmap_get(&p->series, digest);
	if (e) {
		*id = e->id;
		return OBS_EOK;
	}
	int64_t target;
	int ret = store_target(p->store, "passive", zone, c, s, s, NULL, t, &target);
	if (ret == OBS_EOK)
		ret = store_series(p->store, target, qname, qtype, flags, "passive", id);
	if (ret != OBS_EOK)
		return ret;
	e = obs_hmap_put(&p->series, digest, NULL);
	if (e)
		e->id = *id;
	return OBS_EOK;
}

static void record(pas_t *p, const struct pending *q, obs_usec_t t_resp, enum store_status st,
		   const ans_summary_t *ans, const uint8_t *wire, size_t wire_len)
{
	int64_t series, obs_id = 0;
	int ret = series_of(p, q->family, q->client, q->server, q->sport, q->qname, q->qtype,
			    q->flags, q->t, &series);
	store_obs_t o = {.series_id = series,
			 .t = q->t,
			 .attempt = 0,
			 .transport = q->transport,
			 .status = st,
			 .rtt = t_resp > 0 ? t_resp - q->t : -1,
			 .ans = ans,
			 .wire = wire,
			 .wire_len = wire_len};
	if (ret == OBS_EOK)
		ret = store_observe(p->store, &o, &obs_id);
	if (ret == OBS_EOK)
		ret = store_passive_packet(p->store, obs_id, q->cport, q->sport, t_resp,
					   q->transport);
	if (ret != OBS_EOK)
		p->st.store_errors++;
}

static void unlink_pending(pas_t *p, struct pending *q)
{
	struct pending **pp = &p->buckets[q->key & (PAS_BUCKETS - 1)];
	while (*pp && *pp != q)
		pp = &(*pp)->next_hash;
	if (*pp)
		*pp = q->next_hash;
	if (q->older)
		q->older->newer = q->newer;
	else
		p->oldest = q->newer;
	if (q->newer)
		q->newer->older = q->older;
	else
		p->newest = q->older;
	p->pending_n--;
}

static void unanswered(pas_t *p, struct pending *q)
{
	unlink_pending(p, q);
	record(p, q, 0, ST_TIMEOUT, NULL, NULL, 0);
	p->st.unanswered++;
	free(q);
}

static void on_query(pas_t *p, const dec_msg_t *m, const ans_msg_t *h)
{
	p->st.queries++;
	if (p->pending_n >= PAS_MAX_PENDING) {
		p->st.evicted++;
		unanswered(p, p->oldest);
	}
	struct pending *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		p->st.evicted++;
		return;
	}
	q->t = m->t;
	q->family = m->family;
	memcpy(q->client, m->src, 16);
	memcpy(q->server, m->dst, 16);
	q->cport = m->sport;
	q->sport = m->dport;
	q->id = h->id;
	q->qtype = h->qtype;
	q->flags = ((h->flags & ANS_F_RD) ? PROBE_RD : 0) | ((h->flags & ANS_F_CD) ? PROBE_CD : 0) |
		   (h->do_bit ? PROBE_DO : 0);
	q->transport = m->transport;
	snprintf(q->qname, sizeof(q->qname), "%s", h->qname);
	q->key =
	    key_of(q->family, q->client, q->cport, q->server, q->sport, q->id, q->qtype, q->qname);
	struct pending **b = &p->buckets[q->key & (PAS_BUCKETS - 1)];
	q->next_hash = *b;
	*b = q;
	q->older = p->newest;
	if (p->newest)
		p->newest->newer = q;
	else
		p->oldest = q;
	p->newest = q;
	p->pending_n++;
}

static void on_response(pas_t *p, const dec_msg_t *m, const ans_msg_t *h, const ans_summary_t *a)
{
	p->st.responses++;
	/* the client is the response's destination */
	uint64_t key =
	    key_of(m->family, m->dst, m->dport, m->src, m->sport, h->id, h->qtype, h->qname);
	for (struct pending *q = p->buckets[key & (PAS_BUCKETS - 1)]; q; q = q->next_hash) {
		if (q->key == key && q->family == m->family && q->cport == m->dport &&
		    q->sport == m->sport && q->id == h->id && q->qtype == h->qtype &&
		    memcmp(q->client, m->dst, 16) == 0 && memcmp(q->server, m->src, 16) == 0 &&
		    strcmp(q->qname, h->qname) == 0) {
			unlink_pending(p, q);
			record(p, q, m->t, ST_ANSWERED, a, m->dns, m->len);
			p->st.paired++;
			free(q);
			return;
		}
	}
	/* no query seen: stored as unmatched, at the response's time */
	struct pending r = {.t = m->t,
			    .family = m->family,
			    .cport = m->dport,
			    .sport = m->sport,
			    .id = h->id,
			    .qtype = h->qtype,
			    .transport = m->transport,
			    .flags = ((h->flags & ANS_F_RD) ? PROBE_RD : 0) |
				     ((h->flags & ANS_F_CD) ? PROBE_CD : 0)};
	memcpy(r.client, m->dst, 16);
	memcpy(r.server, m->src, 16);
	snprintf(r.qname, sizeof(r.qname), "%s", h->qname);
	record(p, &r, m->t, ST_UNMATCHED, a, m->dns, m->len);
	p->st.unmatched++;
}

void pas_message(void *arg, const dec_msg_t *m)
{
	pas_t *p = arg;
	pas_expire(p, m->t);
	if (guard_check(m->dns, m->len, NULL) != OBS_EOK) {
		p->st.malformed++;
		return;
	}
	ans_msg_t h;
	ans_summary_t a;
	if (ans_parse_msg(m->dns, m->len, &h, &a) != OBS_EOK) {
		p->st.malformed++;
		return;
	}
	if (h.qr)
		on_response(p, m, &h, &a);
	else
		on_query(p, m, &h);
	ans_summary_clear(&a);
}

void pas_expire(pas_t *p, obs_usec_t now)
{
	while (p->oldest && p->oldest->t + PAS_WINDOW_US < now)
		unanswered(p, p->oldest);
}

void pas_get_stats(const pas_t *p, pas_stats_t *out)
{
	*out = p->st;
}

void pas_finish(pas_t *p)
{
	while (p->oldest)
		unanswered(p, p->oldest);
}

void pas_free(pas_t *p)
{
	if (p == NULL)
		return;
	pas_finish(p);
	obs_hmap_free(&p->series);
	free(p);
}
