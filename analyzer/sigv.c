/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <ldns/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "keys.h"
#include "obs_err.h"
#include "sigv.h"

struct sigv {
	an_db_t *db;
	bool persist;
	sqlite3_stmt *ins;
	obs_hmap_t memo; /* key -> aux_a: 1 ok, 0 failed */
	uint64_t verifications, pairs;
};

int sigv_new(an_db_t *db, bool persist, sigv_t **out)
{
	*out = NULL;
	sigv_t *sv = calloc(1, sizeof(*sv));
	if (sv == NULL)
		return OBS_ENOMEM;
	sv->db = db;
	sv->persist = persist;
	int ret = obs_hmap_init(&sv->memo, 0);
	if (ret)
		goto fail;
	sqlite3_stmt *st = NULL;
	ret = OBS_ESQL;
	if (sqlite3_prepare_v2(an_db_sql(db), "SELECT hash, ok FROM sigcheck", -1, &st, NULL) !=
	    SQLITE_OK)
		goto fail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue;
		bool cleared;
		obs_hmap_entry_t *e = obs_hmap_put(&sv->memo, sqlite3_column_blob(st, 0), &cleared);
		if (e == NULL) {
			sqlite3_finalize(st);
			ret = OBS_ENOMEM;
			goto fail;
		}
		e->aux_a = (uint32_t)sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (persist &&
	    sqlite3_prepare_v3(an_db_sql(db),
			       "INSERT INTO sigcheck (hash, ok) VALUES (?,?) ON CONFLICT "
			       "DO NOTHING",
			       -1, SQLITE_PREPARE_PERSISTENT, &sv->ins, NULL) != SQLITE_OK)
		sv->persist = false;
	*out = sv;
	return OBS_EOK;
fail:
	sigv_free(sv);
	return ret;
}

void sigv_free(sigv_t *sv)
{
	if (sv == NULL)
		return;
	/* the replay benchmark counts cryptographic verifications across processes */
	if (getenv("OBS_SIGV_STATS"))
		fprintf(stderr, "sigv: %llu verifications, %llu distinct (RRset, RRSIG, key)\n",
			(unsigned long long)sv->verifications, (unsigned long long)sv->memo.n);
	sqlite3_finalize(sv->ins);
	obs_hmap_free(&sv->memo);
	free(sv);
}

uint64_t sigv_verifications(const sigv_t *sv)
{
	return sv->verifications;
}

uint64_t sigv_pairs(const sigv_t *sv)
{
	return sv->memo.n;
}

static size_t dname_len(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (p[i] == 0)
			return i + 1;
		if (p[i] & 0xc0)
			return 0; /* canonical names are never compressed */
		i += 1 + p[i];
	}
	return 0;
}

int sigv_rdata(const vers_t *v, const uint8_t *item, size_t len, const uint8_t **rd, size_t *rdlen)
{
	if (v->kind == VK_ANSWER || v->kind == VK_REFERRAL) {
		*rd = item;
		*rdlen = len;
		return OBS_EOK;
	}
	size_t o = dname_len(item, len);
	if (o == 0 || len - o < 10)
		return OBS_EMALFORMED;
	size_t l = ((size_t)item[o + 8] << 8) | item[o + 9];
	if (len - o - 10 < l)
		return OBS_EMALFORMED;
	*rd = item + o + 10;
	*rdlen = l;
	return OBS_EOK;
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int sigv_info(const uint8_t *rd, size_t len, sig_info_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 19)
		return OBS_EMALFORMED;
	out->covered = (uint16_t)((rd[0] << 8) | rd[1]);
	out->alg = rd[2];
	out->labels = rd[3];
	out->orig_ttl = get32(rd + 4);
	out->exp_serial = get32(rd + 8);
	out->inc_serial = get32(rd + 12);
	out->tag = (uint16_t)((rd[16] << 8) | rd[17]);
	return OBS_EOK;
}

obs_usec_t sigv_abs_time(uint32_t serial, obs_usec_t tref)
{
	int64_t ref = tref / OBS_USEC_PER_SEC;
	int32_t d = (int32_t)(serial - (uint32_t)ref);
	return (ref + d) * OBS_USEC_PER_SEC;
}

/* an RR from (owner, type) and RDATA item (length-prefixed in the blob: item - 2) */
static ldns_rr *rr_from_rdata(const ldns_rdf *owner, uint16_t type, uint32_t ttl,
			      const uint8_t *item, size_t len)
{
	uint8_t *buf = malloc(len + 2);
	ldns_rr *rr = ldns_rr_new();
	if (buf == NULL || rr == NULL)
		goto fail;
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	memcpy(buf + 2, item, len);
	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
	ldns_rr_set_type(rr, (ldns_rr_type)type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, ttl);
	size_t pos = 0;
	if (ldns_wire2rdf(rr, buf, len + 2, &pos) != LDNS_STATUS_OK)
		goto fail;
	free(buf);
	return rr;
fail:
	free(buf);
	ldns_rr_free(rr);
	return NULL;
}

static bool crypto(const vers_t *v, const uint8_t *item, size_t len, const sig_info_t *si,
		   const char *zone, const uint8_t *key, size_t keylen)
{
	bool ok = false;
	ldns_rdf *owner = ldns_dname_new_frm_str(v->owner);
	ldns_rdf *zname = ldns_dname_new_frm_str(zone);
	ldns_rr_list *set = ldns_rr_list_new(), *keys = ldns_rr_list_new(),
		     *good = ldns_rr_list_new();
	ldns_rr *sig = NULL, *k = NULL;
	if (!owner || !zname || !set || !keys || !good)
		goto done;
	if ((k = rr_from_rdata(zname, LDNS_RR_TYPE_DNSKEY, 0, key, keylen)) == NULL)
		goto done;
	ldns_rr_list_push_rr(keys, k);
	size_t pos = 0, l;
	const uint8_t *it;
	if (v->kind == VK_ANSWER || v->kind == VK_REFERRAL) {
		if ((sig = rr_from_rdata(owner, LDNS_RR_TYPE_RRSIG, si->orig_ttl, item, len)) ==
		    NULL)
			goto done;
		while (vers_next(v->rdata, v->rdata_len, &pos, &it, &l, NULL)) {
			ldns_rr *rr = rr_from_rdata(owner, v->type, si->orig_ttl, it, l);
			if (rr == NULL || !ldns_rr_list_push_rr(set, rr)) {
				ldns_rr_free(rr);
				goto done;
			}
		}
	} else {
		size_t p0 = 0;
		if (ldns_wire2rr(&sig, item, len, &p0, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
			goto done;
		while (vers_next(v->rdata, v->rdata_len, &pos, &it, &l, NULL)) {
			ldns_rr *rr = NULL;
			size_t p1 = 0;
			if (ldns_wire2rr(&rr, it, l, &p1, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
				continue;
			if ((uint16_t)ldns_rr_get_type(rr) == si->covered &&
			    ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(sig)) == 0) {
				ldns_rr_set_ttl(rr, si->orig_ttl);
				if (ldns_rr_list_push_rr(set, rr))
					continue;
			}
			ldns_rr_free(rr);
		}
	}
	if (ldns_rr_list_rr_count(set) > 0)
		ok = ldns_verify_rrsig_keylist_notime(set, sig, keys, good) == LDNS_STATUS_OK;
done:
	ldns_rr_list_free(good);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(set);
	ldns_rr_free(sig);
	ldns_rdf_deep_free(owner);
	ldns_rdf_deep_free(zname);
	return ok;
}

int sigv_check(sigv_t *sv, const vers_t *v, const uint8_t *item, size_t len, const char *zone,
	       const uint8_t *key, size_t keylen, obs_usec_t tref, sigv_res_t *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *rd;
	size_t rdlen;
	sig_info_t si;
	key_info_t ki;
	if (sigv_rdata(v, item, len, &rd, &rdlen) || sigv_info(rd, rdlen, &si) ||
	    keys_parse_head(key, keylen, &ki))
		return OBS_EMALFORMED;
	out->inception = sigv_abs_time(si.inc_serial, tref);
	out->expiration = sigv_abs_time(si.exp_serial, tref);
	if (si.alg != ki.alg || si.tag != ki.tag || !(ki.flags & KEY_F_ZONE) ||
	    (ki.flags & KEY_F_REVOKE) || ki.proto != 3)
		return OBS_EOK;
	if ((v->kind == VK_ANSWER || v->kind == VK_REFERRAL) && si.covered != v->type)
		return OBS_EOK;
	out->usable = true;
	uint8_t h[32];
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	ldns_sha256_update(&ctx, v->hash, 32);
	ldns_sha256_update(&ctx, item, len);
	ldns_sha256_update(&ctx, key, keylen);
	ldns_sha256_final(h, &ctx);
	obs_hmap_entry_t *e = obs_hmap_get(&sv->memo, h);
	if (e) {
		out->crypto_ok = e->aux_a == 1;
		return OBS_EOK;
	}
	sv->verifications++;
	out->crypto_ok = crypto(v, item, len, &si, zone, key, keylen);
	bool cleared;
	e = obs_hmap_put(&sv->memo, h, &cleared);
	if (e == NULL)
		return OBS_ENOMEM;
	e->aux_a = out->crypto_ok ? 1 : 0;
	if (sv->persist) {
		sqlite3_bind_blob(sv->ins, 1, h, 32, SQLITE_STATIC);
		sqlite3_bind_int(sv->ins, 2, out->crypto_ok ? 1 : 0);
		(void)sqlite3_step(sv->ins);
		sqlite3_reset(sv->ins);
		sqlite3_clear_bindings(sv->ins);
	}
	return OBS_EOK;
}

int sigv_group(const vers_t *v, sigv_groups_t *g, const uint8_t *item, size_t len, sig_info_t *si)
{
	const uint8_t *rd;
	size_t rdlen;
	bool neg = v->kind == VK_NXDOMAIN || v->kind == VK_NODATA;
	if (sigv_rdata(v, item, len, &rd, &rdlen) || sigv_info(rd, rdlen, si))
		return -1;
	if (!neg && si->covered != v->type)
		return -1;
	const uint8_t *own = neg ? item : NULL;
	size_t olen = neg ? (size_t)(rd - item) - 10 : 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->covered[i] == si->covered && g->olen[i] == olen &&
		    (olen == 0 || memcmp(g->owner[i], own, olen) == 0))
			return (int)i;
	if (g->n == SIGV_GROUPS)
		return -1;
	g->owner[g->n] = own;
	g->olen[g->n] = olen;
	g->covered[g->n] = si->covered;
	return (int)g->n++;
}
