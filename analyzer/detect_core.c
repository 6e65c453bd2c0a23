/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "detect_int.h"
#include "keys.h"
#include "obs_err.h"

const int det_jrank[6] = {0, 1, 1, 2, 3, 4};
obs_usec_t det_item_lo(const item_t *it)
{
	return it->r->prev != INT64_MIN ? it->r->prev : it->r->first;
}

obs_usec_t det_item_hi(const item_t *it)
{
	return it->r->next;
}

void det_emit(struct det_ctx *d, const char *id, enum det_sev sev, const char *prov,
	      const char *server, const char *vantage, obs_usec_t lo, obs_usec_t hi,
	      const int64_t *vids, size_t nv, const int64_t *obs, size_t no, const char *fmt, ...)
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

bool det_tgt_lame(const struct tgt *g, obs_usec_t *since, int64_t *obs)
{
	if (g->lo_cur == 0)
		return false;
	const struct lameobs *l = &g->lo[g->lo_cur - 1];
	*since = l->t;
	*obs = l->id;
	return l->lame;
}

/* served items of a role at parent (origin NULL) or at provider origin ("" = every provider) */
size_t det_served(struct det_ctx *d, const char *role, const char *origin, item_t *out, size_t max)
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
size_t det_distinct(item_t *it, size_t n)
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

/* Is provider prov NS-reachable at t? [*lo, *hi) is narrowed to the interval around t over
 * which the answer stays the same (lo, hi may be NULL). */
bool det_reach(struct det_ctx *d, const char *prov, obs_usec_t t, obs_usec_t *lo, obs_usec_t *hi)
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
size_t det_reachable(struct det_ctx *d, obs_usec_t t, item_t *it, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tgt *g = &d->t[it[i].s->tgt];
		if (g->parent || det_reach(d, g->origin, t, NULL, NULL))
			it[k++] = it[i];
	}
	return k;
}

/* The window of a finding about items a and b (b may be NULL) seen at t: the overlap of their
 * runs, narrowed to the reachability interval of their providers around t. */
void det_window(struct det_ctx *d, obs_usec_t t, const item_t *a, const item_t *b, obs_usec_t *lo,
		obs_usec_t *hi)
{
	*lo = det_item_lo(a);
	*hi = det_item_hi(a);
	if (b && det_item_lo(b) > *lo)
		*lo = det_item_lo(b);
	if (b && det_item_hi(b) < *hi)
		*hi = det_item_hi(b);
	for (int i = 0; i < 2; i++) {
		const item_t *x = i ? b : a;
		if (x && !d->t[x->s->tgt].parent)
			det_reach(d, d->t[x->s->tgt].origin, t, lo, hi);
	}
}

/* det_judge's memo: for one (K, X) of the version cache (its pointers are stable while the
 * detectors run), each signature item of X with its group and validity serials, and per (item,
 * key of K) what sigv_check said, asked the first time det_judge needs it. Only the time
 * judgement is made again at every instant: inception and expiration are the serials resolved
 * around t, as sigv_check resolves them around its tref. sigv_check itself is memoised (a
 * SHA-256 over the triple per call); this skips the hash, the parsing and the key tags. */
enum { JS_UNKNOWN = 0, JS_UNUSABLE, JS_BAD, JS_OK };

struct jsig {
	int g; /* group (sigv_group), -1: the item does not count */
	uint32_t inc, exp;
	const uint8_t *it;
	size_t len;
};

struct jmemo {
	const vers_t *K, *X;
	struct jsig *sig;
	size_t nsig, nkey, ngrp;
	const uint8_t **key;
	size_t *keylen;
	uint8_t *state; /* nsig x nkey, JS_* */
};

void det_judge_free(struct det_ctx *d)
{
	for (size_t i = 0; i < d->jm_n; i++) {
		free(d->jm[i].sig);
		free(d->jm[i].key);
		free(d->jm[i].keylen);
		free(d->jm[i].state);
	}
	free(d->jm);
	d->jm = NULL;
	d->jm_n = d->jm_cap = 0;
}

static struct jmemo *jmemo_get(struct det_ctx *d, const vers_t *K, const vers_t *X)
{
	for (size_t i = 0; i < d->jm_n; i++)
		if (d->jm[i].K == K && d->jm[i].X == X)
			return &d->jm[i];
	if (d->jm_n == d->jm_cap) {
		size_t nc = d->jm_cap ? d->jm_cap * 2 : 64;
		struct jmemo *n = realloc(d->jm, nc * sizeof(*n));
		if (n == NULL)
			return NULL;
		d->jm = n;
		d->jm_cap = nc;
	}
	struct jmemo *m = &d->jm[d->jm_n];
	memset(m, 0, sizeof(*m));
	m->K = K;
	m->X = X;
	m->nsig = vers_count(X->rrsig, X->rrsig_len);
	m->nkey = vers_count(K->rdata, K->rdata_len);
	m->sig = calloc(m->nsig ? m->nsig : 1, sizeof(*m->sig));
	m->key = calloc(m->nkey ? m->nkey : 1, sizeof(*m->key));
	m->keylen = calloc(m->nkey ? m->nkey : 1, sizeof(*m->keylen));
	size_t cells = m->nsig * m->nkey;
	m->state = calloc(cells > 0 ? cells : 1, 1);
	if (!m->sig || !m->key || !m->keylen || !m->state) {
		free(m->sig);
		free(m->key);
		free(m->keylen);
		free(m->state);
		return NULL;
	}
	sigv_groups_t grp = {0};
	size_t pos = 0, len, i = 0;
	const uint8_t *it;
	while (i < m->nsig && vers_next(X->rrsig, X->rrsig_len, &pos, &it, &len, NULL)) {
		sig_info_t si;
		struct jsig *js = &m->sig[i++];
		js->g = sigv_group(X, &grp, it, len, &si);
		js->inc = si.inc_serial;
		js->exp = si.exp_serial;
		js->it = it;
		js->len = len;
	}
	m->nsig = i;
	m->ngrp = grp.n;
	pos = 0;
	i = 0;
	while (i < m->nkey && vers_next(K->rdata, K->rdata_len, &pos, &it, &len, NULL)) {
		m->key[i] = it;
		m->keylen[i++] = len;
	}
	m->nkey = i;
	d->jm_n++;
	return m;
}

/* Can DNSKEY version K authenticate version X at t (any one valid RRSIG; for a negative proof,
 * every signed RRset of it)? only_key: judge only signatures by this key RDATA (NULL: any). */
enum jres det_judge(struct det_ctx *d, const vers_t *K, const vers_t *X, obs_usec_t t,
		    const uint8_t *only_key, size_t only_len, obs_usec_t *max_exp)
{
	enum jres best[SIGV_GROUPS];
	if (max_exp)
		*max_exp = INT64_MIN;
	for (size_t g = 0; g < SIGV_GROUPS; g++)
		best[g] = J_NOKEY;
	struct jmemo *m = jmemo_get(d, K, X);
	if (m == NULL) {
		d->err = OBS_ENOMEM;
		return J_NOSIG;
	}
	for (size_t i = 0; i < m->nsig; i++) {
		const struct jsig *js = &m->sig[i];
		if (js->g < 0)
			continue;
		for (size_t k = 0; k < m->nkey; k++) {
			const uint8_t *kit = m->key[k];
			size_t kl = m->keylen[k];
			if (only_key && (kl != only_len || memcmp(kit, only_key, kl) != 0))
				continue;
			uint8_t *st = &m->state[i * m->nkey + k];
			if (*st == JS_UNKNOWN) {
				sigv_res_t res;
				if (sigv_check(d->sv, X, js->it, js->len, K->owner, kit, kl, t,
					       &res) ||
				    !res.usable)
					*st = JS_UNUSABLE;
				else
					*st = res.crypto_ok ? JS_OK : JS_BAD;
			}
			if (*st == JS_UNUSABLE)
				continue;
			obs_usec_t inception = sigv_abs_time(js->inc, t);
			obs_usec_t expiration = sigv_abs_time(js->exp, t);
			enum jres r = *st == JS_BAD                           ? J_CRYPTO
				      : t < inception                         ? J_NOTYET
				      : t > expiration + OBS_USEC_PER_SEC - 1 ? J_EXPIRED
									      : J_OK;
			if (r == J_OK && max_exp && expiration > *max_exp)
				*max_exp = expiration;
			if (det_jrank[r] < det_jrank[best[js->g]])
				best[js->g] = r;
		}
	}
	if (m->ngrp == 0)
		return J_NOSIG;
	enum jres worst = J_OK;
	for (size_t g = 0; g < m->ngrp; g++) {
		if (det_jrank[best[g]] > det_jrank[worst])
			worst = best[g];
	}
	return worst;
}

bool det_alg_supported(uint8_t alg)
{
	return alg == 5 || alg == 7 || alg == 8 || alg == 10 || alg == 13 || alg == 14 ||
	       alg == 15 || alg == 16;
}

enum det_chain det_chain_of(struct det_ctx *d, const vers_t *D, const vers_t *K, obs_usec_t t,
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
		    !det_alg_supported(ds.alg))
			continue;
		any_supported = true;
		if (K == NULL)
			continue;
		size_t kp = 0, kl;
		const uint8_t *kit;
		while (vers_next(K->rdata, K->rdata_len, &kp, &kit, &kl, NULL)) {
			key_info_t ki;
			if (keys_parse_head(kit, kl, &ki) || !(ki.flags & KEY_F_ZONE) ||
			    (ki.flags & KEY_F_REVOKE) || !keys_ds_matches(&ds, d->zone, kit, kl))
				continue;
			*matched = true;
			enum jres r = det_judge(d, K, K, t, kit, kl, NULL);
			if (r == J_OK)
				return CH_SECURE;
			if (det_jrank[r] < det_jrank[*why])
				*why = r;
		}
	}
	return any_supported ? CH_BOGUS : CH_INSECURE;
}

const char *det_jres_text(enum jres r)
{
	static const char *const t[] = {
	    "valid",  "expired", "not yet valid", "fails verification", "made by no key of the set",
	    "missing"};
	return t[r];
}

void det_typestr(uint16_t type, char *buf, size_t len)
{
	const ldns_rr_descriptor *desc = ldns_rr_descript(type);
	if (desc && desc->_name)
		snprintf(buf, len, "%s", desc->_name);
	else
		snprintf(buf, len, "TYPE%u", type);
}

size_t det_ns_names(const vers_t *v, char (*out)[256], size_t max)
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

bool det_cds_has_delete(const vers_t *v, bool *only)
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

uint32_t det_algs_of(const vers_t *v)
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

bool det_vantage_excluded(const struct det_ctx *d, const char *vantage)
{
	for (size_t i = 0; i < d->novalid_n; i++) {
		if (strcmp(d->novalid[i], vantage) == 0)
			return true;
	}
	return false;
}

bool det_ds_served_at(const struct det_ctx *d, obs_usec_t t)
{
	for (size_t i = 0; i < d->sn; i++) {
		const struct ser *s = &d->s[i];
		if (!d->t[s->tgt].parent || strcmp(s->role, "ds") != 0)
			continue;
		for (size_t k = 0; k < s->n; k++) {
			const struct run *r = &s->runs[k];
			if (r->first > t || (r->next != INT64_MAX && r->next <= t) || r->vid <= 0)
				continue;
			const vers_t *v = vers_get(d->vc, r->vid);
			if (v && v->kind == VK_ANSWER)
				return true;
		}
	}
	return false;
}

bool det_ede_has(const char *ede, int code)
{
	while (ede && *ede) {
		char *end;
		long c = strtol(ede, &end, 10);
		if (end == ede)
			return false;
		if (c == code)
			return true;
		ede = *end == ',' ? end + 1 : end;
	}
	return false;
}

uint32_t det_key_algs(const vers_t *K)
{
	uint32_t m = 0;
	size_t pos = 0, len;
	const uint8_t *it;
	while (K && vers_next(K->rdata, K->rdata_len, &pos, &it, &len, NULL)) {
		/* flags (2), protocol, algorithm: no key tag or fingerprint needed here */
		uint16_t flags = len >= 4 ? (uint16_t)(it[0] << 8 | it[1]) : 0;
		if ((flags & KEY_F_ZONE) && !(flags & KEY_F_REVOKE) && it[3] < 32)
			m |= 1u << it[3];
	}
	return m;
}
