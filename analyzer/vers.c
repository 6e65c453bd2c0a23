/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs_err.h"
#include "vers.h"

struct vers_cache {
	an_db_t *db;
	sqlite3_stmt *st;
	vers_t **by_id;
	size_t cap;
};

int vers_cache_new(an_db_t *db, vers_cache_t **out)
{
	*out = NULL;
	vers_cache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OBS_ENOMEM;
	c->db = db;
	if (sqlite3_prepare_v3(an_db_sql(db),
			       "SELECT hash, kind, owner, type, rdata, rrsig, coalesce(ttl_max_s, "
			       "-1), coalesce(ttl_min_s, -1) FROM version WHERE id = ?",
			       -1, SQLITE_PREPARE_PERSISTENT, &c->st, NULL) != SQLITE_OK) {
		vers_cache_free(c);
		return OBS_ESQL;
	}
	*out = c;
	return OBS_EOK;
}

void vers_cache_free(vers_cache_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->by_id[i]) {
			free(c->by_id[i]->rdata);
			free(c->by_id[i]->rrsig);
			free(c->by_id[i]);
		}
	}
	free(c->by_id);
	sqlite3_finalize(c->st);
	free(c);
}

static uint8_t *dup_blob(sqlite3_stmt *st, int col, size_t *len)
{
	*len = (size_t)sqlite3_column_bytes(st, col);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b && *len)
		memcpy(b, sqlite3_column_blob(st, col), *len);
	return b;
}

const vers_t *vers_get(vers_cache_t *c, int64_t id)
{
	if (id <= 0)
		return NULL;
	if ((size_t)id >= c->cap) {
		size_t ncap = c->cap ? c->cap : 64;
		while (ncap <= (size_t)id)
			ncap *= 2;
		vers_t **n = realloc(c->by_id, ncap * sizeof(*n));
		if (n == NULL)
			return NULL;
		memset(n + c->cap, 0, (ncap - c->cap) * sizeof(*n));
		c->by_id = n;
		c->cap = ncap;
	}
	if (c->by_id[id])
		return c->by_id[id];
	sqlite3_bind_int64(c->st, 1, id);
	vers_t *v = NULL;
	if (sqlite3_step(c->st) == SQLITE_ROW && (v = calloc(1, sizeof(*v))) != NULL) {
		v->id = id;
		if (sqlite3_column_bytes(c->st, 0) == 32)
			memcpy(v->hash, sqlite3_column_blob(c->st, 0), 32);
		v->kind = sqlite3_column_int(c->st, 1);
		const char *o = (const char *)sqlite3_column_text(c->st, 2);
		snprintf(v->owner, sizeof(v->owner), "%s", o ? o : "");
		v->type = (uint16_t)sqlite3_column_int(c->st, 3);
		v->rdata = dup_blob(c->st, 4, &v->rdata_len);
		v->rrsig = dup_blob(c->st, 5, &v->rrsig_len);
		v->ttl_max_s = sqlite3_column_int64(c->st, 6);
		v->ttl_min_s = sqlite3_column_int64(c->st, 7);
		if (v->rdata == NULL || v->rrsig == NULL) {
			free(v->rdata);
			free(v->rrsig);
			free(v);
			v = NULL;
		}
	}
	sqlite3_reset(c->st);
	sqlite3_clear_bindings(c->st);
	c->by_id[id] = v;
	return v;
}

bool vers_next(const uint8_t *blob, size_t blen, size_t *pos, const uint8_t **item, size_t *len,
	       bool *bad)
{
	if (*pos >= blen)
		return false;
	if (blen - *pos < 2) {
		if (bad)
			*bad = true;
		return false;
	}
	size_t l = ((size_t)blob[*pos] << 8) | blob[*pos + 1];
	if (blen - *pos - 2 < l) {
		if (bad)
			*bad = true;
		return false;
	}
	*item = blob + *pos + 2;
	*len = l;
	*pos += 2 + l;
	return true;
}

size_t vers_count(const uint8_t *blob, size_t blen)
{
	size_t pos = 0, n = 0, l;
	const uint8_t *it;
	while (vers_next(blob, blen, &pos, &it, &l, NULL))
		n++;
	return n;
}

bool vers_same_rdata(const vers_t *a, const vers_t *b)
{
	return a->rdata_len == b->rdata_len && memcmp(a->rdata, b->rdata, a->rdata_len) == 0;
}
