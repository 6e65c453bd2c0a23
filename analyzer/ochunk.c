/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ochunk.h"
#include "obs_err.h"

/* ---- the poll coding ----
 * Per poll, in order: zigzag(t - previous t), id - previous id (ids grow), zigzag(src_id -
 * previous src_id), TTL, RTT, wire, outcome. The first poll's differences are taken against
 * the chunk's t_min, id_first and src_first. TTL and wire: 0 for NULL, else 1 + zigzag(value -
 * the last non-NULL value, 0 at first); RTT: 0 for NULL, else 1 + zigzag(value); outcome: 0 for
 * NULL, else 1 + value (one byte for every outcome the collector writes, so it can be set in
 * place when a late outcome arrives). */

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static size_t put_uv(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* 0 when the blob ends inside the number or it runs past 10 bytes */
static size_t get_uv(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < len && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

#define POLL_MAX_BYTES (7 * 10)

struct key {
	int64_t series, collector, rcode, flags, version;
	int attempt, transport, status;
	bool has_rcode, has_flags, has_version, recursive;
	char *ede; /* owned; NULL: none */
};

static bool key_eq(const struct key *a, const oc_poll_t *p)
{
	if (a->collector != p->collector_id || a->attempt != p->attempt ||
	    a->transport != p->transport || a->status != p->status ||
	    a->has_rcode != p->has_rcode || a->has_flags != p->has_flags ||
	    a->has_version != p->has_version || a->recursive != p->recursive)
		return false;
	if ((a->has_rcode && a->rcode != p->rcode) || (a->has_flags && a->flags != p->flags) ||
	    (a->has_version && a->version != p->version_id))
		return false;
	if ((a->ede == NULL) != (p->ede == NULL))
		return false;
	return a->ede == NULL || strcmp(a->ede, p->ede) == 0;
}

/* the chunk's tail: what the next poll is coded against */
struct tail {
	int64_t t_min, t_max, id_first, id_last, src_first, src_last, ttl_last, wire_last, n;
};

struct row {
	int64_t t, id, src, ttl, rtt, wire, outcome;
	uint32_t ki;  /* the key of its chunk (cursor's keys[]) */
	uint8_t null; /* NB_* */
};
enum { NB_TTL = 1, NB_RTT = 2, NB_WIRE = 4, NB_OUTCOME = 8 };

/* Decode a whole chunk blob. rows must hold n entries. OBS_EMALFORMED when the blob does not
 * hold n polls. */
static int decode(const uint8_t *b, size_t len, const struct tail *h, uint32_t ki, struct row *rows,
		  size_t n, int64_t until, size_t *got)
{
	int64_t t = h->t_min, id = h->id_first, src = h->src_first, ttl = 0, wire = 0;
	size_t off = 0;
	*got = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t v[7];
		for (size_t j = 0; j < 7; j++) {
			size_t k = get_uv(b + off, len - off, &v[j]);
			if (k == 0)
				return OBS_EMALFORMED;
			off += k;
		}
		struct row *r = &rows[i];
		t += unzz(v[0]);
		if (t > until) /* times never go back inside a chunk: the rest is later still */
			return OBS_EOK;
		id += (int64_t)v[1];
		src += unzz(v[2]);
		r->t = t, r->id = id, r->src = src, r->ki = ki, r->null = 0;
		if (v[3] == 0)
			r->null |= NB_TTL;
		else
			ttl += unzz(v[3] - 1);
		r->ttl = ttl;
		if (v[4] == 0)
			r->null |= NB_RTT;
		r->rtt = v[4] ? unzz(v[4] - 1) : 0;
		if (v[5] == 0)
			r->null |= NB_WIRE;
		else
			wire += unzz(v[5] - 1);
		r->wire = wire;
		if (v[6] == 0)
			r->null |= NB_OUTCOME;
		r->outcome = v[6] ? (int64_t)v[6] - 1 : 0;
		*got = i + 1;
	}
	return off == len ? OBS_EOK : OBS_EMALFORMED;
}

/* ---- the writer ---- */

struct open_chunk {
	bool loaded, open, dirty;
	int64_t chunk_id; /* 0: not in the database yet */
	struct key k;
	struct tail h;
	uint8_t *buf;
	size_t len, cap;
};

struct oc_writer {
	sqlite3 *db;
	sqlite3_stmt *last, *ins, *upd;
	struct open_chunk *s; /* by series id */
	size_t s_n;
};

static const char *const SQL_LAST =
    "SELECT id, collector_id, attempt, transport, status, rcode, flags, ede, version_id, "
    "recursive, n, t_min, t_max, id_first, id_last, src_first, src_last, ttl_last, wire_last, "
    "polls FROM obs_chunk WHERE series_id = ? ORDER BY id DESC LIMIT 1";
static const char *const SQL_INS =
    "INSERT INTO obs_chunk (series_id, collector_id, attempt, transport, status, rcode, flags, "
    "ede, version_id, recursive, n, t_min, t_max, id_first, id_last, src_first, src_last, "
    "ttl_last, wire_last, polls) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
static const char *const SQL_UPD =
    "UPDATE obs_chunk SET n = ?11, t_max = ?13, id_last = ?15, src_last = ?17, ttl_last = ?18, "
    "wire_last = ?19, polls = ?20 WHERE id = ?21";

int oc_writer_new(sqlite3 *db, oc_writer_t **out)
{
	*out = NULL;
	oc_writer_t *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return OBS_ENOMEM;
	w->db = db;
	if (sqlite3_prepare_v2(db, SQL_LAST, -1, &w->last, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS, -1, &w->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_UPD, -1, &w->upd, NULL) != SQLITE_OK) {
		oc_writer_free(w);
		return OBS_ESQL;
	}
	*out = w;
	return OBS_EOK;
}

static void chunk_reset(struct open_chunk *c)
{
	free(c->k.ede);
	c->k.ede = NULL;
	c->open = c->dirty = false;
	c->chunk_id = 0;
	c->len = 0;
}

void oc_writer_free(oc_writer_t *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->s_n; i++) {
		chunk_reset(&w->s[i]);
		free(w->s[i].buf);
	}
	free(w->s);
	sqlite3_finalize(w->last);
	sqlite3_finalize(w->ins);
	sqlite3_finalize(w->upd);
	free(w);
}

static void bind_opt(sqlite3_stmt *st, int i, bool has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int chunk_write(oc_writer_t *w, int64_t series, struct open_chunk *c)
{
	if (!c->open || !c->dirty)
		return OBS_EOK;
	sqlite3_stmt *st = c->chunk_id ? w->upd : w->ins;
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_int64(st, 2, c->k.collector);
	sqlite3_bind_int(st, 3, c->k.attempt);
	sqlite3_bind_int(st, 4, c->k.transport);
	sqlite3_bind_int(st, 5, c->k.status);
	bind_opt(st, 6, c->k.has_rcode, c->k.rcode);
	bind_opt(st, 7, c->k.has_flags, c->k.flags);
	if (c->k.ede)
		sqlite3_bind_text(st, 8, c->k.ede, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	bind_opt(st, 9, c->k.has_version, c->k.version);
	bind_opt(st, 10, c->k.recursive, 1);
	sqlite3_bind_int64(st, 11, c->h.n);
	sqlite3_bind_int64(st, 12, c->h.t_min);
	sqlite3_bind_int64(st, 13, c->h.t_max);
	sqlite3_bind_int64(st, 14, c->h.id_first);
	sqlite3_bind_int64(st, 15, c->h.id_last);
	sqlite3_bind_int64(st, 16, c->h.src_first);
	sqlite3_bind_int64(st, 17, c->h.src_last);
	sqlite3_bind_int64(st, 18, c->h.ttl_last);
	sqlite3_bind_int64(st, 19, c->h.wire_last);
	sqlite3_bind_blob(st, 20, c->buf, (int)c->len, SQLITE_STATIC);
	if (c->chunk_id)
		sqlite3_bind_int64(st, 21, c->chunk_id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return OBS_ESQL;
	if (c->chunk_id == 0)
		c->chunk_id = sqlite3_last_insert_rowid(w->db);
	c->dirty = false;
	return OBS_EOK;
}

static int col_opt(sqlite3_stmt *st, int i, int64_t *v)
{
	*v = sqlite3_column_int64(st, i);
	return sqlite3_column_type(st, i) != SQLITE_NULL;
}

static int grow_buf(struct open_chunk *c, size_t need)
{
	if (need <= c->cap)
		return OBS_EOK;
	size_t cap = c->cap ? c->cap : 1024;
	while (cap < need)
		cap *= 2;
	uint8_t *b = realloc(c->buf, cap);
	if (b == NULL)
		return OBS_ENOMEM;
	c->buf = b;
	c->cap = cap;
	return OBS_EOK;
}

/* The series' last chunk becomes its open chunk (new polls are appended to it when their key
 * matches). */
static int chunk_load(oc_writer_t *w, int64_t series, struct open_chunk *c)
{
	c->loaded = true;
	sqlite3_stmt *st = w->last;
	sqlite3_bind_int64(st, 1, series);
	int rc = sqlite3_step(st), ret = OBS_EOK;
	if (rc == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 19);
		const void *b = sqlite3_column_blob(st, 19);
		const char *ede = (const char *)sqlite3_column_text(st, 7);
		if ((ret = grow_buf(c, (size_t)len + 1)) == OBS_EOK &&
		    (ede == NULL || (c->k.ede = strdup(ede)) != NULL)) {
			c->chunk_id = sqlite3_column_int64(st, 0);
			c->k.series = series;
			c->k.collector = sqlite3_column_int64(st, 1);
			c->k.attempt = sqlite3_column_int(st, 2);
			c->k.transport = sqlite3_column_int(st, 3);
			c->k.status = sqlite3_column_int(st, 4);
			c->k.has_rcode = col_opt(st, 5, &c->k.rcode);
			c->k.has_flags = col_opt(st, 6, &c->k.flags);
			c->k.has_version = col_opt(st, 8, &c->k.version);
			c->k.recursive = sqlite3_column_type(st, 9) != SQLITE_NULL;
			c->h.n = sqlite3_column_int64(st, 10);
			c->h.t_min = sqlite3_column_int64(st, 11);
			c->h.t_max = sqlite3_column_int64(st, 12);
			c->h.id_first = sqlite3_column_int64(st, 13);
			c->h.id_last = sqlite3_column_int64(st, 14);
			c->h.src_first = sqlite3_column_int64(st, 15);
			c->h.src_last = sqlite3_column_int64(st, 16);
			c->h.ttl_last = sqlite3_column_int64(st, 17);
			c->h.wire_last = sqlite3_column_int64(st, 18);
			if (len > 0)
				memcpy(c->buf, b, (size_t)len);
			c->len = (size_t)len;
			c->open = true;
			c->dirty = false;
		} else if (ret == OBS_EOK) {
			ret = OBS_ENOMEM;
		}
	} else if (rc != SQLITE_DONE) {
		ret = OBS_ESQL;
	}
	sqlite3_reset(st);
	return ret;
}

int oc_writer_add(oc_writer_t *w, const oc_poll_t *p)
{
	if (p->series_id < 0 || p->series_id > INT32_MAX)
		return OBS_ERANGE;
	size_t sid = (size_t)p->series_id;
	if (sid >= w->s_n) {
		size_t n = w->s_n ? w->s_n : 64;
		while (n <= sid)
			n *= 2;
		struct open_chunk *s = realloc(w->s, n * sizeof(*s));
		if (s == NULL)
			return OBS_ENOMEM;
		memset(s + w->s_n, 0, (n - w->s_n) * sizeof(*s));
		w->s = s;
		w->s_n = n;
	}
	struct open_chunk *c = &w->s[sid];
	int ret;
	if (p->has_outcome && (p->outcome < 0 || p->outcome >= 127))
		return OBS_ERANGE; /* the collector writes 0 to 4 */
	if (!c->loaded && (ret = chunk_load(w, p->series_id, c)) != OBS_EOK)
		return ret;
	bool append = c->open && c->h.n < OC_CHUNK_MAX && p->t >= c->h.t_max &&
		      p->id > c->h.id_last && key_eq(&c->k, p);
	if (!append) {
		if ((ret = chunk_write(w, p->series_id, c)) != OBS_EOK)
			return ret;
		chunk_reset(c);
		c->k = (struct key){.series = p->series_id,
				    .collector = p->collector_id,
				    .rcode = p->rcode,
				    .flags = p->flags,
				    .version = p->version_id,
				    .attempt = p->attempt,
				    .transport = p->transport,
				    .status = p->status,
				    .has_rcode = p->has_rcode,
				    .has_flags = p->has_flags,
				    .has_version = p->has_version,
				    .recursive = p->recursive};
		if (p->ede && (c->k.ede = strdup(p->ede)) == NULL)
			return OBS_ENOMEM;
		c->h = (struct tail){.t_min = p->t,
				     .t_max = p->t,
				     .id_first = p->id,
				     .id_last = p->id,
				     .src_first = p->src_id,
				     .src_last = p->src_id};
		c->open = true;
	}
	if ((ret = grow_buf(c, c->len + POLL_MAX_BYTES)) != OBS_EOK)
		return ret;
	uint8_t *b = c->buf + c->len;
	size_t k = 0;
	k += put_uv(b + k, zz(p->t - c->h.t_max));
	k += put_uv(b + k, (uint64_t)(p->id - c->h.id_last));
	k += put_uv(b + k, zz(p->src_id - c->h.src_last));
	k += put_uv(b + k, p->has_ttl ? zz(p->ttl_s - c->h.ttl_last) + 1 : 0);
	k += put_uv(b + k, p->has_rtt ? zz(p->rtt) + 1 : 0);
	k += put_uv(b + k, p->has_wire ? zz(p->wire_src_id - c->h.wire_last) + 1 : 0);
	k += put_uv(b + k, p->has_outcome ? (uint64_t)p->outcome + 1 : 0);
	c->len += k;
	c->h.t_max = p->t;
	c->h.id_last = p->id;
	c->h.src_last = p->src_id;
	if (p->has_ttl)
		c->h.ttl_last = p->ttl_s;
	if (p->has_wire)
		c->h.wire_last = p->wire_src_id;
	c->h.n++;
	c->dirty = true;
	return OBS_EOK;
}

int oc_writer_flush(oc_writer_t *w)
{
	for (size_t i = 0; i < w->s_n; i++) {
		int ret = chunk_write(w, (int64_t)i, &w->s[i]);
		if (ret)
			return ret;
	}
	return OBS_EOK;
}

/* ---- late outcomes ---- */

int oc_set_outcome(sqlite3 *db, int64_t id, int64_t outcome)
{
	if (outcome < 0 || outcome >= 127)
		return OBS_ERANGE;
	sqlite3_stmt *q = NULL, *up = NULL;
	int ret = OBS_ESQL;
	if (sqlite3_prepare_v2(
		db,
		"SELECT id, n, t_min, id_first, src_first, polls FROM obs_chunk WHERE "
		"id_first <= ?1 AND id_last >= ?1",
		-1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE obs_chunk SET polls = ?2 WHERE id = ?1", -1, &up,
			       NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(q, 1, id);
	ret = OBS_ENOENT;
	int rc;
	while (ret == OBS_ENOENT && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(q, 1), cur = sqlite3_column_int64(q, 3);
		size_t len = (size_t)sqlite3_column_bytes(q, 5);
		const uint8_t *b = sqlite3_column_blob(q, 5);
		size_t off = 0;
		for (int64_t i = 0; i < n && cur <= id; i++) {
			uint64_t v[7];
			size_t at[7];
			for (size_t j = 0; j < 7; j++) {
				at[j] = off;
				size_t k = get_uv(b + off, len - off, &v[j]);
				if (k == 0) {
					ret = OBS_EMALFORMED;
					goto done;
				}
				off += k;
			}
			cur += (int64_t)v[1];
			if (cur != id)
				continue;
			/* the outcome is one byte (0 or 1 + outcome < 128) */
			if (off - at[6] != 1) {
				ret = OBS_EMALFORMED;
				goto done;
			}
			uint8_t *copy = malloc(len);
			if (copy == NULL) {
				ret = OBS_ENOMEM;
				goto done;
			}
			memcpy(copy, b, len);
			copy[at[6]] = (uint8_t)(outcome + 1);
			sqlite3_bind_int64(up, 1, sqlite3_column_int64(q, 0));
			sqlite3_bind_blob(up, 2, copy, (int)len, free);
			ret = sqlite3_step(up) == SQLITE_DONE ? OBS_EOK : OBS_ESQL;
			break;
		}
	}
done:
	sqlite3_finalize(q);
	sqlite3_finalize(up);
	return ret;
}

/* ---- the virtual table ---- */

enum {
	C_ID,
	C_COLLECTOR,
	C_SRC,
	C_T,
	C_SERIES,
	C_ATTEMPT,
	C_TRANSPORT,
	C_STATUS,
	C_RTT,
	C_RCODE,
	C_FLAGS,
	C_EDE,
	C_OUTCOME,
	C_VERSION,
	C_TTL,
	C_WIRE,
	C_RECURSIVE
};

/* plan bits (idxNum): the order the rows come in */
enum {
	P_ASC = 1,  /* (series_id, t, id) */
	P_DESC = 2, /* (t, id) descending (series_id = given) */
};

/* The columns every row of a chunk shares, under the same names in obs_chunk: a constraint
 * on them selects whole chunks. */
static const char *const KEY_COL[] = {
    [C_COLLECTOR] = "collector_id",
    [C_SERIES] = "series_id",
    [C_ATTEMPT] = "attempt",
    [C_TRANSPORT] = "transport",
    [C_STATUS] = "status",
    [C_RCODE] = "rcode",
    [C_FLAGS] = "flags",
    [C_EDE] = "ede",
    [C_VERSION] = "version_id",
    [C_RECURSIVE] = "recursive",
};

static const char *op_sql(unsigned char op)
{
	switch (op) {
	case SQLITE_INDEX_CONSTRAINT_EQ:
		return "=";
	case SQLITE_INDEX_CONSTRAINT_GT:
		return ">";
	case SQLITE_INDEX_CONSTRAINT_LE:
		return "<=";
	case SQLITE_INDEX_CONSTRAINT_LT:
		return "<";
	case SQLITE_INDEX_CONSTRAINT_GE:
		return ">=";
	case SQLITE_INDEX_CONSTRAINT_NE:
		return "!=";
	case SQLITE_INDEX_CONSTRAINT_IS:
		return "IS";
	case SQLITE_INDEX_CONSTRAINT_ISNOT:
		return "IS NOT";
	case SQLITE_INDEX_CONSTRAINT_ISNULL:
		return "IS NULL";
	case SQLITE_INDEX_CONSTRAINT_ISNOTNULL:
		return "IS NOT NULL";
	default:
		return NULL;
	}
}

struct vtab {
	sqlite3_vtab base;
	sqlite3 *db;
};

struct meta {
	int64_t id, series, t_min, t_max;
};

struct cursor {
	sqlite3_vtab_cursor base;
	sqlite3 *db;
	sqlite3_stmt *get;
	sqlite3_stmt *meta; /* the chunk selection of the last plan (meta_idx), kept for the next */
	char *meta_idx;
	struct meta *m; /* the chunks to read, in (series_id, t_min, id) order */
	size_t m_n, m_cap;
	size_t *unit;  /* unit u is m[unit[u] .. unit[u + 1]) */
	size_t u_n, u; /* units and the next unit to read (counting from the end when desc) */
	bool desc, eof;
	bool has_lo, has_hi, has_id;
	int64_t lo, hi, want_id, id_lo, id_hi, src_lo, src_hi; /* inclusive */
	struct row *rows;
	size_t r_n, r_cap, r; /* rows of the current unit; r: the current one */
	struct key *keys;
	size_t k_n, k_cap;
};

static const char SCHEMA[] =
    "CREATE TABLE x(id INTEGER, collector_id INTEGER, src_id INTEGER, t INTEGER, series_id "
    "INTEGER, attempt INTEGER, transport INTEGER, status INTEGER, rtt INTEGER, rcode INTEGER, "
    "flags INTEGER, ede TEXT, outcome INTEGER, version_id INTEGER, ttl_s INTEGER, wire_src_id "
    "INTEGER, recursive INTEGER)";

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **err)
{
	(void)argc, (void)argv, (void)err;
	int *declaring = aux;
	if (declaring)
		(*declaring)++;
	int rc = sqlite3_declare_vtab(db, SCHEMA);
	if (declaring)
		(*declaring)--;
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	struct vtab *v = sqlite3_malloc(sizeof(*v));
	if (v == NULL)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	v->db = db;
	*out = &v->base;
	return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

/* The plan: idxStr is "ROLES|CONDITION". CONDITION selects chunks (SQL over obs_chunk, its
 * parameters ?1.. the arguments in order); ROLES has one letter per argument saying what the
 * cursor does with it on each row: 'l' t lower bound, 'h' t upper bound, 'e' t equal, 'i' id
 * equal, 'g'/'G' id lower/upper bound, 's'/'S' src_id lower/upper bound, 'k' nothing (a chunk
 * column). SQLite checks every constraint again
 * (omit = 0), so chunk selection only has to keep every row that can match. */
static int vt_best_index(sqlite3_vtab *vt, sqlite3_index_info *ix)
{
	(void)vt;
	char roles[64], cond[2048];
	size_t nr = 0, nc = 0;
	int argi = 0, series_at = -1;
	bool series = false, id = false, src_range = false;
	int tbounds = 0, keys = 0;
	cond[0] = '\0';
	for (int i = 0; i < ix->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
		const char *op = op_sql(c->op);
		if (!c->usable || op == NULL || c->iColumn < 0 || nr + 2 >= sizeof(roles) ||
		    nc + 128 >= sizeof(cond))
			continue;
		bool unary = c->op == SQLITE_INDEX_CONSTRAINT_ISNULL ||
			     c->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL;
		int col = c->iColumn, n;
		char role = 'k';
		if (col < (int)(sizeof(KEY_COL) / sizeof(KEY_COL[0])) && KEY_COL[col]) {
			if (unary)
				n = snprintf(cond + nc, sizeof(cond) - nc, " AND %s %s",
					     KEY_COL[col], op);
			else
				n = snprintf(cond + nc, sizeof(cond) - nc, " AND %s %s ?%d",
					     KEY_COL[col], op, argi + 1);
			if (col == C_SERIES && c->op == SQLITE_INDEX_CONSTRAINT_EQ)
				series = true, series_at = i;
			keys++;
		} else if (col == C_T && !unary && c->op != SQLITE_INDEX_CONSTRAINT_NE &&
			   c->op != SQLITE_INDEX_CONSTRAINT_IS &&
			   c->op != SQLITE_INDEX_CONSTRAINT_ISNOT) {
			bool eq = c->op == SQLITE_INDEX_CONSTRAINT_EQ;
			bool lower = c->op == SQLITE_INDEX_CONSTRAINT_GT ||
				     c->op == SQLITE_INDEX_CONSTRAINT_GE;
			if (eq)
				n = snprintf(cond + nc, sizeof(cond) - nc,
					     " AND t_min <= ?%d AND t_max >= ?%d", argi + 1,
					     argi + 1);
			else
				n = snprintf(cond + nc, sizeof(cond) - nc, " AND %s %s ?%d",
					     lower ? "t_max" : "t_min", op, argi + 1);
			role = eq ? 'e' : lower ? 'l' : 'h';
			tbounds++;
		} else if (col == C_ID && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
			n = snprintf(cond + nc, sizeof(cond) - nc,
				     " AND id_first <= ?%d AND id_last >= ?%d", argi + 1, argi + 1);
			role = 'i';
			id = true;
		} else if ((col == C_ID || col == C_SRC) && (c->op == SQLITE_INDEX_CONSTRAINT_GT ||
							     c->op == SQLITE_INDEX_CONSTRAINT_GE ||
							     c->op == SQLITE_INDEX_CONSTRAINT_LT ||
							     c->op == SQLITE_INDEX_CONSTRAINT_LE)) {
			/* both grow inside a chunk */
			bool lower = c->op == SQLITE_INDEX_CONSTRAINT_GT ||
				     c->op == SQLITE_INDEX_CONSTRAINT_GE;
			const char *name = col == C_ID ? (lower ? "id_last" : "id_first")
						       : (lower ? "src_last" : "src_first");
			n = snprintf(cond + nc, sizeof(cond) - nc, " AND %s %s ?%d", name, op,
				     argi + 1);
			role = col == C_ID ? (lower ? 'g' : 'G') : (lower ? 's' : 'S');
			src_range = true;
		} else {
			continue;
		}
		nc += (size_t)n;
		if (!unary) {
			roles[nr++] = role;
			ix->aConstraintUsage[i].argvIndex = ++argi;
		}
		ix->aConstraintUsage[i].omit = 0;
	}
	roles[nr] = '\0';
	double rows = 1e6;
	if (id)
		rows = 1;
	else if (series)
		rows = 5000;
	for (int i = 0; i < tbounds && rows > 4; i++)
		rows /= 8;
	for (int i = 0; i < keys - (series ? 1 : 0) && rows > 4; i++)
		rows /= 4;
	int plan = 0;
	/* orders we deliver: (t [, id]) either way with a series; (series_id [, t [, id]]) up.
	 * series_id IN (...) runs one scan per value: no order across them. */
	bool series_in = series_at >= 0 && sqlite3_vtab_in(ix, series_at, -1);
	const struct sqlite3_index_orderby *o = ix->aOrderBy;
	int n = ix->nOrderBy;
	if (n >= 1 && series && !series_in && o[0].iColumn == C_T &&
	    (n == 1 || (n == 2 && o[1].iColumn == C_ID && o[1].desc == o[0].desc))) {
		plan |= o[0].desc ? P_DESC : P_ASC;
		ix->orderByConsumed = 1;
	} else if (n >= 1 && n <= 3 && !series_in && o[0].iColumn == C_SERIES && !o[0].desc &&
		   (n < 2 || (o[1].iColumn == C_T && !o[1].desc)) &&
		   (n < 3 || (o[2].iColumn == C_ID && !o[2].desc))) {
		plan |= P_ASC;
		ix->orderByConsumed = 1;
	}
	ix->idxNum = plan;
	ix->idxStr = sqlite3_mprintf("%s|%s", roles, cond);
	if (ix->idxStr == NULL)
		return SQLITE_NOMEM;
	ix->needToFreeIdxStr = 1;
	ix->estimatedRows = (sqlite3_int64)rows;
	/* Without a series, an id or a src_id range every chunk is read: priced like the scan
	 * of a table far larger than any other, so that the planner puts the polls inside the
	 * loops over runs and series (as it did with the former table's index), never outside
	 * them with a lookup per poll. */
	ix->estimatedCost = 10 + rows * 2;
	if (!id && !series && !src_range)
		ix->estimatedCost = 1e12 + rows;
	if (id)
		ix->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
	return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct cursor *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SQLITE_NOMEM;
	c->db = ((struct vtab *)vt)->db;
	*out = &c->base;
	return SQLITE_OK;
}

static void keys_clear(struct cursor *c)
{
	for (size_t i = 0; i < c->k_n; i++)
		free(c->keys[i].ede);
	c->k_n = 0;
}

static int vt_close(sqlite3_vtab_cursor *cur)
{
	struct cursor *c = (struct cursor *)cur;
	keys_clear(c);
	free(c->keys);
	free(c->rows);
	free(c->m);
	free(c->unit);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->meta);
	free(c->meta_idx);
	free(c);
	return SQLITE_OK;
}

static bool row_wanted(const struct cursor *c, const struct row *r)
{
	return (!c->has_lo || r->t >= c->lo) && (!c->has_hi || r->t <= c->hi) &&
	       (!c->has_id || r->id == c->want_id) && r->id >= c->id_lo && r->id <= c->id_hi &&
	       r->src >= c->src_lo && r->src <= c->src_hi;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Read chunk m into the rows (appended) under a new key. */
static int chunk_read(struct cursor *c, const struct meta *m)
{
	if (c->get == NULL &&
	    sqlite3_prepare_v2(
		c->db,
		"SELECT collector_id, attempt, transport, status, rcode, flags, ede, "
		"version_id, recursive, n, t_min, id_first, src_first, polls FROM "
		"obs_chunk WHERE id = ?",
		-1, &c->get, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	sqlite3_stmt *st = c->get;
	sqlite3_bind_int64(st, 1, m->id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? SQLITE_CORRUPT_VTAB : rc;
	}
	int ret = SQLITE_OK;
	int64_t n = sqlite3_column_int64(st, 9);
	if (n < 1 || n > OC_CHUNK_MAX) {
		ret = SQLITE_CORRUPT_VTAB;
		goto out;
	}
	if (c->k_n == c->k_cap) {
		size_t cap = c->k_cap ? c->k_cap * 2 : 16;
		struct key *k = realloc(c->keys, cap * sizeof(*k));
		if (k == NULL) {
			ret = SQLITE_NOMEM;
			goto out;
		}
		c->keys = k, c->k_cap = cap;
	}
	if (c->r_n + (size_t)n > c->r_cap) {
		size_t cap = c->r_cap ? c->r_cap : OC_CHUNK_MAX;
		while (cap < c->r_n + (size_t)n)
			cap *= 2;
		struct row *r = realloc(c->rows, cap * sizeof(*r));
		if (r == NULL) {
			ret = SQLITE_NOMEM;
			goto out;
		}
		c->rows = r, c->r_cap = cap;
	}
	struct key *k = &c->keys[c->k_n];
	memset(k, 0, sizeof(*k));
	k->series = m->series;
	k->collector = sqlite3_column_int64(st, 0);
	k->attempt = sqlite3_column_int(st, 1);
	k->transport = sqlite3_column_int(st, 2);
	k->status = sqlite3_column_int(st, 3);
	k->has_rcode = col_opt(st, 4, &k->rcode);
	k->has_flags = col_opt(st, 5, &k->flags);
	k->has_version = col_opt(st, 7, &k->version);
	k->recursive = sqlite3_column_type(st, 8) != SQLITE_NULL;
	const char *ede = (const char *)sqlite3_column_text(st, 6);
	if (ede && (k->ede = strdup(ede)) == NULL) {
		ret = SQLITE_NOMEM;
		goto out;
	}
	c->k_n++;
	struct tail h = {.t_min = sqlite3_column_int64(st, 10),
			 .id_first = sqlite3_column_int64(st, 11),
			 .src_first = sqlite3_column_int64(st, 12)};
	const uint8_t *b = sqlite3_column_blob(st, 13);
	size_t len = (size_t)sqlite3_column_bytes(st, 13);
	struct row *rows = c->rows + c->r_n;
	size_t got = 0;
	if (decode(b, len, &h, (uint32_t)(c->k_n - 1), rows, (size_t)n,
		   c->has_hi ? c->hi : INT64_MAX, &got) != OBS_EOK) {
		ret = SQLITE_CORRUPT_VTAB;
		goto out;
	}
	size_t kept = 0;
	for (size_t i = 0; i < got; i++)
		if (row_wanted(c, &rows[i]))
			rows[kept++] = rows[i];
	c->r_n += kept;
out:
	sqlite3_reset(st);
	return ret;
}

/* Load units until one has rows (or none is left). */
static int next_unit(struct cursor *c)
{
	while (c->u < c->u_n) {
		size_t u = c->desc ? c->u_n - 1 - c->u : c->u;
		c->u++;
		keys_clear(c);
		c->r_n = 0;
		for (size_t i = c->unit[u]; i < c->unit[u + 1]; i++) {
			int rc = chunk_read(c, &c->m[i]);
			if (rc != SQLITE_OK)
				return rc;
		}
		if (c->unit[u + 1] - c->unit[u] > 1)
			qsort(c->rows, c->r_n, sizeof(*c->rows), row_cmp);
		if (c->r_n > 0) {
			c->r = c->desc ? c->r_n - 1 : 0;
			return SQLITE_OK;
		}
	}
	c->eof = true;
	return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int plan, const char *idx, int argc,
		     sqlite3_value **argv)
{
	struct cursor *c = (struct cursor *)cur;
	c->m_n = c->u_n = c->u = c->r_n = 0;
	keys_clear(c);
	c->eof = false;
	c->desc = (plan & P_DESC) != 0;
	c->has_lo = c->has_hi = c->has_id = false;
	c->id_lo = c->src_lo = INT64_MIN;
	c->id_hi = c->src_hi = INT64_MAX;
	const char *bar = idx ? strchr(idx, '|') : NULL;
	if (bar == NULL || (size_t)(bar - idx) != (size_t)argc)
		return SQLITE_ERROR;
	/* the row filters: integer bounds only (SQLite checks every row exactly after us) */
	for (int a = 0; a < argc; a++) {
		if (sqlite3_value_type(argv[a]) != SQLITE_INTEGER)
			continue;
		int64_t v = sqlite3_value_int64(argv[a]);
		switch (idx[a]) {
		case 'e':
			if ((c->has_lo && v < c->lo) || (c->has_hi && v > c->hi)) {
				c->eof = true;
				return SQLITE_OK;
			}
			c->has_lo = c->has_hi = true, c->lo = c->hi = v;
			break;
		case 'l':
			if (!c->has_lo || v > c->lo)
				c->lo = v;
			c->has_lo = true;
			break;
		case 'h':
			if (!c->has_hi || v < c->hi)
				c->hi = v;
			c->has_hi = true;
			break;
		case 'i':
			c->has_id = true, c->want_id = v;
			break;
		case 'g':
			c->id_lo = v > c->id_lo ? v : c->id_lo;
			break;
		case 'G':
			c->id_hi = v < c->id_hi ? v : c->id_hi;
			break;
		case 's':
			c->src_lo = v > c->src_lo ? v : c->src_lo;
			break;
		case 'S':
			c->src_hi = v < c->src_hi ? v : c->src_hi;
			break;
		default:
			break;
		}
	}
	/* a join runs the same plan again and again with new values: prepared once */
	if (c->meta == NULL || c->meta_idx == NULL || strcmp(c->meta_idx, idx) != 0) {
		sqlite3_finalize(c->meta);
		c->meta = NULL;
		free(c->meta_idx);
		c->meta_idx = strdup(idx);
		char *sql =
		    sqlite3_mprintf("SELECT id, series_id, t_min, t_max FROM obs_chunk WHERE "
				    "1%s ORDER BY series_id, t_min, id",
				    bar + 1);
		if (sql == NULL || c->meta_idx == NULL) {
			sqlite3_free(sql);
			return SQLITE_NOMEM;
		}
		int prc = sqlite3_prepare_v2(c->db, sql, -1, &c->meta, NULL);
		sqlite3_free(sql);
		if (prc != SQLITE_OK)
			return SQLITE_ERROR;
	}
	sqlite3_stmt *st = c->meta;
	for (int a = 0; a < argc; a++)
		sqlite3_bind_value(st, a + 1, argv[a]);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->m_n == c->m_cap) {
			size_t cap = c->m_cap ? c->m_cap * 2 : 64;
			struct meta *m = realloc(c->m, cap * sizeof(*m));
			size_t *u = realloc(c->unit, (cap + 1) * sizeof(*u));
			if (m)
				c->m = m;
			if (u)
				c->unit = u;
			if (m == NULL || u == NULL) {
				sqlite3_reset(st);
				return SQLITE_NOMEM;
			}
			c->m_cap = cap;
		}
		c->m[c->m_n++] = (struct meta){.id = sqlite3_column_int64(st, 0),
					       .series = sqlite3_column_int64(st, 1),
					       .t_min = sqlite3_column_int64(st, 2),
					       .t_max = sqlite3_column_int64(st, 3)};
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	/* Units: each chunk alone; in an ordered scan, all chunks of a series whose times
	 * overlap (a collector whose clock went back) are read together and sorted. */
	bool ordered = (plan & (P_ASC | P_DESC)) != 0;
	if (c->unit == NULL && (c->unit = malloc(sizeof(*c->unit))) == NULL)
		return SQLITE_NOMEM;
	for (size_t i = 0; i < c->m_n;) {
		size_t j = i + 1;
		if (ordered) {
			int64_t tmax = c->m[i].t_max;
			while (j < c->m_n && c->m[j].series == c->m[i].series &&
			       c->m[j].t_min <= tmax) {
				if (c->m[j].t_max > tmax)
					tmax = c->m[j].t_max;
				j++;
			}
		}
		c->unit[c->u_n++] = i;
		i = j;
	}
	c->unit[c->u_n] = c->m_n;
	return next_unit(c);
}

static int vt_next(sqlite3_vtab_cursor *cur)
{
	struct cursor *c = (struct cursor *)cur;
	if (c->desc ? c->r > 0 : c->r + 1 < c->r_n) {
		c->r = c->desc ? c->r - 1 : c->r + 1;
		return SQLITE_OK;
	}
	return next_unit(c);
}

static int vt_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct cursor *)cur)->eof;
}

static void result_opt(sqlite3_context *ctx, bool has, int64_t v)
{
	if (has)
		sqlite3_result_int64(ctx, v);
	else
		sqlite3_result_null(ctx);
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	const struct cursor *c = (const struct cursor *)cur;
	const struct row *r = &c->rows[c->r];
	const struct key *k = &c->keys[r->ki];
	switch (col) {
	case C_ID:
		sqlite3_result_int64(ctx, r->id);
		break;
	case C_COLLECTOR:
		sqlite3_result_int64(ctx, k->collector);
		break;
	case C_SRC:
		sqlite3_result_int64(ctx, r->src);
		break;
	case C_T:
		sqlite3_result_int64(ctx, r->t);
		break;
	case C_SERIES:
		sqlite3_result_int64(ctx, k->series);
		break;
	case C_ATTEMPT:
		sqlite3_result_int(ctx, k->attempt);
		break;
	case C_TRANSPORT:
		sqlite3_result_int(ctx, k->transport);
		break;
	case C_STATUS:
		sqlite3_result_int(ctx, k->status);
		break;
	case C_RTT:
		result_opt(ctx, !(r->null & NB_RTT), r->rtt);
		break;
	case C_RCODE:
		result_opt(ctx, k->has_rcode, k->rcode);
		break;
	case C_FLAGS:
		result_opt(ctx, k->has_flags, k->flags);
		break;
	case C_EDE:
		if (k->ede)
			sqlite3_result_text(ctx, k->ede, -1, SQLITE_TRANSIENT);
		else
			sqlite3_result_null(ctx);
		break;
	case C_OUTCOME:
		result_opt(ctx, !(r->null & NB_OUTCOME), r->outcome);
		break;
	case C_VERSION:
		result_opt(ctx, k->has_version, k->version);
		break;
	case C_TTL:
		result_opt(ctx, !(r->null & NB_TTL), r->ttl);
		break;
	case C_WIRE:
		result_opt(ctx, !(r->null & NB_WIRE), r->wire);
		break;
	case C_RECURSIVE:
		result_opt(ctx, k->recursive, 1);
		break;
	default:
		sqlite3_result_null(ctx);
		break;
	}
	return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	const struct cursor *c = (const struct cursor *)cur;
	*rowid = c->rows[c->r].id;
	return SQLITE_OK;
}

static const sqlite3_module MODULE = {
    .iVersion = 0,
    .xCreate = vt_connect,
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

int oc_register(sqlite3 *db, int *declaring)
{
	return sqlite3_create_module(db, "obs_chunks", &MODULE, declaring) == SQLITE_OK ? OBS_EOK
											: OBS_ESQL;
}
