/* SPDX-License-Identifier: MIT */
#include <ldns/ldns.h>
#include <ldns/sha1.h>
#include <ldns/sha2.h>
#include <string.h>

#include "keys.h"
#include "obs_err.h"
#include "vers.h"

int keys_parse_head(const uint8_t *rdata, size_t len, key_info_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return OBS_EMALFORMED;
	out->flags = (uint16_t)((rdata[0] << 8) | rdata[1]);
	out->proto = rdata[2];
	out->alg = rdata[3];
	out->tag = ldns_calc_keytag_raw(rdata, len);
	return OBS_EOK;
}

int keys_parse(const uint8_t *rdata, size_t len, key_info_t *out)
{
	int ret = keys_parse_head(rdata, len, out);
	if (ret == OBS_EOK)
		ldns_sha256(rdata, (unsigned int)len, out->fp);
	return ret;
}

int keys_ds_parse(const uint8_t *rdata, size_t len, ds_info_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return OBS_EMALFORMED;
	out->tag = (uint16_t)((rdata[0] << 8) | rdata[1]);
	out->alg = rdata[2];
	out->dtype = rdata[3];
	out->digest = rdata + 4;
	out->dlen = len - 4;
	return OBS_EOK;
}

bool keys_digest_supported(uint8_t dtype)
{
	return dtype == 1 || dtype == 2 || dtype == 4;
}

bool keys_ds_matches(const ds_info_t *ds, const char *zone, const uint8_t *key, size_t keylen)
{
	key_info_t ki;
	if (keys_parse_head(key, keylen, &ki) || ki.tag != ds->tag || ki.alg != ds->alg)
		return false;
	ldns_rdf *owner = ldns_dname_new_frm_str(zone);
	if (owner == NULL)
		return false;
	ldns_dname2canonical(owner);
	size_t olen = ldns_rdf_size(owner);
	uint8_t buf[256 + 4096];
	bool ok = false;
	if (olen + keylen <= sizeof(buf)) {
		memcpy(buf, ldns_rdf_data(owner), olen);
		memcpy(buf + olen, key, keylen);
		uint8_t d[64];
		size_t dl = 0;
		switch (ds->dtype) {
		case 1:
			ldns_sha1(buf, (unsigned int)(olen + keylen), d);
			dl = 20;
			break;
		case 2:
			ldns_sha256(buf, (unsigned int)(olen + keylen), d);
			dl = 32;
			break;
		case 4:
			ldns_sha384(buf, (unsigned int)(olen + keylen), d);
			dl = 48;
			break;
		default:
			break;
		}
		ok = dl && dl == ds->dlen && memcmp(d, ds->digest, dl) == 0;
	}
	ldns_rdf_deep_free(owner);
	return ok;
}

bool keys_is_delete(uint16_t type, const uint8_t *r, size_t len)
{
	if (type == LDNS_RR_TYPE_CDS)
		return len == 5 && r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0 && r[4] == 0;
	if (type == LDNS_RR_TYPE_CDNSKEY)
		return len == 5 && r[0] == 0 && r[1] == 0 && r[2] == 3 && r[3] == 0 && r[4] == 0;
	return false;
}

int keys_ingest_versions(an_db_t *db, int64_t after, int64_t *added)
{
	sqlite3 *sql = an_db_sql(db);
	sqlite3_stmt *sel = NULL, *ins = NULL, *kid = NULL, *link = NULL;
	int ret = OBS_ESQL;
	*added = 0;
	if (sqlite3_prepare_v2(sql,
			       "SELECT id, owner, rdata FROM version WHERE id > ? AND kind = 1 AND "
			       "type IN (48, 60)",
			       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql,
			       "INSERT INTO zkey (zone, alg, tag, flags, fp, rdata) VALUES "
			       "(?,?,?,?,?,?) ON CONFLICT DO NOTHING",
			       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql, "SELECT id FROM zkey WHERE zone = ? AND fp = ?", -1, &kid,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sql,
			       "INSERT INTO zkey_version (zkey_id, version_id) VALUES (?,?) ON "
			       "CONFLICT DO NOTHING",
			       -1, &link, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(sel, 1, after);
	while (sqlite3_step(sel) == SQLITE_ROW) {
		int64_t vid = sqlite3_column_int64(sel, 0);
		const char *zone = (const char *)sqlite3_column_text(sel, 1);
		const uint8_t *blob = sqlite3_column_blob(sel, 2);
		size_t blen = (size_t)sqlite3_column_bytes(sel, 2), pos = 0, len;
		const uint8_t *it;
		while (vers_next(blob, blen, &pos, &it, &len, NULL)) {
			key_info_t ki;
			if (keys_parse(it, len, &ki) || keys_is_delete(60, it, len))
				continue;
			sqlite3_bind_text(ins, 1, zone, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(ins, 2, ki.alg);
			sqlite3_bind_int(ins, 3, ki.tag);
			sqlite3_bind_int(ins, 4, ki.flags);
			sqlite3_bind_blob(ins, 5, ki.fp, 32, SQLITE_TRANSIENT);
			sqlite3_bind_blob(ins, 6, it, (int)len, SQLITE_TRANSIENT);
			if (sqlite3_step(ins) != SQLITE_DONE)
				goto done;
			*added += sqlite3_changes(sql);
			sqlite3_reset(ins);
			sqlite3_bind_text(kid, 1, zone, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(kid, 2, ki.fp, 32, SQLITE_TRANSIENT);
			int64_t k =
			    sqlite3_step(kid) == SQLITE_ROW ? sqlite3_column_int64(kid, 0) : 0;
			sqlite3_reset(kid);
			sqlite3_bind_int64(link, 1, k);
			sqlite3_bind_int64(link, 2, vid);
			if (sqlite3_step(link) != SQLITE_DONE)
				goto done;
			sqlite3_reset(link);
		}
	}
	ret = OBS_EOK;
done:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(kid);
	sqlite3_finalize(link);
	return ret;
}
