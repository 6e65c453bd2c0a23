/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "model.h"
#include "obs_err.h"

#define SEC OBS_USEC_PER_SEC

const mdl_prof_t mdl_prof_default = {"default", MN_ONESTEP, false, 0, 0};

const mdl_prof_t mdl_profiles[] = {
    {"strict", MN_ONESTEP, true, 0, 0},
    {"child_chain", MN_CHILD_CHAIN, false, 0, 0},
    {"stretch_300", MN_ONESTEP, false, 300 * SEC, 0},
    {"stale_86400", MN_ONESTEP, false, 0, 86400 * SEC},
};
const size_t mdl_profiles_n = sizeof(mdl_profiles) / sizeof(mdl_profiles[0]);

bool mdl_alg_supported(uint8_t alg)
{
	return alg == 5 || alg == 7 || alg == 8 || alg == 10 || alg == 13 || alg == 14 ||
	       alg == 15 || alg == 16;
}

static void ver_free(mdl_ver_t *v)
{
	free(v->sig);
	v->sig = NULL;
	v->nsig = 0;
	iset_free(&v->served);
	iset_free(&v->seen);
	iset_free(&v->F);
	iset_free(&v->C);
	iset_free(&v->Fs);
	iset_free(&v->Cs);
}

void mdl_free(mdl_t *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nv; i++)
		ver_free(&m->v[i]);
	for (size_t i = 0; i < m->ns; i++) {
		iset_free(&m->srv[i].lame);
		iset_free(&m->srv[i].dead);
	}
	for (size_t i = 0; i < MDL_MAXPROV; i++)
		iset_free(&m->nsr[i]);
	free(m->v);
	free(m->srv);
	free(m->keys);
	free(m);
}

int mdl_prov(const mdl_t *m, const char *name)
{
	for (size_t i = 0; i < m->np; i++)
		if (strcmp(m->prov[i], name) == 0)
			return (int)i;
	return -1;
}

int mdl_key_find(const mdl_t *m, const uint8_t *rdata, size_t len)
{
	for (size_t i = 0; i < m->nk; i++)
		if (m->keys[i].len == len && memcmp(m->keys[i].rdata, rdata, len) == 0)
			return (int)i;
	return -1;
}

mdl_mask_t mdl_alg_mask(const mdl_t *m, uint8_t alg)
{
	mdl_mask_t r = 0;
	for (size_t i = 0; i < m->nk; i++)
		if (m->keys[i].info.alg == alg)
			r |= (mdl_mask_t)1 << i;
	return r;
}

const char *mdl_key_label(const mdl_t *m, int i, char *buf, size_t len)
{
	if (i < 0 || (size_t)i >= m->nk)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%u/%u", m->keys[i].info.alg, m->keys[i].info.tag);
	return buf;
}

const char *mdl_ver_label(const mdl_t *m, const mdl_ver_t *v, char *buf, size_t len)
{
	static const char *const cls[] = {"DS", "NS(referral)", "DNSKEY", ""};
	char what[64];
	if (v->cls == MC_DATA)
		snprintf(what, sizeof(what), "%s/%s", v->owner, v->role);
	else
		snprintf(what, sizeof(what), "%s", cls[v->cls]);
	const char *o = v->origin == MDL_PARENT ? "parent" : m->prov[v->origin];
	if (v->id < 0)
		snprintf(buf, len, "%s (after the step) at %s", what, o);
	else
		snprintf(buf, len, "%s v%lld at %s", what, (long long)v->id, o);
	return buf;
}

int mdl_add_ver(mdl_t *m, mdl_ver_t *v, size_t *idx)
{
	if (m->nv == m->vcap) {
		size_t cap = m->vcap ? m->vcap * 2 : 64;
		mdl_ver_t *n = realloc(m->v, cap * sizeof(*n));
		if (n == NULL)
			return OBS_ENOMEM;
		m->v = n;
		m->vcap = cap;
	}
	m->v[m->nv] = *v;
	memset(v, 0, sizeof(*v));
	if (idx)
		*idx = m->nv;
	m->nv++;
	return OBS_EOK;
}

/* ---- loading ---- */

static int load_targets(an_db_t *db, mdl_t *m, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(db),
			       "SELECT kind, origin, host, address FROM target WHERE zone = ? AND "
			       "kind IN ('parent', 'provider') ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	int ret = OBS_EOK;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		bool parent = strcmp((const char *)sqlite3_column_text(st, 0), "parent") == 0;
		const char *origin = (const char *)sqlite3_column_text(st, 1);
		const char *host = (const char *)sqlite3_column_text(st, 2);
		const char *addr = (const char *)sqlite3_column_text(st, 3);
		int o = MDL_PARENT;
		if (!parent && (o = mdl_prov(m, origin)) < 0) {
			if (m->np == MDL_MAXPROV) {
				snprintf(err, errlen, "zone %s: more than %d providers", m->zone,
					 MDL_MAXPROV);
				ret = OBS_ELIMIT;
				break;
			}
			snprintf(m->prov[m->np], sizeof(m->prov[0]), "%s", origin);
			o = (int)m->np++;
		}
		bool dup = false;
		for (size_t i = 0; i < m->ns; i++)
			dup |= m->srv[i].origin == o && strcmp(m->srv[i].address, addr) == 0 &&
			       strcasecmp(m->srv[i].host, host) == 0;
		if (dup)
			continue;
		mdl_srv_t *n = realloc(m->srv, (m->ns + 1) * sizeof(*n));
		if (n == NULL) {
			ret = OBS_ENOMEM;
			break;
		}
		m->srv = n;
		mdl_srv_t *s = &m->srv[m->ns++];
		memset(s, 0, sizeof(*s));
		s->origin = o;
		snprintf(s->address, sizeof(s->address), "%s", addr);
		snprintf(s->host, sizeof(s->host), "%s", host);
		s->last_poll = INT64_MIN;
	}
	sqlite3_finalize(st);
	if (ret == OBS_EOK && m->ns == 0) {
		snprintf(err, errlen, "zone %s: not in the analysis database", m->zone);
		ret = OBS_ENOENT;
	}
	return ret;
}

static int load_keys(an_db_t *db, mdl_t *m, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(an_db_sql(db), "SELECT rdata FROM zkey WHERE zone = ? ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	int ret = OBS_EOK;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *rd = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (len > sizeof(m->keys[0].rdata) || rd == NULL)
			continue; /* never seen: 1024 bytes hold an RSA-4096 key */
		if (m->nk == MDL_MAXKEYS) {
			snprintf(err, errlen, "zone %s: more than %d keys in the key table",
				 m->zone, MDL_MAXKEYS);
			ret = OBS_ELIMIT;
			break;
		}
		mdl_key_t *k = &m->keys[m->nk];
		if (keys_parse(rd, len, &k->info) != OBS_EOK)
			continue;
		memcpy(k->rdata, rd, len);
		k->len = len;
		m->nk++;
	}
	sqlite3_finalize(st);
	return ret;
}

/* providers named by NS RDATA items: a bit per provider index; names mapping to no provider
 * count for "?" when such a provider exists (the collector polls them), else are ignored */
static uint64_t ns_named(const mdl_t *m, const uint8_t *blob, size_t blen)
{
	size_t pos = 0, len, k = 0;
	const uint8_t *it;
	uint64_t mask = 0;
	while (k++ < MDL_MAXNAMES && vers_next(blob, blen, &pos, &it, &len, NULL)) {
		ldns_rdf *r = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, it);
		if (r == NULL)
			continue;
		char name[256];
		ans_dname_text(r, name, sizeof(name));
		ldns_rdf_deep_free(r);
		int p = -1;
		for (size_t s = 0; s < m->ns && p < 0; s++)
			if (m->srv[s].origin != MDL_PARENT && strcasecmp(m->srv[s].host, name) == 0)
				p = m->srv[s].origin;
		if (p < 0)
			p = mdl_prov(m, "?");
		if (p >= 0)
			mask |= (uint64_t)1 << p;
	}
	return mask;
}

static void decode_ds(const mdl_t *m, const vers_t *v, mdl_ver_t *mv)
{
	bool any = false;
	size_t pos = 0, len;
	const uint8_t *it;
	while (v->kind == VK_ANSWER && vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
		ds_info_t ds;
		if (keys_ds_parse(it, len, &ds) || !keys_digest_supported(ds.dtype) ||
		    !mdl_alg_supported(ds.alg))
			continue;
		any = true;
		for (size_t i = 0; i < m->nk; i++)
			if (keys_ds_matches(&ds, m->zone, m->keys[i].rdata, m->keys[i].len))
				mv->keys |= (mdl_mask_t)1 << i;
	}
	mv->insecure = !any;
}

static void decode_dnskey(const mdl_t *m, const vers_t *v, mdl_ver_t *mv)
{
	size_t pos = 0, len;
	const uint8_t *it;
	while (v->kind == VK_ANSWER && vers_next(v->rdata, v->rdata_len, &pos, &it, &len, NULL)) {
		int i = mdl_key_find(m, it, len);
		if (i < 0)
			continue;
		const key_info_t *k = &m->keys[i].info;
		if ((k->flags & KEY_F_ZONE) && !(k->flags & KEY_F_REVOKE) &&
		    mdl_alg_supported(k->alg))
			mv->keys |= (mdl_mask_t)1 << i;
	}
}

/* every RRSIG as a time segment per candidate key that verifies */
static int decode_sigs(const mdl_t *m, sigv_t *sv, const vers_t *v, mdl_ver_t *mv, obs_usec_t tref)
{
	sigv_groups_t grp = {0};
	size_t cap = 0, pos = 0, len;
	const uint8_t *it;
	while (vers_next(v->rrsig, v->rrsig_len, &pos, &it, &len, NULL)) {
		sig_info_t si;
		int g = sigv_group(v, &grp, it, len, &si);
		if (g < 0)
			continue;
		for (size_t k = 0; k < m->nk; k++) {
			if (m->keys[k].info.alg != si.alg || m->keys[k].info.tag != si.tag)
				continue;
			mv->keys |= (mdl_mask_t)1 << k;
			sigv_res_t res;
			if (sigv_check(sv, v, it, len, m->zone, m->keys[k].rdata, m->keys[k].len,
				       tref, &res) != OBS_EOK ||
			    !res.usable)
				continue;
			if (!res.crypto_ok) {
				mv->vfail = true;
				continue;
			}
			if (mv->nsig == cap) {
				cap = cap ? cap * 2 : 4;
				mdl_sig_t *n = realloc(mv->sig, cap * sizeof(*n));
				if (n == NULL)
					return OBS_ENOMEM;
				mv->sig = n;
			}
			mv->signers |= (mdl_mask_t)1 << k;
			/* the freeze assumption (A4): a signature still valid at `at` is renewed
			 * as long as the version is served; expiries are judged only up to `at` */
			obs_usec_t hi = res.expiration + SEC;
			mv->sig[mv->nsig++] = (mdl_sig_t){res.inception, hi > m->at ? ISET_INF : hi,
							  (uint8_t)k, (uint8_t)g};
		}
	}
	mv->ngroups = (uint8_t)(grp.n ? grp.n : 1);
	return OBS_EOK;
}

static int decode(mdl_t *m, sigv_t *sv, vers_cache_t *vc, mdl_ver_t *mv)
{
	const vers_t *v = vers_get(vc, mv->id);
	if (v == NULL)
		return OBS_ENOMEM;
	snprintf(mv->owner, sizeof(mv->owner), "%s", v->owner);
	mv->type = v->type;
	mv->kind = v->kind;
	obs_usec_t tref = iset_inf(&mv->served);
	if (tref == ISET_NEG_INF || tref == ISET_INF)
		tref = m->at;
	switch (mv->cls) {
	case MC_DS:
		decode_ds(m, v, mv);
		return OBS_EOK;
	case MC_NSP:
		mv->names = ns_named(m, v->rdata, v->rdata_len);
		return OBS_EOK;
	case MC_DNSKEY:
		decode_dnskey(m, v, mv);
		break;
	case MC_DATA:
		if (strcmp(mv->role, "ns") == 0 && v->kind == VK_ANSWER)
			mv->names = ns_named(m, v->rdata, v->rdata_len);
		break;
	}
	mdl_mask_t kmask = mv->keys; /* decode_sigs ORs in the keys its RRSIGs name */
	int ret = decode_sigs(m, sv, v, mv, tref);
	if (mv->cls == MC_DNSKEY)
		mv->keys = kmask;
	return ret;
}

static int load_versions(an_db_t *db, sigv_t *sv, mdl_t *m)
{
	sqlite3_stmt *st = NULL;
	vers_cache_t *vc = NULL;
	int ret = vers_cache_new(db, &vc);
	if (ret)
		return ret;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT r.version_id, t.kind, t.origin, s.role, r.first_seen, r.prev_poll, "
		"r.next_poll, coalesce(r.ttl_max_s, 0), t.address, r.last_seen, r.next_shifted "
		"FROM run_ref r JOIN "
		"series s ON s.id = "
		"r.series_id JOIN target t ON t.id = s.target_id WHERE t.zone = ? AND t.kind IN "
		"('parent', 'provider') AND (s.flags & 1) = 0 AND r.version_id != 0 AND "
		"r.first_seen <= ? AND s.role NOT IN ('addr', 'bogus') ORDER BY t.origin, "
		"s.role, r.version_id, r.first_seen",
		-1, &st, NULL) != SQLITE_OK) {
		vers_cache_free(vc);
		return OBS_ESQL;
	}
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, m->at);
	mdl_ver_t *cur = NULL;
	iset_t run = ISET_INIT, tmp = ISET_INIT;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		int64_t vid = sqlite3_column_int64(st, 0);
		bool parent = strcmp((const char *)sqlite3_column_text(st, 1), "parent") == 0;
		int o = parent ? MDL_PARENT : mdl_prov(m, (const char *)sqlite3_column_text(st, 2));
		const char *role = (const char *)sqlite3_column_text(st, 3);
		if (!parent && o < 0)
			continue;
		if (cur == NULL || cur->id != vid || cur->origin != o || strcmp(cur->role, role)) {
			mdl_ver_t nv = {.id = vid, .origin = o};
			snprintf(nv.role, sizeof(nv.role), "%s", role);
			nv.cls = parent ? (strcmp(role, "ds") == 0 ? MC_DS : MC_NSP)
				 : strcmp(role, "dnskey") == 0 ? MC_DNSKEY
							       : MC_DATA;
			if (parent && strcmp(role, "ds") && strcmp(role, "referral"))
				continue;
			if ((ret = mdl_add_ver(m, &nv, NULL)))
				break;
			cur = &m->v[m->nv - 1];
		}
		obs_usec_t lo = sqlite3_column_type(st, 5) == SQLITE_NULL
				    ? ISET_NEG_INF
				    : sqlite3_column_int64(st, 5);
		obs_usec_t hi = sqlite3_column_type(st, 6) == SQLITE_NULL
				    ? ISET_INF
				    : sqlite3_column_int64(st, 6);
		/* still served as of `at` by the collector's clock shifted (next_shifted); a run it
		 * saw end by `at` is not opened by the offset's uncertainty, only cut at `at` */
		if (sqlite3_column_type(st, 10) == SQLITE_NULL ||
		    sqlite3_column_int64(st, 10) > m->at)
			hi = ISET_INF;
		else if (hi > m->at)
			hi = m->at;
		int64_t ttl = sqlite3_column_int64(st, 7);
		if (ttl > cur->ttl_s)
			cur->ttl_s = ttl;
		obs_usec_t first = sqlite3_column_int64(st, 4), last = sqlite3_column_int64(st, 9);
		if (last > m->at)
			last = m->at;
		const char *addr = (const char *)sqlite3_column_text(st, 8);
		const iset_t *dead = NULL;
		for (size_t k = 0; k < m->ns && dead == NULL; k++)
			if (m->srv[k].origin == o && strcmp(m->srv[k].address, addr) == 0)
				dead = &m->srv[k].dead;
		run.n = 0;
		if ((ret = iset_add(&run, lo, hi)) == OBS_EOK && dead &&
		    (ret = iset_minus(&run, dead, &tmp)) == OBS_EOK)
			ret = iset_copy(&run, &tmp);
		if (ret == OBS_EOK && (ret = iset_or(&cur->served, &run, &tmp)) == OBS_EOK)
			ret = iset_copy(&cur->served, &tmp);
		if (ret == OBS_EOK)
			ret = iset_add(&cur->seen, first, last + 1);
	}
	iset_free(&run);
	iset_free(&tmp);
	sqlite3_finalize(st);
	for (size_t i = 0; ret == OBS_EOK && i < m->nv; i++)
		ret = decode(m, sv, vc, &m->v[i]);
	vers_cache_free(vc);
	return ret;
}

static bool is_lame(int status, int rcode, int flags)
{
	return status != 0 || (rcode != 0 && rcode != 3) || !(flags & ANS_F_AA);
}

/* lameness and the last poll of every server, from its SOA (provider) or DS (parent) polls */
#define LAME_SQL "(status != 0 OR rcode NOT IN (0, 3) OR (flags & 1) = 0)"

/* The lame periods of one series up to m->at, from the failed polls alone (partial index
 * observation_lame2, migration 7; load_lame passes RD=0 series only, whose rows all have
 * recursive NULL): each stretch of failures runs from the good poll before it
 * to the good poll after it (conservative); one still failing at `at` also marks the server
 * dead from its first failure. Then the series' last poll. */
static int series_lame(an_db_t *db, mdl_t *m, mdl_srv_t *s, int64_t sid)
{
	static const char *const q[] = {
	    "SELECT t FROM observation WHERE series_id = ?1 AND t > ?2 AND t <= ?3 AND recursive "
	    "IS NULL AND " LAME_SQL " ORDER BY t LIMIT 1",
	    "SELECT max(t) FROM observation WHERE series_id = ?1 AND t < ?2 AND NOT " LAME_SQL,
	    "SELECT min(t) FROM observation WHERE series_id = ?1 AND t > ?2 AND t <= ?3 AND "
	    "NOT " LAME_SQL,
	    "SELECT t, status, coalesce(rcode, -1), coalesce(flags, 0), id FROM observation "
	    "WHERE series_id = ?1 AND t <= ?3 ORDER BY t DESC LIMIT 1",
	    "SELECT min(t) FROM observation WHERE series_id = ?1"};
	sqlite3_stmt *st[5] = {NULL};
	int ret = OBS_EOK;
	for (int i = 0; i < 5 && ret == OBS_EOK; i++)
		if (sqlite3_prepare_v2(an_db_sql(db), q[i], -1, &st[i], NULL) != SQLITE_OK)
			ret = OBS_ESQL;
	obs_usec_t from = INT64_MIN;
	while (ret == OBS_EOK) {
		/* the next failed poll after `from` */
		sqlite3_bind_int64(st[0], 1, sid);
		sqlite3_bind_int64(st[0], 2, from);
		sqlite3_bind_int64(st[0], 3, m->at);
		bool found = sqlite3_step(st[0]) == SQLITE_ROW;
		obs_usec_t bad = found ? sqlite3_column_int64(st[0], 0) : 0;
		sqlite3_reset(st[0]);
		if (!found)
			break;
		sqlite3_bind_int64(st[1], 1, sid);
		sqlite3_bind_int64(st[1], 2, bad);
		obs_usec_t before = sqlite3_step(st[1]) == SQLITE_ROW &&
					    sqlite3_column_type(st[1], 0) != SQLITE_NULL
					? sqlite3_column_int64(st[1], 0)
					: ISET_NEG_INF;
		sqlite3_reset(st[1]);
		sqlite3_bind_int64(st[2], 1, sid);
		sqlite3_bind_int64(st[2], 2, bad);
		sqlite3_bind_int64(st[2], 3, m->at);
		obs_usec_t after = sqlite3_step(st[2]) == SQLITE_ROW &&
					   sqlite3_column_type(st[2], 0) != SQLITE_NULL
				       ? sqlite3_column_int64(st[2], 0)
				       : ISET_INF;
		sqlite3_reset(st[2]);
		if ((ret = iset_add(&s->lame, before, after)) == OBS_EOK && after == ISET_INF)
			ret = iset_add(&s->dead, bad, ISET_INF);
		if (after == ISET_INF)
			break;
		from = after;
	}
	if (ret == OBS_EOK) {
		sqlite3_bind_int64(st[3], 1, sid);
		sqlite3_bind_int64(st[3], 3, m->at);
		if (sqlite3_step(st[3]) == SQLITE_ROW) {
			obs_usec_t t = sqlite3_column_int64(st[3], 0);
			if (t > s->last_poll) {
				s->last_poll = t;
				s->answering = !is_lame(sqlite3_column_int(st[3], 1),
							sqlite3_column_int(st[3], 2),
							sqlite3_column_int(st[3], 3));
				s->last_obs = sqlite3_column_int64(st[3], 4);
			}
			if (t > m->last_obs)
				m->last_obs = t;
		}
		sqlite3_bind_int64(st[4], 1, sid);
		if (sqlite3_step(st[4]) == SQLITE_ROW &&
		    sqlite3_column_type(st[4], 0) != SQLITE_NULL &&
		    sqlite3_column_int64(st[4], 0) < m->first_obs &&
		    sqlite3_column_int64(st[4], 0) <= m->at)
			m->first_obs = sqlite3_column_int64(st[4], 0);
	}
	for (int i = 0; i < 5; i++)
		sqlite3_finalize(st[i]);
	return ret;
}

/* lameness and the last poll of every server, from its SOA (provider) or DS (parent) polls */
static int load_lame(an_db_t *db, mdl_t *m)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT s.id FROM series s JOIN target t ON t.id = s.target_id "
		"WHERE t.zone = ?1 AND t.address = ?2 AND t.origin = ?3 AND s.role = "
		"?4 AND (s.flags & 1) = 0",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	int ret = OBS_EOK;
	for (size_t i = 0; ret == OBS_EOK && i < m->ns; i++) {
		mdl_srv_t *s = &m->srv[i];
		sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->origin == MDL_PARENT ? "PARENT" : m->prov[s->origin],
				  -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->origin == MDL_PARENT ? "ds" : "soa", -1, SQLITE_STATIC);
		while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW)
			ret = series_lame(db, m, s, sqlite3_column_int64(st, 0));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

/* the poll period: mean spacing of consecutive polls inside the zone's SOA and DS runs */
static int load_meta(an_db_t *db, mdl_t *m)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT sum(r.last_seen - r.first_seen), sum(r.count - 1) FROM run_ref r "
		"JOIN series s ON s.id = r.series_id JOIN target t ON t.id = "
		"s.target_id WHERE t.zone = ? AND s.role IN ('soa', 'ds') AND "
		"r.count > 1 AND r.first_seen <= ?",
		-1, &st, NULL) != SQLITE_OK)
		return OBS_ESQL;
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, m->at);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 1) > 0)
		m->poll = sqlite3_column_int64(st, 0) / sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (m->poll <= 0)
		m->poll = SEC;
	/* runs come shifted to the reference clock (run_ref): what is left of the clock
	 * offsets is their uncertainty */
	int64_t off = 0;
	if (an_db_int(db,
		      "SELECT coalesce(max(max(coalesce(offset_hi_us, clock_offset_us) - "
		      "clock_offset_us, clock_offset_us - coalesce(offset_lo_us, "
		      "clock_offset_us))), 0) FROM collector",
		      &off) != OBS_EOK)
		return OBS_ESQL;
	m->eps = off;
	for (size_t i = 0; i < m->nv; i++)
		m->parent_seen |= m->v[i].cls == MC_NSP;
	return OBS_EOK;
}

int mdl_load(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, mdl_t **out, char *err,
	     size_t errlen)
{
	*out = NULL;
	mdl_t *m = calloc(1, sizeof(*m));
	if (m == NULL || (m->keys = calloc(MDL_MAXKEYS, sizeof(*m->keys))) == NULL) {
		mdl_free(m);
		return OBS_ENOMEM;
	}
	snprintf(m->zone, sizeof(m->zone), "%s", zone);
	m->at = at;
	m->last_obs = INT64_MIN;
	m->first_obs = INT64_MAX;
	m->next_hypo = -1;
	int ret = load_targets(db, m, err, errlen);
	if (ret == OBS_EOK)
		ret = load_keys(db, m, err, errlen);
	if (ret == OBS_EOK)
		ret = load_lame(db, m);
	if (ret == OBS_EOK)
		ret = load_versions(db, sv, m);
	if (ret == OBS_EOK)
		ret = load_meta(db, m);
	if (ret != OBS_EOK) {
		mdl_free(m);
		return ret;
	}
	*out = m;
	return OBS_EOK;
}

int mdl_copy(const mdl_t *m, mdl_t **out)
{
	*out = NULL;
	mdl_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OBS_ENOMEM;
	memcpy(c, m, sizeof(*c));
	c->keys = NULL;
	c->srv = NULL;
	c->v = NULL;
	c->nv = c->vcap = c->ns = 0;
	memset(c->nsr, 0, sizeof(c->nsr));
	if ((c->keys = calloc(MDL_MAXKEYS, sizeof(*c->keys))) == NULL ||
	    (m->ns && (c->srv = calloc(m->ns, sizeof(*c->srv))) == NULL) ||
	    (m->nv && (c->v = calloc(m->nv, sizeof(*c->v))) == NULL))
		goto fail;
	memcpy(c->keys, m->keys, MDL_MAXKEYS * sizeof(*c->keys));
	c->vcap = m->nv;
	for (; c->ns < m->ns; c->ns++) {
		c->srv[c->ns] = m->srv[c->ns];
		memset(&c->srv[c->ns].lame, 0, sizeof(iset_t));
		memset(&c->srv[c->ns].dead, 0, sizeof(iset_t));
		if (iset_copy(&c->srv[c->ns].lame, &m->srv[c->ns].lame) ||
		    iset_copy(&c->srv[c->ns].dead, &m->srv[c->ns].dead))
			goto fail;
	}
	for (; c->nv < m->nv; c->nv++) {
		const mdl_ver_t *s = &m->v[c->nv];
		mdl_ver_t *d = &c->v[c->nv];
		*d = *s;
		d->sig = NULL;
		memset(&d->served, 0, sizeof(iset_t));
		memset(&d->seen, 0, sizeof(iset_t));
		memset(&d->F, 0, sizeof(iset_t));
		memset(&d->C, 0, sizeof(iset_t));
		memset(&d->Fs, 0, sizeof(iset_t));
		memset(&d->Cs, 0, sizeof(iset_t));
		if (s->nsig && (d->sig = malloc(s->nsig * sizeof(*d->sig))) == NULL)
			goto fail;
		if (s->nsig)
			memcpy(d->sig, s->sig, s->nsig * sizeof(*d->sig));
		if (iset_copy(&d->served, &s->served) || iset_copy(&d->seen, &s->seen) ||
		    iset_copy(&d->F, &s->F) || iset_copy(&d->C, &s->C))
			goto fail;
	}
	*out = c;
	return OBS_EOK;
fail:
	if (c->v && c->nv < m->nv)
		c->nv++; /* free the partly copied one too */
	mdl_free(c);
	return OBS_ENOMEM;
}

/* ---- availability ---- */

static obs_usec_t ttl_of(const mdl_t *m, const mdl_ver_t *v, const mdl_prof_t *p)
{
	obs_usec_t t = v->ttl_s * SEC;
	if (p->stretch && t < p->stretch)
		t = p->stretch;
	return t + p->stale + m->eps;
}

/* NSR0(p) from the parent's referral versions; then ONESTEP / CHILD_CHAIN rounds over the
 * providers' apex NS versions (reference §5.3) */
static int build_nsr(mdl_t *m, const mdl_prof_t *p)
{
	iset_t tmp = ISET_INIT, tmp2 = ISET_INIT, base[MDL_MAXPROV];
	int ret = OBS_EOK;
	memset(base, 0, sizeof(base));
	for (size_t i = 0; i < MDL_MAXPROV; i++)
		iset_clear(&m->nsr[i]);
	if (!m->parent_seen) { /* nothing known about the delegation: everyone, always */
		for (size_t i = 0; i < m->np; i++)
			if ((ret = iset_add(&m->nsr[i], ISET_NEG_INF, ISET_INF)))
				return ret;
		return OBS_EOK;
	}
	for (size_t i = 0; ret == OBS_EOK && i < m->nv; i++) {
		const mdl_ver_t *v = &m->v[i];
		if (v->cls != MC_NSP)
			continue;
		ret = iset_dilate(&v->served, ttl_of(m, v, p), &tmp);
		for (size_t q = 0; ret == OBS_EOK && q < m->np; q++) {
			if (!(v->names & ((uint64_t)1 << q)))
				continue;
			if ((ret = iset_or(&m->nsr[q], &tmp, &tmp2)) == OBS_EOK)
				ret = iset_copy(&m->nsr[q], &tmp2);
		}
	}
	if (p->ns == MN_PARENT_ONLY || ret)
		goto done;
	/* rounds: ONESTEP does one from NSR0, CHILD_CHAIN repeats until nothing changes */
	for (size_t round = 0; ret == OBS_EOK && round <= m->np * 4 + 1; round++) {
		for (size_t q = 0; ret == OBS_EOK && q < m->np; q++)
			ret = iset_copy(&base[q], &m->nsr[q]);
		bool changed = false;
		for (size_t i = 0; ret == OBS_EOK && i < m->nv; i++) {
			const mdl_ver_t *v = &m->v[i];
			if (v->cls != MC_DATA || strcmp(v->role, "ns") || v->names == 0 ||
			    v->origin < 0)
				continue;
			/* served at r while r was reachable, then cached for its TTL */
			if ((ret = iset_and(&v->served, &base[v->origin], &tmp)) ||
			    (ret = iset_dilate(&tmp, ttl_of(m, v, p), &tmp2)))
				break;
			for (size_t q = 0; ret == OBS_EOK && q < m->np; q++) {
				if (!(v->names & ((uint64_t)1 << q)))
					continue;
				size_t before = m->nsr[q].n;
				obs_usec_t sup = iset_sup(&m->nsr[q]);
				if ((ret = iset_or(&m->nsr[q], &tmp2, &tmp)) == OBS_EOK)
					ret = iset_copy(&m->nsr[q], &tmp);
				changed |= m->nsr[q].n != before || iset_sup(&m->nsr[q]) != sup;
			}
		}
		if (p->ns == MN_ONESTEP || !changed)
			break;
	}
done:
	iset_free(&tmp);
	iset_free(&tmp2);
	for (size_t i = 0; i < MDL_MAXPROV; i++)
		iset_free(&base[i]);
	return ret;
}

int mdl_avail(mdl_t *m, const mdl_prof_t *p)
{
	int ret = build_nsr(m, p);
	for (size_t i = 0; ret == OBS_EOK && i < m->nv; i++) {
		mdl_ver_t *v = &m->v[i];
		if (v->origin == MDL_PARENT)
			ret = iset_copy(&v->F, &v->served);
		else
			ret = iset_and(&v->served, &m->nsr[v->origin], &v->F);
		if (ret == OBS_EOK)
			ret = iset_dilate(&v->F, ttl_of(m, v, p), &v->C);
		if (ret == OBS_EOK)
			ret = v->origin == MDL_PARENT
				  ? iset_copy(&v->Fs, &v->seen)
				  : iset_and(&v->seen, &m->nsr[v->origin], &v->Fs);
		if (ret == OBS_EOK)
			ret = iset_dilate(&v->Fs, ttl_of(m, v, p), &v->Cs);
	}
	return ret;
}

/* ---- validity ---- */

/* union of the segments of group g of X by keys in mask */
static int segs(const mdl_ver_t *X, unsigned g, mdl_mask_t mask, iset_t *out)
{
	iset_clear(out);
	for (size_t i = 0; i < X->nsig; i++) {
		if (X->sig[i].group != g || !(mask & ((mdl_mask_t)1 << X->sig[i].key)))
			continue;
		if (iset_add(out, X->sig[i].lo, X->sig[i].hi))
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

int mdl_chain_valid(const mdl_t *m, const mdl_ver_t *D, const mdl_ver_t *K, iset_t *out)
{
	(void)m;
	iset_clear(out);
	if (D->insecure)
		return iset_add(out, ISET_NEG_INF, ISET_INF);
	return segs(K, 0, D->keys & K->keys, out);
}

/* intersect, over every group of X, the valid segments of the keys of mask */
static int groups_valid(const mdl_ver_t *X, mdl_mask_t mask, iset_t *out)
{
	iset_t a = ISET_INIT, b = ISET_INIT;
	int ret = OBS_EOK;
	iset_clear(out);
	for (unsigned g = 0; ret == OBS_EOK && g < X->ngroups; g++) {
		if ((ret = segs(X, g, mask, &a)))
			break;
		if (g == 0)
			ret = iset_copy(out, &a);
		else if ((ret = iset_and(out, &a, &b)) == OBS_EOK)
			ret = iset_copy(out, &b);
	}
	iset_free(&a);
	iset_free(&b);
	return ret;
}

int mdl_sig_valid(const mdl_t *m, const mdl_ver_t *K, const mdl_ver_t *X, bool strict, iset_t *out)
{
	if (!strict)
		return groups_valid(X, K->keys, out);
	/* STRICT: a valid signature by a key of every algorithm K holds */
	iset_t a = ISET_INIT, b = ISET_INIT;
	int ret = iset_add(out, ISET_NEG_INF, ISET_INF);
	iset_clear(out);
	ret = iset_add(out, ISET_NEG_INF, ISET_INF);
	uint32_t seen[8] = {0};
	for (size_t k = 0; ret == OBS_EOK && k < m->nk; k++) {
		if (!(K->keys & ((mdl_mask_t)1 << k)))
			continue;
		uint8_t alg = m->keys[k].info.alg;
		if (seen[alg / 32] & (1u << (alg % 32)))
			continue;
		seen[alg / 32] |= 1u << (alg % 32);
		if ((ret = groups_valid(X, K->keys & mdl_alg_mask(m, alg), &a)) == OBS_EOK &&
		    (ret = iset_and(out, &a, &b)) == OBS_EOK)
			ret = iset_copy(out, &b);
	}
	iset_free(&a);
	iset_free(&b);
	return ret;
}

int mdl_self_valid(const mdl_t *m, const mdl_ver_t *X, iset_t *out)
{
	(void)m;
	if (X->cls == MC_DS) {
		iset_clear(out);
		return iset_add(out, ISET_NEG_INF, ISET_INF);
	}
	return groups_valid(X, ~(mdl_mask_t)0, out);
}

int mdl_verify_all(an_db_t *db, obs_usec_t at, char *err, size_t errlen)
{
	sigv_t *sv = NULL;
	sqlite3_stmt *st = NULL;
	int ret = sigv_new(db, true, &sv);
	if (ret == OBS_EOK &&
	    sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT DISTINCT zone FROM target WHERE kind = 'provider' ORDER BY zone", -1, &st,
		NULL) != SQLITE_OK)
		ret = OBS_ESQL;
	while (ret == OBS_EOK && sqlite3_step(st) == SQLITE_ROW) {
		mdl_t *m = NULL;
		ret =
		    mdl_load(db, sv, (const char *)sqlite3_column_text(st, 0), at, &m, err, errlen);
		mdl_free(m);
	}
	sqlite3_finalize(st);
	sigv_free(sv);
	return ret;
}
