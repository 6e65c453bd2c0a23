/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "detect.h"
#include "fetch.h"
#include "keys.h"
#include "nsr.h"
#include "obs_err.h"
#include "oglitch.h"
#include "vers.h"

const char *const det_sev_names[4] = {"INFO", "WARN", "ERROR", "CRITICAL"};

const det_entry_t det_catalogue[] = {
    {"V-1a", SEV_CRITICAL, "no served DNSKEY RRset of any provider is authenticated by the DS"},
    {"V-1b", SEV_ERROR, "a provider's DNSKEY RRset is not authenticated by the served DS"},
    {"V-1c", SEV_INFO, "a DS matches no key in any served DNSKEY RRset (dangling)"},
    {"V-2", SEV_ERROR, "a DNSKEY RRset does not authenticate a data RRset (missing key)"},
    {"V-3e", SEV_ERROR, "an authoritative server serves an expired signature"},
    {"V-3f", SEV_ERROR, "an authoritative server serves a signature not yet valid"},
    {"V-4", SEV_ERROR, "a signature whose key is present fails verification"},
    {"V-5", SEV_WARN, "the zone is insecure at the parent while signed"},
    {"R-1p", SEV_WARN, "a listed server does not answer authoritatively"},
    {"R-1a", SEV_CRITICAL, "every server of the parent's NS set is lame"},
    {"R-2", SEV_INFO, "parent and provider NS sets differ (WARN after 10 minutes)"},
    {"R-3", SEV_WARN, "providers serve different content for a canary"},
    {"T-1", SEV_WARN, "a resolver answer TTL exceeds the authoritative TTL"},
    {"T-2x", SEV_WARN, "a resolver serves a version past its fetch + TTL without refetching"},
    {"T-2s", SEV_INFO, "a resolver serves a stale version (EDE 3/19) past its fetch + TTL"},
    {"T-4", SEV_WARN, "a served TTL extends past the signature expiration"},
    {"T-5", SEV_WARN, "TTL inconsistency (iii: TTL above original TTL; iv, v: INFO)"},
    {"C-1", SEV_WARN, "CDS and CDNSKEY differ at one server"},
    {"C-2", SEV_WARN, "CDS or CDNSKEY differs across the delegation's servers"},
    {"C-5", SEV_ERROR, "CDS/CDNSKEY DELETE misused"},
    {"C-6", SEV_WARN, "CSYNC differs across servers"},
    {"A-1", SEV_WARN, "providers sign with different algorithm sets"},
    {"A-2", SEV_WARN, "a DS algorithm has no DNSKEY of that algorithm at a provider"},
    {"O-1", SEV_INFO, "vantage broken during the healthy baseline (excluded)"},
    {"O-3", SEV_INFO, "vantage does not validate"},
};
const size_t det_catalogue_n = sizeof(det_catalogue) / sizeof(det_catalogue[0]);

struct run {
	int64_t id, vid;
	obs_usec_t first, prev, next; /* prev/next: INT64_MIN / INT64_MAX when none */
	int64_t ttl;
	int64_t fobs;
};

struct ser {
	int64_t id;
	int tgt;
	char qname[256];
	uint16_t qtype;
	char role[16];
	struct run *runs;
	size_t n, cur; /* cur: index + 1 of the run current at the instant, 0 none */
};

struct lameobs {
	obs_usec_t t;
	bool lame;
	int64_t id;
};

struct tgt {
	int64_t id;
	bool parent;
	char origin[64], host[256], address[80];
	struct lameobs *lo;
	size_t lo_n, lo_cur;
};

struct merged {
	det_finding_t f;
	char key[512];
};

struct dctx {
	an_db_t *db;
	const char *zone;
	sigv_t *sv;
	vers_cache_t *vc;
	nsr_t *nsr; /* NS reachability of every provider (reference §5.3) */
	obs_usec_t at;
	struct tgt *t;
	size_t tn;
	struct ser *s;
	size_t sn;
	char prov[16][64];
	size_t pn;
	struct merged *m;
	size_t mn, mcap;
	int err;
};

/* ---- findings ---- */

typedef struct item {
	const struct ser *s;
	const struct run *r;
	const vers_t *v; /* NULL: answered without the RRset */
} item_t;

static obs_usec_t item_lo(const item_t *it)
{
	return it->r->prev != INT64_MIN ? it->r->prev : it->r->first;
}

static obs_usec_t item_hi(const item_t *it)
{
	return it->r->next;
}

static void emit(struct dctx *d, const char *id, enum det_sev sev, const char *prov,
		 const char *server, const char *vantage, obs_usec_t lo, obs_usec_t hi,
		 const int64_t *vids, size_t nv, const int64_t *obs, size_t no, const char *fmt,
		 ...) __attribute__((format(printf, 13, 14)));

static void emit(struct dctx *d, const char *id, enum det_sev sev, const char *prov,
		 const char *server, const char *vantage, obs_usec_t lo, obs_usec_t hi,
		 const int64_t *vids, size_t nv, const int64_t *obs, size_t no, const char *fmt,
		 ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char key[512];
	snprintf(key, sizeof(key), "%s|%s|%s|%s|%s", id, prov ? prov : "", server ? server : "",
		 vantage ? vantage : "", msg);
	struct merged *m = NULL;
	for (size_t i = 0; i < d->mn; i++) {
		if (strcmp(d->m[i].key, key) == 0) {
			m = &d->m[i];
			break;
		}
	}
	if (m == NULL) {
		if (d->mn == d->mcap) {
			size_t nc = d->mcap ? d->mcap * 2 : 32;
			struct merged *n = realloc(d->m, nc * sizeof(*n));
			if (n == NULL) {
				d->err = OBS_ENOMEM;
				return;
			}
			d->m = n;
			d->mcap = nc;
		}
		m = &d->m[d->mn++];
		memset(m, 0, sizeof(*m));
		snprintf(m->key, sizeof(m->key), "%s", key);
		m->f.id = id;
		m->f.sev = sev;
		m->f.zone = d->zone;
		snprintf(m->f.provider, sizeof(m->f.provider), "%s", prov ? prov : "");
		snprintf(m->f.server, sizeof(m->f.server), "%s", server ? server : "");
		snprintf(m->f.vantage, sizeof(m->f.vantage), "%s", vantage ? vantage : "");
		snprintf(m->f.msg, sizeof(m->f.msg), "%s", msg);
		m->f.lo = lo;
		m->f.hi = hi;
	}
	if (lo < m->f.lo)
		m->f.lo = lo;
	if (hi > m->f.hi)
		m->f.hi = hi;
	if (sev > m->f.sev)
		m->f.sev = sev;
	for (size_t i = 0; i < nv; i++) {
		bool have = false;
		for (size_t k = 0; k < m->f.versions_n; k++)
			have |= m->f.versions[k] == vids[i];
		if (!have && vids[i] > 0 && m->f.versions_n < DET_EVIDENCE)
			m->f.versions[m->f.versions_n++] = vids[i];
	}
	for (size_t i = 0; i < no && m->f.obs_n < DET_EVIDENCE; i++) {
		bool have = false;
		for (size_t k = 0; k < m->f.obs_n; k++)
			have |= m->f.obs[k] == obs[i];
		if (!have && obs[i] > 0)
			m->f.obs[m->f.obs_n++] = obs[i];
	}
}

/* ---- loading ---- */

static bool is_lame(int status, int rcode, int flags)
{
	return status != 0 || (rcode != 0 && rcode != 3) || !(flags & ANS_F_AA);
}

static int load(struct dctx *d)
{
	sqlite3 *sql = an_db_sql(d->db);
	sqlite3_stmt *st = NULL;
	int ret = OBS_ESQL;
	if (sqlite3_prepare_v2(sql,
			       "SELECT id, kind, origin, host, address FROM target WHERE zone = ? "
			       "AND kind IN ('parent', 'provider') ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct tgt *n = realloc(d->t, (d->tn + 1) * sizeof(*n));
		if (n == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		d->t = n;
		struct tgt *t = &d->t[d->tn++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		t->parent = strcmp((const char *)sqlite3_column_text(st, 1), "parent") == 0;
		snprintf(t->origin, sizeof(t->origin), "%s", sqlite3_column_text(st, 2));
		snprintf(t->host, sizeof(t->host), "%s", sqlite3_column_text(st, 3));
		snprintf(t->address, sizeof(t->address), "%s", sqlite3_column_text(st, 4));
		if (!t->parent && strcmp(t->origin, "?") != 0) {
			bool have = false;
			for (size_t i = 0; i < d->pn; i++)
				have |= strcmp(d->prov[i], t->origin) == 0;
			if (!have && d->pn >= sizeof(d->prov) / sizeof(d->prov[0])) {
				ret = OBS_ELIMIT; /* more providers than the table holds: say so */
				goto done;
			}
			if (!have)
				snprintf(d->prov[d->pn++], sizeof(d->prov[0]), "%s", t->origin);
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < d->tn; i++) {
		if (sqlite3_prepare_v2(sql,
				       "SELECT s.id, s.qname, s.qtype, s.role FROM series s WHERE "
				       "s.target_id = ? AND (s.flags & 1) = 0 ORDER BY s.id",
				       -1, &st, NULL) != SQLITE_OK)
			goto done;
		sqlite3_bind_int64(st, 1, d->t[i].id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct ser *n = realloc(d->s, (d->sn + 1) * sizeof(*n));
			if (n == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			d->s = n;
			struct ser *s = &d->s[d->sn++];
			memset(s, 0, sizeof(*s));
			s->id = sqlite3_column_int64(st, 0);
			s->tgt = (int)i;
			snprintf(s->qname, sizeof(s->qname), "%s", sqlite3_column_text(st, 1));
			s->qtype = (uint16_t)sqlite3_column_int(st, 2);
			snprintf(s->role, sizeof(s->role), "%s", sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(
		sql,
		"SELECT id, version_id, first_seen, coalesce(prev_poll, "
		"-9223372036854775807 - 1), coalesce(next_poll, 9223372036854775807), "
		"coalesce(ttl_max_s, -1), first_obs_id FROM run WHERE series_id = ? "
		"AND first_seen <= ? ORDER BY first_seen",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < d->sn; i++) {
		struct ser *s = &d->s[i];
		sqlite3_bind_int64(st, 1, s->id);
		sqlite3_bind_int64(st, 2, d->at);
		size_t cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (s->n == cap) {
				cap = cap ? cap * 2 : 8;
				struct run *n = realloc(s->runs, cap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				s->runs = n;
			}
			struct run *r = &s->runs[s->n++];
			r->id = sqlite3_column_int64(st, 0);
			r->vid = sqlite3_column_int64(st, 1);
			r->first = sqlite3_column_int64(st, 2);
			r->prev = sqlite3_column_int64(st, 3);
			r->next = sqlite3_column_int64(st, 4);
			if (r->next > d->at)
				r->next = INT64_MAX; /* still served as of `at` */
			r->ttl = sqlite3_column_int64(st, 5);
			r->fobs = sqlite3_column_int64(st, 6);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* lameness: the SOA polls of every provider server */
	if (sqlite3_prepare_v2(
		sql,
		"SELECT o.t, o.status, coalesce(o.rcode, -1), coalesce(o.flags, 0), "
		"o.id FROM observation o JOIN series s ON s.id = o.series_id WHERE "
		"s.target_id = ? AND s.role = 'soa' AND (s.flags & 1) = 0 AND o.t <= "
		"? ORDER BY o.t, o.id",
		-1, &st, NULL) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < d->tn; i++) {
		struct tgt *t = &d->t[i];
		if (t->parent)
			continue;
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, d->at);
		size_t cap = 0;
		int last = -1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			bool lame = is_lame(sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
					    sqlite3_column_int(st, 3));
			if ((int)lame == last)
				continue; /* only the changes */
			last = lame;
			if (t->lo_n == cap) {
				cap = cap ? cap * 2 : 8;
				struct lameobs *n = realloc(t->lo, cap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				t->lo = n;
			}
			t->lo[t->lo_n].t = sqlite3_column_int64(st, 0);
			t->lo[t->lo_n].lame = lame;
			t->lo[t->lo_n++].id = sqlite3_column_int64(st, 4);
		}
		sqlite3_reset(st);
	}
	ret = OBS_EOK;
done:
	sqlite3_finalize(st);
	return ret;
}

static void advance(struct dctx *d, obs_usec_t t)
{
	for (size_t i = 0; i < d->sn; i++) {
		struct ser *s = &d->s[i];
		while (s->cur < s->n && s->runs[s->cur].first <= t)
			s->cur++;
	}
	for (size_t i = 0; i < d->tn; i++) {
		struct tgt *g = &d->t[i];
		while (g->lo_cur < g->lo_n && g->lo[g->lo_cur].t <= t)
			g->lo_cur++;
	}
}

static bool tgt_lame(const struct tgt *g, obs_usec_t *since, int64_t *obs)
{
	if (g->lo_cur == 0)
		return false;
	const struct lameobs *l = &g->lo[g->lo_cur - 1];
	*since = l->t;
	*obs = l->id;
	return l->lame;
}

/* served items of a role at parent (origin NULL) or at provider origin ("" = every provider) */
static size_t served(struct dctx *d, const char *role, const char *origin, item_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < d->sn && n < max; i++) {
		const struct ser *s = &d->s[i];
		const struct tgt *g = &d->t[s->tgt];
		if (s->cur == 0 || strcmp(s->role, role) != 0)
			continue;
		if (origin == NULL ? !g->parent
				   : g->parent || (origin[0] && strcmp(g->origin, origin) != 0))
			continue;
		const struct run *r = &s->runs[s->cur - 1];
		out[n].s = s;
		out[n].r = r;
		out[n].v = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
		n++;
	}
	return n;
}

/* distinct versions among items (keeps the first item of each) */
static size_t distinct(item_t *it, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= it[j].r->vid == it[i].r->vid;
		if (!dup)
			it[k++] = it[i];
	}
	return k;
}

/* ---- NS reachability ---- */

/* Why a finding about an unreachable provider is only INFO (appended to its message). */
#define UNREACH_WHY                                                                                \
	" (provider not NS-reachable: no NS set a resolver can hold names it; would matter once "  \
	"delegated)"

/* Is provider prov NS-reachable at t? [*lo, *hi) is narrowed to the interval around t over
 * which the answer stays the same (lo, hi may be NULL). */
static bool reach(struct dctx *d, const char *prov, obs_usec_t t, obs_usec_t *lo, obs_usec_t *hi)
{
	obs_usec_t a, b;
	bool r = nsr_span(d->nsr, prov, t, &a, &b);
	if (lo && a > *lo)
		*lo = a;
	if (hi && b < *hi)
		*hi = b;
	return r;
}

/* keep the items served by the parent or by a provider NS-reachable at t */
static size_t reachable_only(struct dctx *d, obs_usec_t t, item_t *it, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tgt *g = &d->t[it[i].s->tgt];
		if (g->parent || reach(d, g->origin, t, NULL, NULL))
			it[k++] = it[i];
	}
	return k;
}

/* The window of a finding about items a and b (b may be NULL) seen at t: the overlap of their
 * runs, narrowed to the reachability interval of their providers around t. */
static void window(struct dctx *d, obs_usec_t t, const item_t *a, const item_t *b, obs_usec_t *lo,
		   obs_usec_t *hi)
{
	*lo = item_lo(a);
	*hi = item_hi(a);
	if (b && item_lo(b) > *lo)
		*lo = item_lo(b);
	if (b && item_hi(b) < *hi)
		*hi = item_hi(b);
	for (int i = 0; i < 2; i++) {
		const item_t *x = i ? b : a;
		if (x && !d->t[x->s->tgt].parent)
			reach(d, d->t[x->s->tgt].origin, t, lo, hi);
	}
}

/* ---- signature judgement ---- */

enum jres { J_OK = 0, J_EXPIRED, J_NOTYET, J_CRYPTO, J_NOKEY, J_NOSIG };
static const int jrank[] = {0, 1, 1, 2, 3, 4};

/* Can DNSKEY version K authenticate version X at t (any one valid RRSIG; for a negative proof,
 * every signed RRset of it)? only_key: judge only signatures by this key RDATA (NULL: any). */
static enum jres judge(struct dctx *d, const vers_t *K, const vers_t *X, obs_usec_t t,
		       const uint8_t *only_key, size_t only_len, obs_usec_t *max_exp)
{
	sigv_groups_t grp = {0};
	enum jres best[SIGV_GROUPS];
	size_t pos = 0, len;
	const uint8_t *it;
	if (max_exp)
		*max_exp = INT64_MIN;
	for (size_t g = 0; g < SIGV_GROUPS; g++)
		best[g] = J_NOKEY;
	while (vers_next(X->rrsig, X->rrsig_len, &pos, &it, &len, NULL)) {
		sig_info_t si;
		int g = sigv_group(X, &grp, it, len, &si);
		if (g < 0)
			continue;
		size_t kp = 0, kl;
		const uint8_t *kit;
		while (vers_next(K->rdata, K->rdata_len, &kp, &kit, &kl, NULL)) {
			if (only_key && (kl != only_len || memcmp(kit, only_key, kl) != 0))
				continue;
			sigv_res_t res;
			if (sigv_check(d->sv, X, it, len, K->owner, kit, kl, t, &res) ||
			    !res.usable)
				continue;
			enum jres r = !res.crypto_ok                              ? J_CRYPTO
				      : t < res.inception                         ? J_NOTYET
				      : t > res.expiration + OBS_USEC_PER_SEC - 1 ? J_EXPIRED
										  : J_OK;
			if (r == J_OK && max_exp && res.expiration > *max_exp)
				*max_exp = res.expiration;
			if (jrank[r] < jrank[best[g]])
				best[g] = r;
		}
	}
	if (grp.n == 0)
		return J_NOSIG;
	enum jres worst = J_OK;
	for (size_t g = 0; g < grp.n; g++) {
		if (jrank[best[g]] > jrank[worst])
			worst = best[g];
	}
	return worst;
}

static bool alg_supported(uint8_t alg)
{
	return alg == 5 || alg == 7 || alg == 8 || alg == 10 || alg == 13 || alg == 14 ||
	       alg == 15 || alg == 16;
}

enum chain { CH_SECURE, CH_BOGUS, CH_INSECURE };

/* chain(D, K, t) of reference §2.3; *matched: some DS matched a zone key of K */
static enum chain chain(struct dctx *d, const vers_t *D, const vers_t *K, obs_usec_t t,
			bool *matched, enum jres *why)
{
	*matched = false;
	*why = J_NOKEY;
	if (D == NULL || D->kind != VK_ANSWER)
		return CH_INSECURE;
	bool any_supported = false;
	size_t pos = 0, len;
	const uint8_t *it;
	while (vers_next(D->rdata, D->rdata_len, &pos, &it, &len, NULL)) {
		ds_info_t ds;
		if (keys_ds_parse(it, len, &ds) || !keys_digest_supported(ds.dtype) ||
		    !alg_supported(ds.alg))
			continue;
		any_supported = true;
		if (K == NULL)
			continue;
		size_t kp = 0, kl;
		const uint8_t *kit;
		while (vers_next(K->rdata, K->rdata_len, &kp, &kit, &kl, NULL)) {
			key_info_t ki;
			if (keys_parse(kit, kl, &ki) || !(ki.flags & KEY_F_ZONE) ||
			    (ki.flags & KEY_F_REVOKE) || !keys_ds_matches(&ds, d->zone, kit, kl))
				continue;
			*matched = true;
			enum jres r = judge(d, K, K, t, kit, kl, NULL);
			if (r == J_OK)
				return CH_SECURE;
			if (jrank[r] < jrank[*why])
				*why = r;
		}
	}
	return any_supported ? CH_BOGUS : CH_INSECURE;
}

static const char *jres_text(enum jres r)
{
	static const char *const t[] = {
	    "valid",  "expired", "not yet valid", "fails verification", "made by no key of the set",
	    "missing"};
	return t[r];
}

static void typestr(uint16_t type, char *buf, size_t len)
{
	const ldns_rr_descriptor *desc = ldns_rr_descript(type);
	if (desc && desc->_name)
		snprintf(buf, len, "%s", desc->_name);
	else
		snprintf(buf, len, "TYPE%u", type);
}

#define MAXI 64

/* ---- state detectors ---- */

/* V-1, V-5, A-2 over the DNSKEY RRsets of NS-reachable providers. A provider no resolver can
 * reach gets its chain break reported as INFO (a readiness fact before it is delegated). */
static void d_chain(struct dctx *d, obs_usec_t t)
{
	item_t ds[MAXI], ks[MAXI];
	size_t dn = distinct(ds, served(d, "ds", NULL, ds, MAXI));
	size_t kn_all = distinct(ks, reachable_only(d, t, ks, served(d, "dnskey", "", ks, MAXI)));
	if (dn == 0 || kn_all == 0)
		return;
	for (size_t i = 0; i < dn; i++) {
		const vers_t *D = ds[i].v;
		bool insecure_any = D == NULL || D->kind != VK_ANSWER;
		size_t fails = 0, total = 0;
		bool m;
		enum jres why;
		if (!insecure_any && chain(d, D, NULL, t, &m, &why) == CH_INSECURE)
			insecure_any = true;
		if (insecure_any) {
			int64_t v[2] = {ds[i].r->vid, ks[0].r->vid};
			emit(d, "V-5", SEV_WARN, NULL, d->t[ds[i].s->tgt].address, NULL,
			     item_lo(&ds[i]), item_hi(&ds[i]), v, 2, &ds[i].r->fobs, 1,
			     "the parent serves no usable DS while providers serve DNSKEY: the "
			     "zone is insecure");
			continue;
		}
		for (size_t p = 0; p < d->pn; p++) {
			item_t kp[MAXI];
			size_t kn = distinct(kp, served(d, "dnskey", d->prov[p], kp, MAXI));
			bool rp = reach(d, d->prov[p], t, NULL, NULL);
			for (size_t k = 0; k < kn; k++) {
				if (kp[k].v == NULL || kp[k].v->kind != VK_ANSWER)
					continue;
				total += rp;
				if (chain(d, D, kp[k].v, t, &m, &why) == CH_SECURE)
					continue;
				fails += rp;
				int64_t v[2] = {D->id, kp[k].v->id};
				obs_usec_t lo, hi;
				window(d, t, &ds[i], &kp[k], &lo, &hi);
				int64_t o[2] = {ds[i].r->fobs, kp[k].r->fobs};
				emit(d, "V-1b", rp ? SEV_ERROR : SEV_INFO, d->prov[p], NULL, NULL,
				     lo, hi, v, 2, o, 2,
				     "DS version %lld does not authenticate provider %s's DNSKEY "
				     "version %lld: %s%s",
				     (long long)D->id, d->prov[p], (long long)kp[k].v->id,
				     m ? (why == J_EXPIRED  ? "the KSK signature has expired"
					  : why == J_NOTYET ? "the KSK signature is not yet valid"
					  : why == J_CRYPTO ? "the KSK signature fails verification"
							    : "no signature by a DS-matched key")
				       : "no DS matches a zone key of the set",
				     rp ? "" : UNREACH_WHY);
			}
		}
		if (total > 0 && fails == total) {
			int64_t v[1] = {D->id};
			emit(d, "V-1a", SEV_CRITICAL, NULL, NULL, NULL, item_lo(&ds[i]),
			     item_hi(&ds[i]), v, 1, &ds[i].r->fobs, 1,
			     "no served DNSKEY RRset of any NS-reachable provider is authenticated "
			     "by DS version %lld",
			     (long long)D->id);
		}
		/* V-1c dangling DS, A-2 DS algorithm without DNSKEY of that algorithm */
		size_t pos = 0, len;
		const uint8_t *it;
		while (vers_next(D->rdata, D->rdata_len, &pos, &it, &len, NULL)) {
			ds_info_t dsi;
			if (keys_ds_parse(it, len, &dsi))
				continue;
			bool matched = false;
			for (size_t k = 0; k < kn_all && !matched; k++) {
				if (ks[k].v == NULL || ks[k].v->kind != VK_ANSWER)
					continue;
				size_t kp = 0, kl;
				const uint8_t *kit;
				while (!matched && vers_next(ks[k].v->rdata, ks[k].v->rdata_len,
							     &kp, &kit, &kl, NULL))
					matched = keys_ds_matches(&dsi, d->zone, kit, kl);
			}
			int64_t v[1] = {D->id};
			if (!matched)
				emit(d, "V-1c", SEV_INFO, NULL, NULL, NULL, item_lo(&ds[i]),
				     item_hi(&ds[i]), v, 1, NULL, 0,
				     "DS %u/%u (digest type %u) matches no served DNSKEY of an "
				     "NS-reachable provider",
				     dsi.alg, dsi.tag, dsi.dtype);
			for (size_t p = 0; p < d->pn; p++) {
				if (!reach(d, d->prov[p], t, NULL, NULL))
					continue;
				item_t kp[MAXI];
				size_t kn = distinct(kp, served(d, "dnskey", d->prov[p], kp, MAXI));
				for (size_t k = 0; k < kn; k++) {
					if (kp[k].v == NULL)
						continue;
					bool alg = false;
					size_t q = 0, kl;
					const uint8_t *kit;
					while (vers_next(kp[k].v->rdata, kp[k].v->rdata_len, &q,
							 &kit, &kl, NULL))
						alg |= kl >= 4 && kit[3] == dsi.alg;
					obs_usec_t lo, hi;
					window(d, t, &kp[k], NULL, &lo, &hi);
					if (!alg)
						emit(
						    d, "A-2", SEV_WARN, d->prov[p], NULL, NULL, lo,
						    hi, v, 1, NULL, 0,
						    "the DS set has algorithm %u but provider %s's "
						    "DNSKEY RRset has no key of it",
						    dsi.alg, d->prov[p]);
				}
			}
		}
	}
}

static const char *const data_roles[] = {"soa", "ns", "canary", "cds", "cdnskey", "csync", "nx"};

/* V-2, V-3, V-4, T-4: each provider's DNSKEY RRset against the data a resolver can combine it
 * with. A cross-provider pair counts only while both providers are NS-reachable; the findings
 * of an unreachable provider about itself are INFO. */
static void d_sigs(struct dctx *d, obs_usec_t t)
{
	char ts[24];
	for (size_t p = 0; p < d->pn; p++) {
		item_t kp[MAXI];
		size_t kn = distinct(kp, served(d, "dnskey", d->prov[p], kp, MAXI));
		bool rp = reach(d, d->prov[p], t, NULL, NULL);
		for (size_t k = 0; k < kn; k++) {
			const vers_t *K = kp[k].v;
			if (K == NULL || K->kind != VK_ANSWER)
				continue;
			/* the DNSKEY RRset's own signatures (V-3, V-4) */
			enum jres self = judge(d, K, K, t, NULL, 0, NULL);
			if (self == J_EXPIRED || self == J_NOTYET || self == J_CRYPTO) {
				int64_t v[1] = {K->id};
				obs_usec_t lo, hi;
				window(d, t, &kp[k], NULL, &lo, &hi);
				emit(d,
				     self == J_CRYPTO    ? "V-4"
				     : self == J_EXPIRED ? "V-3e"
							 : "V-3f",
				     rp ? SEV_ERROR : SEV_INFO, d->prov[p], NULL, NULL, lo, hi, v,
				     1, &kp[k].r->fobs, 1,
				     "provider %s's DNSKEY RRset (version %lld): signature %s%s",
				     d->prov[p], (long long)K->id, jres_text(self),
				     rp ? "" : UNREACH_WHY);
			}
			for (size_t r = 0; r < sizeof(data_roles) / sizeof(data_roles[0]); r++) {
				item_t x[MAXI];
				size_t xn = distinct(x, served(d, data_roles[r], "", x, MAXI));
				for (size_t i = 0; i < xn; i++) {
					const vers_t *X = x[i].v;
					if (X == NULL || X->rrsig_len == 0)
						continue;
					const char *q = d->t[x[i].s->tgt].origin;
					bool same = strcmp(q, d->prov[p]) == 0;
					/* a resolver holds K and X together only if it reaches both
					 */
					if (!same && (!rp || !reach(d, q, t, NULL, NULL)))
						continue;
					enum det_sev sev = rp ? SEV_ERROR : SEV_INFO;
					const char *why = rp ? "" : UNREACH_WHY;
					obs_usec_t mexp;
					enum jres j = judge(d, K, X, t, NULL, 0, &mexp);
					typestr(X->type, ts, sizeof(ts));
					int64_t v[2] = {K->id, X->id};
					int64_t o[2] = {kp[k].r->fobs, x[i].r->fobs};
					obs_usec_t lo, hi;
					window(d, t, &kp[k], &x[i], &lo, &hi);
					if (j == J_NOKEY) {
						emit(d, "V-2", sev, q, NULL, NULL, lo, hi, v, 2, o,
						     2,
						     "provider %s's DNSKEY RRset (version %lld) "
						     "does not "
						     "authenticate %s %s from provider %s (version "
						     "%lld): no key for its signatures%s",
						     d->prov[p], (long long)K->id, X->owner, ts, q,
						     (long long)X->id, why);
					} else if (same && j != J_OK) {
						emit(d,
						     j == J_CRYPTO    ? "V-4"
						     : j == J_EXPIRED ? "V-3e"
								      : "V-3f",
						     sev, q, NULL, NULL, lo, hi, v, 2, o, 2,
						     "%s %s at provider %s (version %lld): "
						     "signature %s%s",
						     X->owner, ts, q, (long long)X->id,
						     jres_text(j), why);
					} else if (same && rp && j == J_OK && x[i].r->ttl > 0 &&
						   mexp != INT64_MIN &&
						   x[i].r->ttl * OBS_USEC_PER_SEC > mexp - t) {
						emit(d, "T-4", SEV_WARN, q, NULL, NULL, lo, hi, v,
						     2, o, 2,
						     "%s %s at provider %s (version %lld): TTL "
						     "%lld s "
						     "outlives its last signature",
						     X->owner, ts, q, (long long)X->id,
						     (long long)x[i].r->ttl);
					}
				}
			}
		}
	}
}

/* NS names of a version as canonical text */
static size_t ns_names(const vers_t *v, char (*out)[256], size_t max)
{
	size_t n = 0, pos = 0, len;
	const uint8_t *it;
	if (v == NULL || (v->kind != VK_ANSWER && v->kind != VK_REFERRAL))
		return 0;
	while (n < max && vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
		ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, it);
		if (r == NULL)
			continue;
		ans_dname_text(r, out[n++], 256);
		ldns_rdf_deep_free(r);
	}
	return n;
}

static void d_lame(struct dctx *d, obs_usec_t t)
{
	item_t ref[MAXI];
	size_t rn = distinct(ref, served(d, "referral", NULL, ref, MAXI));
	char names[64][256];
	size_t parent_n = 0;
	for (size_t i = 0; i < rn; i++)
		parent_n += ns_names(ref[i].v, names + parent_n, 64 - parent_n);
	size_t parent_servers = 0, parent_lame = 0;
	obs_usec_t plo = INT64_MIN;
	for (size_t i = 0; i < d->tn; i++) {
		const struct tgt *g = &d->t[i];
		if (g->parent)
			continue;
		bool by_parent = false;
		for (size_t k = 0; k < parent_n; k++)
			by_parent |= strcasecmp(names[k], g->host) == 0;
		obs_usec_t since = 0;
		int64_t obs = 0;
		bool lame = tgt_lame(g, &since, &obs);
		if (by_parent) {
			parent_servers++;
			parent_lame += lame;
			if (lame && since > plo)
				plo = since;
		}
		/* R-1 holds at t in NSR(p) & lame(s) (reference §5.3): a server no resolver can
		 * reach is not lame for anyone */
		obs_usec_t lo = since, hi = INT64_MAX;
		if (lame && reach(d, g->origin, t, &lo, &hi))
			emit(d, "R-1p", SEV_WARN, g->origin, g->address, NULL, lo, hi, NULL, 0,
			     &obs, 1,
			     "server %s (%s) of provider %s is NS-reachable (named by an NS set "
			     "resolvers may hold) but does not answer authoritatively",
			     g->address, g->host, g->origin);
	}
	if (parent_servers > 0 && parent_lame == parent_servers)
		emit(d, "R-1a", SEV_CRITICAL, NULL, NULL, NULL, plo, INT64_MAX, NULL, 0, NULL, 0,
		     "every server of the parent's NS set is lame");
}

static void d_nsdiff(struct dctx *d, obs_usec_t t)
{
	item_t ref[MAXI], apex[MAXI];
	size_t rn = distinct(ref, served(d, "referral", NULL, ref, MAXI));
	/* an apex NS set no resolver can fetch widens nothing (reference §3.2 R-2, §5.3) */
	size_t an = distinct(apex, reachable_only(d, t, apex, served(d, "ns", "", apex, MAXI)));
	for (size_t i = 0; i < rn; i++) {
		for (size_t k = 0; k < an; k++) {
			if (ref[i].v == NULL || apex[k].v == NULL ||
			    vers_same_rdata(ref[i].v, apex[k].v))
				continue;
			int64_t v[2] = {ref[i].r->vid, apex[k].r->vid};
			const char *q = d->t[apex[k].s->tgt].origin;
			obs_usec_t lo, hi;
			window(d, t, &ref[i], &apex[k], &lo, &hi);
			emit(
			    d, "R-2", SEV_INFO, q, NULL, NULL, lo, hi, v, 2, NULL, 0,
			    "the parent's NS set (version %lld) differs from provider %s's apex NS "
			    "set (version %lld)",
			    (long long)ref[i].r->vid, q, (long long)apex[k].r->vid);
		}
	}
}

static void d_content(struct dctx *d, obs_usec_t t)
{
	item_t x[MAXI];
	size_t xn = reachable_only(d, t, x, served(d, "canary", "", x, MAXI));
	char ts[24];
	for (size_t i = 0; i < xn; i++) {
		for (size_t k = i + 1; k < xn; k++) {
			const struct tgt *a = &d->t[x[i].s->tgt], *b = &d->t[x[k].s->tgt];
			if (strcmp(a->origin, b->origin) >= 0 ||
			    strcmp(x[i].s->qname, x[k].s->qname) || x[i].s->qtype != x[k].s->qtype)
				continue;
			bool same = x[i].v && x[k].v ? x[i].v->kind == x[k].v->kind &&
							   (x[i].v->kind != VK_ANSWER ||
							    vers_same_rdata(x[i].v, x[k].v))
						     : x[i].v == x[k].v;
			if (same)
				continue;
			typestr(x[i].s->qtype, ts, sizeof(ts));
			int64_t v[2] = {x[i].r->vid, x[k].r->vid};
			obs_usec_t lo, hi;
			window(d, t, &x[i], &x[k], &lo, &hi);
			emit(d, "R-3", SEV_WARN, NULL, NULL, NULL, lo, hi, v, 2, NULL, 0,
			     "providers %s and %s serve different content for %s %s", a->origin,
			     b->origin, x[i].s->qname, ts);
		}
	}
}

static bool cds_has_delete(const vers_t *v, bool *only)
{
	size_t pos = 0, len, n = 0;
	const uint8_t *it;
	bool del = false;
	while (vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
		n++;
		del |= keys_is_delete(v->type, it, len);
	}
	*only = del && n == 1;
	return del;
}

/* C-1, C-2, C-5, C-6 over the servers of NS-reachable providers (the parental agent, like any
 * resolver, reaches only those) */
static void d_cds(struct dctx *d, obs_usec_t t)
{
	static const char *const roles[] = {"cds", "cdnskey"};
	for (int r = 0; r < 2; r++) {
		item_t x[MAXI];
		size_t xn = reachable_only(d, t, x, served(d, roles[r], "", x, MAXI));
		size_t with = 0, dels = 0;
		for (size_t i = 0; i < xn; i++) {
			const vers_t *X = x[i].v;
			bool has = X && X->kind == VK_ANSWER;
			with += has;
			bool only = false;
			if (has && cds_has_delete(X, &only)) {
				dels++;
				if (!only) {
					int64_t v[1] = {X->id};
					obs_usec_t lo, hi;
					window(d, t, &x[i], NULL, &lo, &hi);
					emit(d, "C-5", SEV_ERROR, d->t[x[i].s->tgt].origin,
					     d->t[x[i].s->tgt].address, NULL, lo, hi, v, 1,
					     &x[i].r->fobs, 1,
					     "%s DELETE published together with other records",
					     r ? "CDNSKEY" : "CDS");
				}
			}
		}
		if (dels > 0 && dels < xn) {
			obs_usec_t lo, hi;
			window(d, t, &x[0], NULL, &lo, &hi);
			emit(d, "C-5", SEV_ERROR, NULL, NULL, NULL, lo, hi, NULL, 0, NULL, 0,
			     "only some servers publish a %s DELETE", r ? "CDNSKEY" : "CDS");
		}
		if (with == 0)
			continue;
		for (size_t i = 1; i < xn; i++) {
			bool a = x[0].v && x[0].v->kind == VK_ANSWER;
			bool b = x[i].v && x[i].v->kind == VK_ANSWER;
			if (a == b && (!a || vers_same_rdata(x[0].v, x[i].v)))
				continue;
			int64_t v[2] = {x[0].r->vid, x[i].r->vid};
			obs_usec_t lo, hi;
			window(d, t, &x[0], &x[i], &lo, &hi);
			emit(d, "C-2", SEV_WARN, d->t[x[i].s->tgt].origin,
			     d->t[x[i].s->tgt].address, NULL, lo, hi, v, 2, NULL, 0,
			     "%s at %s (%s) differs from %s at %s (%s)", r ? "CDNSKEY" : "CDS",
			     d->t[x[i].s->tgt].address, d->t[x[i].s->tgt].origin,
			     r ? "CDNSKEY" : "CDS", d->t[x[0].s->tgt].address,
			     d->t[x[0].s->tgt].origin);
		}
	}
	/* C-1: CDS and CDNSKEY of one server must match in content */
	item_t c[MAXI], k[MAXI];
	size_t cn = reachable_only(d, t, c, served(d, "cds", "", c, MAXI));
	size_t kn = reachable_only(d, t, k, served(d, "cdnskey", "", k, MAXI));
	for (size_t i = 0; i < cn; i++) {
		for (size_t j = 0; j < kn; j++) {
			if (c[i].s->tgt != k[j].s->tgt || !c[i].v || !k[j].v ||
			    c[i].v->kind != VK_ANSWER || k[j].v->kind != VK_ANSWER)
				continue;
			bool o1, o2;
			if (cds_has_delete(c[i].v, &o1) && cds_has_delete(k[j].v, &o2))
				continue;
			bool ok = true;
			size_t p = 0, l;
			const uint8_t *it;
			while (ok &&
			       vers_next(c[i].v->rdata, c[i].v->rdata_len, &p, &it, &l, NULL)) {
				ds_info_t ds;
				bool m = false;
				if (keys_ds_parse(it, l, &ds) == OBS_EOK) {
					size_t q = 0, kl;
					const uint8_t *kit;
					while (!m && vers_next(k[j].v->rdata, k[j].v->rdata_len, &q,
							       &kit, &kl, NULL))
						m = keys_ds_matches(&ds, d->zone, kit, kl);
				}
				ok = m;
			}
			p = 0;
			while (ok &&
			       vers_next(k[j].v->rdata, k[j].v->rdata_len, &p, &it, &l, NULL)) {
				bool m = false;
				size_t q = 0, dl;
				const uint8_t *dit;
				while (!m && vers_next(c[i].v->rdata, c[i].v->rdata_len, &q, &dit,
						       &dl, NULL)) {
					ds_info_t ds;
					m = keys_ds_parse(dit, dl, &ds) == OBS_EOK &&
					    keys_ds_matches(&ds, d->zone, it, l);
				}
				ok = m;
			}
			if (ok)
				continue;
			const struct tgt *g = &d->t[c[i].s->tgt];
			int64_t v[2] = {c[i].r->vid, k[j].r->vid};
			obs_usec_t lo, hi;
			window(d, t, &c[i], &k[j], &lo, &hi);
			emit(d, "C-1", SEV_WARN, g->origin, g->address, NULL, lo, hi, v, 2, NULL, 0,
			     "CDS and CDNSKEY differ in content at %s", g->address);
		}
	}
	/* C-6: CSYNC flags and type bitmap must agree among the servers that return one */
	item_t y[MAXI];
	size_t yn = reachable_only(d, t, y, served(d, "csync", "", y, MAXI));
	const item_t *first = NULL;
	for (size_t i = 0; i < yn; i++) {
		const vers_t *Y = y[i].v;
		if (Y == NULL || Y->kind != VK_ANSWER || Y->rdata_len < 8)
			continue;
		if (first == NULL) {
			first = &y[i];
			continue;
		}
		const vers_t *F = first->v;
		/* item: 2-byte length, serial (4), then flags and bitmap */
		if (F->rdata_len == Y->rdata_len &&
		    memcmp(F->rdata + 6, Y->rdata + 6, F->rdata_len - 6) == 0)
			continue;
		const struct tgt *g = &d->t[y[i].s->tgt];
		int64_t v[2] = {F->id, Y->id};
		obs_usec_t lo, hi;
		window(d, t, &y[i], first, &lo, &hi);
		emit(d, "C-6", SEV_WARN, g->origin, g->address, NULL, lo, hi, v, 2, NULL, 0,
		     "CSYNC flags or type bitmap at %s differ from %s", g->address,
		     d->t[first->s->tgt].address);
	}
}

static uint32_t algs_of(const vers_t *v)
{
	uint32_t m = 0;
	size_t pos = 0, len;
	const uint8_t *it;
	while (v && vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
		const uint8_t *rd;
		size_t rl;
		sig_info_t si;
		if (sigv_rdata(v, it, len, &rd, &rl) == OBS_EOK &&
		    sigv_info(rd, rl, &si) == OBS_EOK && si.alg < 32)
			m |= 1u << si.alg;
	}
	return m;
}

/* A-1 among the NS-reachable providers that serve an SOA */
static void d_algs(struct dctx *d, obs_usec_t t)
{
	uint32_t m[16] = {0};
	item_t ref[16];
	size_t pi[16], rn = 0;
	for (size_t p = 0; p < d->pn; p++) {
		if (!reach(d, d->prov[p], t, NULL, NULL))
			continue;
		item_t x[MAXI];
		size_t xn = served(d, "soa", d->prov[p], x, MAXI);
		if (xn == 0)
			continue;
		for (size_t i = 0; i < xn; i++)
			m[rn] |= algs_of(x[i].v);
		pi[rn] = p;
		ref[rn++] = x[0];
	}
	for (size_t p = 1; p < rn; p++) {
		if (m[p] == m[0] || m[p] == 0 || m[0] == 0)
			continue;
		obs_usec_t lo, hi;
		window(d, t, &ref[0], &ref[p], &lo, &hi);
		int64_t v[2] = {ref[0].r->vid, ref[p].r->vid};
		emit(d, "A-1", SEV_WARN, d->prov[pi[p]], NULL, NULL, lo, hi, v, 2, NULL, 0,
		     "providers %s and %s sign with different algorithm sets (mask 0x%x vs 0x%x)",
		     d->prov[pi[0]], d->prov[pi[p]], m[0], m[p]);
	}
}

static void d_ttl_state(struct dctx *d, obs_usec_t t)
{
	/* T-5 (iv): DNSKEY TTL differs between providers (legal; the waits use the largest) */
	item_t k[MAXI];
	size_t kn = reachable_only(d, t, k, served(d, "dnskey", "", k, MAXI));
	for (size_t i = 1; i < kn; i++) {
		if (k[i].r->ttl < 0 || k[0].r->ttl < 0 || k[i].r->ttl == k[0].r->ttl ||
		    strcmp(d->t[k[i].s->tgt].origin, d->t[k[0].s->tgt].origin) == 0)
			continue;
		int64_t v[2] = {k[0].r->vid, k[i].r->vid};
		obs_usec_t lo, hi;
		window(d, t, &k[0], &k[i], &lo, &hi);
		emit(d, "T-5", SEV_INFO, NULL, NULL, NULL, lo, hi, v, 2, NULL, 0,
		     "(iv) the DNSKEY TTL differs between providers %s and %s",
		     d->t[k[0].s->tgt].origin, d->t[k[i].s->tgt].origin);
	}
}

typedef void (*det_fn)(struct dctx *d, obs_usec_t t);

static const struct {
	const char *name;
	det_fn fn;
} state_detectors[] = {
    {"chain (V-1, V-5, A-2)", d_chain}, {"signatures (V-2, V-3, V-4, T-4)", d_sigs},
    {"lameness (R-1)", d_lame},         {"NS sets (R-2)", d_nsdiff},
    {"content (R-3)", d_content},       {"signalling (C-1, C-2, C-5, C-6)", d_cds},
    {"algorithms (A-1)", d_algs},       {"TTLs (T-5 iv)", d_ttl_state},
};

/* ---- history detectors ---- */

/* T-5 (iii) TTL above the original TTL, (v) TTL changed between consecutive runs */
static void h_ttl(struct dctx *d)
{
	char ts[24];
	for (size_t i = 0; i < d->sn; i++) {
		const struct ser *s = &d->s[i];
		const struct tgt *g = &d->t[s->tgt];
		for (size_t k = 0; k < s->n; k++) {
			const struct run *r = &s->runs[k];
			const vers_t *v = r->vid > 0 ? vers_get(d->vc, r->vid) : NULL;
			if (v == NULL)
				continue;
			typestr(v->type, ts, sizeof(ts));
			size_t pos = 0, len;
			const uint8_t *it;
			uint32_t orig = 0;
			while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
				const uint8_t *rd;
				size_t rl;
				sig_info_t si;
				if (sigv_rdata(v, it, len, &rd, &rl) == OBS_EOK &&
				    sigv_info(rd, rl, &si) == OBS_EOK && si.orig_ttl > orig)
					orig = si.orig_ttl;
			}
			item_t iv = {s, r, v};
			int64_t vid[1] = {v->id};
			if (orig > 0 && r->ttl > (int64_t)orig && v->kind == VK_ANSWER)
				emit(d, "T-5", SEV_WARN, g->origin, g->address, NULL, item_lo(&iv),
				     item_hi(&iv), vid, 1, &r->fobs, 1,
				     "(iii) %s %s served with TTL %lld above its original TTL %u",
				     v->owner, ts, (long long)r->ttl, orig);
			if (k == 0 || r->ttl < 0)
				continue;
			const struct run *p = &s->runs[k - 1];
			if (p->ttl < 0 || p->vid <= 0 || p->ttl == r->ttl)
				continue;
			const vers_t *pv = vers_get(d->vc, p->vid);
			int64_t vv[2] = {p->vid, r->vid};
			int64_t big = pv && pv->ttl_max_s > p->ttl ? pv->ttl_max_s : p->ttl;
			emit(d, "T-5", SEV_INFO, g->origin, g->address, NULL, r->first,
			     r->first + 1, vv, 2, &r->fobs, 1,
			     "(v) the TTL of %s %s changed from %lld to %lld s (version %lld to "
			     "%lld); waits use the largest TTL served of the old version: %lld s",
			     s->qname, ts, (long long)p->ttl, (long long)r->ttl, (long long)p->vid,
			     (long long)r->vid, (long long)big);
		}
	}
}

/* T-1: a resolver's answer TTL above the largest TTL any authoritative server served */
static int h_resolver_ttl(struct dctx *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(d->db),
		"SELECT c.name || '/' || tg.host, min(o.t), max(o.t), min(o.id), "
		"max(o.ttl_s - v.ttl_max_s), count(*) FROM observation o JOIN series "
		"s ON s.id = o.series_id JOIN target tg ON tg.id = s.target_id JOIN "
		"collector c ON c.id = tg.collector_id JOIN version v ON v.id = "
		"o.version_id WHERE tg.kind = 'resolver' AND tg.zone = ? AND o.t <= ? "
		"AND v.ttl_max_s IS NOT NULL AND o.ttl_s > v.ttl_max_s + 1 GROUP BY "
		"tg.id",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, d->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->at);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t o = sqlite3_column_int64(st, 3);
		emit(d, "T-1", SEV_WARN, NULL, NULL, (const char *)sqlite3_column_text(st, 0),
		     sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2) + 1, NULL, 0, &o, 1,
		     "resolver answers carry TTLs up to %lld s above the authoritative TTL "
		     "(%lld answers)",
		     (long long)sqlite3_column_int64(st, 4),
		     (long long)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	return OBS_EOK;
}

/* T-1 and T-2 from passive evidence (fetch.h): answers judged against the resolver's own
 * fetches. T-1 from the collector's polls alone is h_resolver_ttl's. */
static void on_fetch_resolver(void *arg, const fetch_resolver_t *r)
{
	struct dctx *d = arg;
	for (size_t i = 0; i < r->flags_n; i++) {
		const fetch_flag_t *f = &r->flags[i];
		if (strcmp(f->id, "T-1") == 0 && !f->passive && f->fetch_obs == 0)
			continue;
		int64_t obs[3] = {f->first_obs, f->last_obs, f->fetch_obs};
		char v[160];
		snprintf(v, sizeof(v), "passive/%s", r->name);
		emit(d, f->id, f->sev ? SEV_WARN : SEV_INFO, NULL, NULL, v, f->lo, f->hi + 1,
		     &f->version_id, 1, obs, 3,
		     "resolver %s (via %s) %s version %lld: %lld answers, TTL up to %lld, held "
		     "%lld s "
		     "from its fetch (profile %s)",
		     r->name, f->via,
		     f->id[2] == '1' ? "answers with a TTL beyond its fetch of"
				     : "serves past its fetch's TTL",
		     (long long)f->version_id, (long long)f->answers, (long long)f->ttl_answer_s,
		     (long long)f->held_s, fetch_profile_names[r->profile]);
	}
}

static void on_vantage(void *arg, const og_vantage_t *v)
{
	struct dctx *d = arg;
	if (v->broken)
		emit(d, "O-1", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, v->baseline_hi,
		     NULL, 0, &v->first_obs, 1,
		     "vantage failed %lld of %lld rounds in the healthy baseline: excluded from "
		     "glitch attribution",
		     (long long)v->baseline_fail, (long long)v->baseline_polls);
	if (v->nonvalidating)
		emit(d, "O-3", SEV_INFO, NULL, NULL, v->vantage, v->baseline_lo, INT64_MAX, NULL, 0,
		     NULL, 0,
		     "vantage does not validate (never AD, the bogus canary resolves): excluded "
		     "from V-glitches");
}

/* ---- driver ---- */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int det_run(an_db_t *db, const char *zone, obs_usec_t at, const det_opts_t *opts, sigv_t *sv,
	    det_report_fn cb, void *arg)
{
	struct dctx d = {.db = db, .zone = zone, .sv = sv, .at = at};
	int64_t *ev = NULL;
	size_t en = 0, ecap = 0;
	int ret = vers_cache_new(db, &d.vc);
	if (ret || (ret = load(&d)) || (ret = nsr_build(db, zone, at, NSR_EPS_AUTO, &d.nsr)))
		goto done;
	/* every instant at which the served state changes, and `at` */
	for (size_t i = 0; i < d.sn; i++) {
		for (size_t k = 0; k <= d.s[i].n; k++) {
			if (en + 2 > ecap) {
				ecap = ecap ? ecap * 2 : 256;
				int64_t *n = realloc(ev, ecap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				ev = n;
			}
			if (k < d.s[i].n)
				ev[en++] = d.s[i].runs[k].first;
			/* signatures expire inside runs: look again at each expiration */
			if (k < d.s[i].n && d.s[i].runs[k].vid > 0) {
				const vers_t *v = vers_get(d.vc, d.s[i].runs[k].vid);
				size_t pos = 0, len;
				const uint8_t *it;
				while (v &&
				       vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
					const uint8_t *rd;
					size_t rl;
					sig_info_t si;
					if (sigv_rdata(v, it, len, &rd, &rl) ||
					    sigv_info(rd, rl, &si))
						continue;
					obs_usec_t e =
					    sigv_abs_time(si.exp_serial, d.s[i].runs[k].first) +
					    OBS_USEC_PER_SEC;
					if (e > d.s[i].runs[k].first && e <= at &&
					    e < d.s[i].runs[k].next) {
						if (en + 1 > ecap) {
							ecap *= 2;
							int64_t *n = realloc(ev, ecap * sizeof(*n));
							if (n == NULL) {
								ret = OBS_ENOMEM;
								goto done;
							}
							ev = n;
						}
						ev[en++] = e;
					}
				}
			}
		}
	}
	for (size_t i = 0; i < d.tn; i++) {
		for (size_t k = 0; k < d.t[i].lo_n; k++) {
			if (en + 1 > ecap) {
				ecap = ecap ? ecap * 2 : 256;
				int64_t *n = realloc(ev, ecap * sizeof(*n));
				if (n == NULL) {
					ret = OBS_ENOMEM;
					goto done;
				}
				ev = n;
			}
			ev[en++] = d.t[i].lo[k].t;
		}
	}
	/* and every instant at which a provider's NS reachability changes */
	size_t nedge = nsr_edges(d.nsr, NULL, 0);
	if (en + nedge + 1 > ecap) {
		int64_t *n = realloc(ev, (en + nedge + 1) * sizeof(*n));
		if (n == NULL) {
			ret = OBS_ENOMEM;
			goto done;
		}
		ev = n;
	}
	en += nsr_edges(d.nsr, ev + en, nedge);
	ev[en++] = at;
	qsort(ev, en, sizeof(*ev), cmp64);
	for (size_t i = 0; i < en && d.err == OBS_EOK; i++) {
		if (ev[i] > at || (i > 0 && ev[i] == ev[i - 1]))
			continue;
		advance(&d, ev[i]);
		for (size_t k = 0; k < sizeof(state_detectors) / sizeof(state_detectors[0]); k++)
			state_detectors[k].fn(&d, ev[i]);
	}
	h_ttl(&d);
	if ((ret = h_resolver_ttl(&d)))
		goto done;
	if ((ret = fetch_run(db, zone, at, NULL, on_fetch_resolver, NULL, &d)))
		goto done;
	if ((ret = og_run(db, zone, at, opts ? opts->baseline : 0, NULL, on_vantage, &d)))
		goto done;
	ret = d.err;
	for (size_t i = 0; i < d.mn && ret == OBS_EOK; i++) {
		det_finding_t *f = &d.m[i].f;
		obs_usec_t end = f->hi == INT64_MAX ? at : f->hi;
		if (strcmp(f->id, "R-2") == 0 && end - f->lo > 600 * OBS_USEC_PER_SEC)
			f->sev = SEV_WARN; /* persists beyond a change */
		cb(arg, f);
	}
done:
	for (size_t i = 0; i < d.sn; i++)
		free(d.s[i].runs);
	for (size_t i = 0; i < d.tn; i++)
		free(d.t[i].lo);
	free(d.s);
	free(d.t);
	free(d.m);
	free(ev);
	vers_cache_free(d.vc);
	nsr_free(d.nsr);
	return ret;
}
