/* SPDX-License-Identifier: MIT */
/* status and whatif (reference §5.7, DESIGN.md §10). The hypothetical world W is a copy of
 * the model with the step applied at tau = `at`: new versions served from tau, replaced
 * versions cut at tau (DS: kept, the parent's time is unknown), stopped providers lame from
 * tau. A conflict is a pair window of W inside [tau, +inf) that the unchanged world does not
 * have, outside the times a member is broken whatever the keys. Its end e(u) does not depend
 * on tau when the old member is untouched by the step, so one evaluation gives the earliest
 * safe time: max e(u) + eps_safe; e(u) = +inf, or both members touched, means stop. */
#include <ldns/ldns.h>
#include <ldns/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "obs_err.h"
#include "pglitch.h"
#include "timefmt.h"
#include "verdict.h"
#include "report_json.h"

#define SEC          OBS_USEC_PER_SEC
#define SYNTH_BEFORE (3600 * SEC) /* synthetic RRSIG inception: an hour before tau */
/* and valid while served (renewed: the freeze assumption) */
#define MAXSTEPS 16

enum op {
	OP_DNSKEY_ADD,
	OP_DNSKEY_DEL,
	OP_DNSKEY_SET,
	OP_SIGN_WITH,
	OP_DS_SET,
	OP_NS_SET,
	OP_STOP,
	OP_START,
	OP_CDS_SET,
	OP_CSYNC_SET,
};

static const char *const op_names[] = {"dnskey-add", "dnskey-del", "dnskey-set", "sign-with",
				       "ds-set",     "ns-set",     "stop",       "start",
				       "cds-set",    "csync-set"};
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))

struct step {
	enum op op;
	int prov; /* provider index, MDL_PARENT for ns-set parent */
	mdl_mask_t keys, signers;
	bool has_signers;
	uint64_t names;
	bool insecure; /* ds-set: no supported DS */
};

static obs_usec_t max_age(const mdl_t *m, const vd_opts_t *o)
{
	return o && o->max_age > 0 ? o->max_age : m->poll + 2 * SEC;
}

static obs_usec_t eps_safe(const vd_opts_t *o)
{
	return o && o->eps_safe >= 0 ? o->eps_safe : VD_EPS_SAFE_DEFAULT;
}

/* ---- fail-safe: what makes an answer unknown ---- */

/* Append to reasons (a JSON array) why the model cannot support a verdict at m->at; true when
 * there is any. nsr must be current (mdl_avail). */
static bool unknown_reasons(const mdl_t *m, const vd_opts_t *o, const json_t *clock,
			    json_t *reasons)
{
	char buf[320], t[OBS_TIME_STRLEN];
	size_t before = json_array_size(reasons);
	obs_usec_t age = max_age(m, o);
	size_t ci;
	const json_t *cr;
	json_array_foreach(clock, ci, cr) json_array_append(reasons, (json_t *)cr);
	if (m->last_obs == INT64_MIN) {
		json_array_append_new(reasons, json_string("no authoritative observation yet"));
		return true;
	}
	if (!m->parent_seen)
		json_array_append_new(reasons,
				      json_string("the parent's referral was never observed"));
	if (m->at - m->last_obs > age) {
		snprintf(buf, sizeof(buf),
			 "stale data: the newest observation is %.1f s old (limit %.1f s): "
			 "has the collector stopped?",
			 (double)(m->at - m->last_obs) / 1e6, (double)age / 1e6);
		json_array_append_new(reasons, json_string(buf));
	}
	for (size_t i = 0; i < m->ns; i++) {
		const mdl_srv_t *s = &m->srv[i];
		bool reach = s->origin == MDL_PARENT || iset_contains(&m->nsr[s->origin], m->at);
		if (!reach)
			continue;
		const char *o_name = s->origin == MDL_PARENT ? "parent" : m->prov[s->origin];
		if (s->last_poll == INT64_MIN || m->at - s->last_poll > age) {
			snprintf(buf, sizeof(buf), "server %s (%s, %s): no recent poll (last %s)",
				 s->address, s->host, o_name,
				 s->last_poll == INT64_MIN
				     ? "never"
				     : obs_time_format(s->last_poll, t, sizeof(t)));
			json_array_append_new(reasons, json_string(buf));
		} else if (!s->answering) {
			snprintf(buf, sizeof(buf),
				 "server %s (%s, %s) does not answer while resolvers may query it",
				 s->address, s->host, o_name);
			json_array_append_new(reasons, json_string(buf));
		}
	}
	return json_array_size(reasons) > before;
}

/* Evidence is the polls stamped at or before `at` (model.c reads t <= at only): a poll stamped
 * after `at`, a little (collector clock ahead) or far (the collector's wall clock is wrong or
 * was stepped), never makes the data fresh; the freshness limit is measured back from `at`.
 * The evidence window is [at - (max_age + the largest TTL of any version in the model), at]:
 * the freshness period, and the cache horizon the waits are measured over (a step inside it
 * would stretch or shrink a TTL wait: a forward step of 5 min makes a version seen a second
 * ago look 5 min old). A wall-clock step of a collector with targets in the zone (clock_step,
 * analysis migration 10) whose ambiguous span [min(t_before, t_after), max(t_before,
 * t_after)] meets that window mixes two timelines in the evidence: unknown until the window
 * has moved past it (re-measured). The reasons (strings) are appended to *out, a new array
 * owned by the caller. */
static int clock_reasons(an_db_t *db, const mdl_t *m, const vd_opts_t *o, json_t **out, char *err,
			 size_t errlen)
{
	sqlite3_stmt *st = NULL;
	*out = json_array();
	if (*out == NULL)
		return OBS_ENOMEM;
	int64_t ttl = 0;
	for (size_t i = 0; i < m->nv; i++)
		if (m->v[i].ttl_s > ttl)
			ttl = m->v[i].ttl_s;
	if (ttl > INT64_MAX / SEC)
		ttl = INT64_MAX / SEC;
	obs_usec_t lo = obs_usec_shift(obs_usec_shift(m->at, -max_age(m, o)), -ttl * SEC);
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT c.name, k.t_before, k.t_after, k.step_us FROM clock_step k "
		"JOIN collector c ON c.id = k.collector_id WHERE k.collector_id IN "
		"(SELECT collector_id FROM target WHERE zone = ?1) AND max(k.t_before, "
		"k.t_after) >= ?2 AND min(k.t_before, k.t_after) <= ?3 ORDER BY "
		"k.t_after, k.id LIMIT 8",
		-1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "clock steps: %s", sqlite3_errmsg(an_db_sql(db)));
		return OBS_ESQL;
	}
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, m->at);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char buf[400], a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN], w[OBS_TIME_STRLEN];
		obs_usec_t step = sqlite3_column_int64(st, 3);
		snprintf(buf, sizeof(buf),
			 "clock step: collector %.64s's wall clock stepped %s by %.3f s between %s "
			 "and %s, inside the evidence window from %s: its polls there may carry "
			 "either timeline",
			 (const char *)sqlite3_column_text(st, 0), step > 0 ? "forward" : "back",
			 (double)(step > 0 ? step : -step) / 1e6,
			 obs_time_format(sqlite3_column_int64(st, 1), a, sizeof(a)),
			 obs_time_format(sqlite3_column_int64(st, 2), b, sizeof(b)),
			 obs_time_format(lo, w, sizeof(w)));
		json_array_append_new(*out, json_string(buf));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "clock steps: %s", sqlite3_errmsg(an_db_sql(db)));
		return OBS_ESQL;
	}
	if (o == NULL || o->now <= 0)
		return OBS_EOK;
	/* polls stamped in the future of the real time: a clock ahead, or a step not seen */
	if (sqlite3_prepare_v2(
		an_db_sql(db),
		"SELECT c.name, max(k.t_max) FROM obs_chunk k JOIN series s ON s.id = k.series_id "
		"JOIN target t ON t.id = s.target_id JOIN collector c ON c.id = k.collector_id "
		"WHERE t.zone = ?1 GROUP BY k.collector_id HAVING max(k.t_max) > ?2 ORDER BY "
		"c.name",
		-1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "future polls: %s", sqlite3_errmsg(an_db_sql(db)));
		return OBS_ESQL;
	}
	sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, obs_usec_shift(o->now, VD_FUTURE_TOLERANCE));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char buf[400], a[OBS_TIME_STRLEN];
		obs_usec_t t = sqlite3_column_int64(st, 1);
		snprintf(
		    buf, sizeof(buf),
		    "clock anomaly: collector %.64s has polls stamped up to %s, %.1f s after now "
		    "(tolerance %.0f s): its wall clock runs ahead or was stepped",
		    (const char *)sqlite3_column_text(st, 0), obs_time_format(t, a, sizeof(a)),
		    (double)(t - o->now) / 1e6, (double)VD_FUTURE_TOLERANCE / 1e6);
		json_array_append_new(*out, json_string(buf));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "future polls: %s", sqlite3_errmsg(an_db_sql(db)));
		return OBS_ESQL;
	}
	return OBS_EOK;
}

/* ---- parsing steps ---- */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static bool is_hex(const char *s)
{
	size_t n = strlen(s);
	if (n < 8 || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s) / 2;
	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	return n;
}

/* A key: ALG/TAG, ALG/TAG/FP (16 hex digits of SHA-256 over the RDATA) or wire:BASE64 (added
 * to the key table as a hypothetical key when new). Returns the key index or an error. */
static int parse_key(mdl_t *m, const char *s, int *idx, char *err, size_t errlen)
{
	if (strncmp(s, "wire:", 5) == 0) {
		uint8_t rd[1024];
		ldns_rdf *rdf = NULL;
		int n = -1;
		if (strlen(s + 5) < 2048 && ldns_str2rdf_b64(&rdf, s + 5) == LDNS_STATUS_OK &&
		    ldns_rdf_size(rdf) <= sizeof(rd)) {
			n = (int)ldns_rdf_size(rdf);
			memcpy(rd, ldns_rdf_data(rdf), (size_t)n);
		}
		ldns_rdf_deep_free(rdf);
		key_info_t ki;
		if (n < 4 || keys_parse(rd, (size_t)n, &ki) != OBS_EOK)
			return fail(err, errlen, OBS_ESYNTAX, "key %.40s: not base64 DNSKEY RDATA",
				    s);
		if ((*idx = mdl_key_find(m, rd, (size_t)n)) >= 0)
			return OBS_EOK;
		if (m->nk == MDL_MAXKEYS)
			return fail(err, errlen, OBS_ELIMIT, "key table full (%d keys)",
				    MDL_MAXKEYS);
		mdl_key_t *k = &m->keys[m->nk];
		k->info = ki;
		memcpy(k->rdata, rd, (size_t)n);
		k->len = (size_t)n;
		k->hypothetical = true;
		*idx = (int)m->nk++;
		return OBS_EOK;
	}
	unsigned alg, tag;
	char fp[64] = "";
	int consumed = 0;
	if (sscanf(s, "%u/%u%n", &alg, &tag, &consumed) != 2 || alg > 255 || tag > 65535)
		return fail(err, errlen, OBS_ESYNTAX,
			    "key '%.40s': expected ALG/TAG, ALG/TAG/FP or wire:BASE64", s);
	if (s[consumed] == '/')
		snprintf(fp, sizeof(fp), "%s", s + consumed + 1);
	else if (s[consumed])
		return fail(err, errlen, OBS_ESYNTAX, "key '%.40s': trailing characters", s);
	int found = -1, n = 0;
	for (size_t i = 0; i < m->nk; i++) {
		const key_info_t *k = &m->keys[i].info;
		if (k->alg != alg || k->tag != tag)
			continue;
		if (fp[0]) {
			char hex[17];
			for (int j = 0; j < 8; j++)
				snprintf(hex + 2 * j, 3, "%02x", k->fp[j]);
			if (strncasecmp(hex, fp, 16) != 0)
				continue;
		}
		found = (int)i;
		n++;
	}
	if (n == 0)
		return fail(err, errlen, OBS_ESYNTAX,
			    "key %u/%u%s%s was never observed in zone %s: give it as "
			    "wire:BASE64",
			    alg, tag, fp[0] ? "/" : "", fp, m->zone);
	if (n > 1)
		return fail(err, errlen, OBS_ESYNTAX,
			    "key tag %u/%u collides in zone %s: give ALG/TAG/FP", alg, tag,
			    m->zone);
	*idx = found;
	return OBS_EOK;
}

static int parse_keys(mdl_t *m, const json_t *arr, mdl_mask_t *mask, char *err, size_t errlen)
{
	size_t i;
	const json_t *k;
	if (!json_is_array(arr))
		return fail(err, errlen, OBS_ESYNTAX, "\"keys\" must be an array of keys");
	json_array_foreach(arr, i, k)
	{
		int idx, ret;
		if (!json_is_string(k))
			return fail(err, errlen, OBS_ESYNTAX, "keys[%zu]: not a string", i);
		if ((ret = parse_key(m, json_string_value(k), &idx, err, errlen)))
			return ret;
		*mask |= (mdl_mask_t)1 << idx;
	}
	return OBS_EOK;
}

static int provider_of(const mdl_t *m, const json_t *st, bool parent_ok, int *prov, char *err,
		       size_t errlen)
{
	const char *p = json_string_value(json_object_get(st, "provider"));
	if (p == NULL)
		return fail(err, errlen, OBS_ESYNTAX, "step needs \"provider\"");
	if (parent_ok && strcmp(p, "parent") == 0) {
		*prov = MDL_PARENT;
		return OBS_EOK;
	}
	if ((*prov = mdl_prov(m, p)) < 0)
		return fail(err, errlen, OBS_ESYNTAX, "provider '%.64s' unknown in zone %s", p,
			    m->zone);
	return OBS_EOK;
}

/* the providers NS names map to (by the servers' host names) */
static int parse_names(const mdl_t *m, const json_t *arr, uint64_t *names, char *err, size_t errlen)
{
	size_t i;
	const json_t *n;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return fail(err, errlen, OBS_ESYNTAX, "\"names\" must be a non-empty array");
	json_array_foreach(arr, i, n)
	{
		const char *s = json_string_value(n);
		if (s == NULL || strlen(s) > 253)
			return fail(err, errlen, OBS_ESYNTAX, "names[%zu]: not a host name", i);
		char want[260];
		snprintf(want, sizeof(want), "%s%s", s, s[0] && s[strlen(s) - 1] == '.' ? "" : ".");
		int p = -1;
		for (size_t k = 0; k < m->ns && p < 0; k++)
			if (m->srv[k].origin != MDL_PARENT && strcasecmp(m->srv[k].host, want) == 0)
				p = m->srv[k].origin;
		if (p < 0)
			return fail(err, errlen, OBS_ESYNTAX,
				    "NS name '%.64s' is no server of any provider of %s", s,
				    m->zone);
		*names |= (uint64_t)1 << p;
	}
	return OBS_EOK;
}

static int parse_ds(mdl_t *m, const json_t *st, struct step *s, char *err, size_t errlen)
{
	mdl_mask_t keys = 0;
	bool any = false;
	const json_t *k = json_object_get(st, "keys"), *ds = json_object_get(st, "ds");
	int ret;
	if (k == NULL && ds == NULL)
		return fail(err, errlen, OBS_ESYNTAX, "ds-set needs \"keys\" or \"ds\"");
	if (k && (ret = parse_keys(m, k, &keys, err, errlen)))
		return ret;
	for (size_t i = 0; i < m->nk; i++)
		if ((keys & ((mdl_mask_t)1 << i)) && mdl_alg_supported(m->keys[i].info.alg))
			any = true; /* DS derived with SHA-256 */
	s->keys = keys;
	size_t i;
	const json_t *d;
	if (ds && !json_is_array(ds))
		return fail(err, errlen, OBS_ESYNTAX, "\"ds\" must be an array of hex RDATA");
	json_array_foreach(ds, i, d)
	{
		uint8_t rd[256];
		const char *h = json_string_value(d);
		size_t n = h && is_hex(h) ? unhex(h, rd, sizeof(rd)) : 0;
		ds_info_t di;
		if (n == 0 || keys_ds_parse(rd, n, &di) != OBS_EOK)
			return fail(err, errlen, OBS_ESYNTAX, "ds[%zu]: not DS RDATA in hex", i);
		if (!keys_digest_supported(di.dtype) || !mdl_alg_supported(di.alg))
			continue;
		any = true;
		for (size_t j = 0; j < m->nk; j++)
			if (keys_ds_matches(&di, m->zone, m->keys[j].rdata, m->keys[j].len))
				s->keys |= (mdl_mask_t)1 << j;
	}
	s->insecure = !any;
	return OBS_EOK;
}

static int parse_step(mdl_t *m, const json_t *st, struct step *s, char *err, size_t errlen)
{
	const char *op = json_string_value(json_object_get(st, "op"));
	memset(s, 0, sizeof(*s));
	size_t o;
	for (o = 0; op && o < NOPS; o++)
		if (strcmp(op, op_names[o]) == 0)
			break;
	if (op == NULL || o == NOPS)
		return fail(err, errlen, OBS_ESYNTAX, "unknown op '%.32s'", op ? op : "(none)");
	s->op = (enum op)o;
	int ret = OBS_EOK, idx;
	switch (s->op) {
	case OP_DNSKEY_ADD:
	case OP_DNSKEY_DEL: {
		const char *k = json_string_value(json_object_get(st, "key"));
		if ((ret = provider_of(m, st, false, &s->prov, err, errlen)))
			return ret;
		if (k == NULL)
			return fail(err, errlen, OBS_ESYNTAX, "%s needs \"key\"", op);
		if ((ret = parse_key(m, k, &idx, err, errlen)) == OBS_EOK)
			s->keys = (mdl_mask_t)1 << idx;
		return ret;
	}
	case OP_DNSKEY_SET:
	case OP_SIGN_WITH:
		if ((ret = provider_of(m, st, false, &s->prov, err, errlen)) ||
		    (ret = parse_keys(m, json_object_get(st, "keys"), &s->keys, err, errlen)))
			return ret;
		if (s->op == OP_DNSKEY_SET && json_object_get(st, "signers")) {
			s->has_signers = true;
			ret =
			    parse_keys(m, json_object_get(st, "signers"), &s->signers, err, errlen);
		}
		return ret;
	case OP_DS_SET:
		s->prov = MDL_PARENT;
		return parse_ds(m, st, s, err, errlen);
	case OP_CDS_SET:
		if ((ret = provider_of(m, st, false, &s->prov, err, errlen)))
			return ret;
		return parse_ds(m, st, s, err, errlen);
	case OP_NS_SET:
		if ((ret = provider_of(m, st, true, &s->prov, err, errlen)))
			return ret;
		return parse_names(m, json_object_get(st, "names"), &s->names, err, errlen);
	case OP_STOP:
	case OP_START:
	case OP_CSYNC_SET:
		return provider_of(m, st, false, &s->prov, err, errlen);
	}
	return ret;
}

/* ---- the hypothetical world ---- */

static bool is_open(const mdl_ver_t *v, obs_usec_t t)
{
	return iset_sup(&v->served) == ISET_INF && iset_contains(&v->served, t);
}

/* the version stops being served at tau */
static int cut(mdl_ver_t *v, obs_usec_t tau)
{
	iset_t tmp = ISET_INIT;
	int ret = iset_clip(&v->served, ISET_NEG_INF, tau, &tmp);
	if (ret == OBS_EOK)
		ret = iset_copy(&v->served, &tmp);
	iset_free(&tmp);
	v->touched = true;
	return ret;
}

/* a new version like src, served from tau, with synthetic signatures by `signers` in every
 * group (src's groups) */
static int derive(mdl_t *w, size_t src, mdl_mask_t signers, mdl_ver_t *out)
{
	const mdl_ver_t *s = &w->v[src];
	memset(out, 0, sizeof(*out));
	out->id = w->next_hypo--;
	out->origin = s->origin;
	out->cls = s->cls;
	memcpy(out->role, s->role, sizeof(out->role));
	memcpy(out->owner, s->owner, sizeof(out->owner));
	out->type = s->type;
	out->kind = s->kind;
	out->ttl_s = s->ttl_s;
	out->keys = s->keys;
	out->names = s->names;
	out->insecure = s->insecure;
	out->ngroups = s->ngroups ? s->ngroups : 1;
	out->touched = true;
	out->signers = signers;
	size_t n = 0;
	for (size_t k = 0; k < MDL_MAXKEYS; k++)
		n += (signers >> k) & 1;
	n *= out->ngroups;
	if (n && (out->sig = calloc(n, sizeof(*out->sig))) == NULL)
		return OBS_ENOMEM;
	for (unsigned g = 0; g < out->ngroups; g++)
		for (size_t k = 0; k < MDL_MAXKEYS; k++)
			if ((signers >> k) & 1)
				out->sig[out->nsig++] = (mdl_sig_t){w->at - SYNTH_BEFORE, ISET_INF,
								    (uint8_t)k, (uint8_t)g};
	return iset_add(&out->served, w->at, ISET_INF);
}

/* the signers of version v (keys with a signature valid at t) */
static mdl_mask_t signers_at(const mdl_ver_t *v, obs_usec_t t)
{
	mdl_mask_t r = 0;
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i].lo <= t && t < v->sig[i].hi)
			r |= (mdl_mask_t)1 << v->sig[i].key;
	return r;
}

static mdl_mask_t zone_keys(const mdl_t *m, mdl_mask_t keys)
{
	mdl_mask_t r = 0;
	for (size_t i = 0; i < m->nk; i++) {
		const key_info_t *k = &m->keys[i].info;
		if ((keys >> i & 1) && (k->flags & KEY_F_ZONE) && !(k->flags & KEY_F_REVOKE) &&
		    mdl_alg_supported(k->alg))
			r |= (mdl_mask_t)1 << i;
	}
	return r;
}

static mdl_mask_t sep_keys(const mdl_t *m, mdl_mask_t keys)
{
	mdl_mask_t r = 0;
	for (size_t i = 0; i < m->nk; i++)
		if ((keys >> i & 1) && (m->keys[i].info.flags & KEY_F_SEP))
			r |= (mdl_mask_t)1 << i;
	return r ? r : keys;
}

/* Replace every version of (origin, class[, role]) open at tau by fn(version). */
static int apply_dnskey(mdl_t *w, const struct step *s, char *why, size_t whylen)
{
	size_t n0 = w->nv;
	int ret = OBS_EOK, hits = 0;
	for (size_t i = 0; ret == OBS_EOK && i < n0; i++) {
		mdl_ver_t *v = &w->v[i];
		if (v->origin != s->prov || v->cls != MC_DNSKEY || !is_open(v, w->at))
			continue;
		hits++;
		mdl_mask_t keys = s->op == OP_DNSKEY_ADD   ? (v->keys | zone_keys(w, s->keys))
				  : s->op == OP_DNSKEY_DEL ? (v->keys & ~s->keys)
							   : zone_keys(w, s->keys);
		mdl_mask_t signers = s->has_signers ? s->signers : (signers_at(v, w->at) & keys);
		if (!signers)
			signers = sep_keys(w, keys);
		mdl_ver_t nv;
		if ((ret = derive(w, i, signers, &nv)) == OBS_EOK) {
			nv.keys = keys;
			ret = mdl_add_ver(w, &nv, NULL);
		}
		if (ret == OBS_EOK)
			ret = cut(&w->v[i], w->at);
		else
			free(nv.sig), iset_free(&nv.served);
	}
	if (ret == OBS_EOK && hits == 0)
		snprintf(why, whylen, "provider %s serves no DNSKEY RRset now", w->prov[s->prov]);
	return ret;
}

static int apply_sign(mdl_t *w, const struct step *s, char *why, size_t whylen)
{
	size_t n0 = w->nv;
	int ret = OBS_EOK, hits = 0;
	for (size_t i = 0; ret == OBS_EOK && i < n0; i++) {
		mdl_ver_t *v = &w->v[i];
		if (v->origin != s->prov || v->cls != MC_DATA || !is_open(v, w->at))
			continue;
		hits++;
		mdl_ver_t nv;
		if ((ret = derive(w, i, s->keys, &nv)) == OBS_EOK)
			ret = mdl_add_ver(w, &nv, NULL);
		if (ret == OBS_EOK)
			ret = cut(&w->v[i], w->at);
	}
	if (ret == OBS_EOK && hits == 0)
		snprintf(why, whylen, "provider %s serves no signed data now", w->prov[s->prov]);
	return ret;
}

static int apply_ds(mdl_t *w, const struct step *s)
{
	mdl_ver_t nv = {.id = w->next_hypo--,
			.origin = MDL_PARENT,
			.cls = MC_DS,
			.keys = s->keys,
			.insecure = s->insecure,
			.ngroups = 1,
			.touched = true,
			.type = 43,
			.kind = VK_ANSWER};
	snprintf(nv.role, sizeof(nv.role), "ds");
	snprintf(nv.owner, sizeof(nv.owner), "%s", w->zone);
	for (size_t i = 0; i < w->nv; i++)
		if (w->v[i].cls == MC_DS && w->v[i].ttl_s > nv.ttl_s)
			nv.ttl_s = w->v[i].ttl_s;
	int ret = iset_add(&nv.served, w->at, ISET_INF);
	/* the old DS set stays: the parent publishes at a time of its own */
	return ret ? ret : mdl_add_ver(w, &nv, NULL);
}

static int apply_ns(mdl_t *w, int prov, uint64_t names, char *why, size_t whylen)
{
	size_t n0 = w->nv;
	int ret = OBS_EOK, hits = 0;
	for (size_t i = 0; ret == OBS_EOK && i < n0; i++) {
		mdl_ver_t *v = &w->v[i];
		bool ns = prov == MDL_PARENT ? v->cls == MC_NSP
					     : (v->cls == MC_DATA && strcmp(v->role, "ns") == 0);
		if (v->origin != prov || !ns || !is_open(v, w->at))
			continue;
		hits++;
		mdl_ver_t nv;
		if ((ret = derive(w, i, signers_at(v, w->at), &nv)) == OBS_EOK) {
			nv.names = names;
			ret = mdl_add_ver(w, &nv, NULL);
		}
		if (ret == OBS_EOK)
			ret = cut(&w->v[i], w->at);
	}
	if (ret == OBS_EOK && hits == 0)
		snprintf(why, whylen, "%s serves no NS RRset now",
			 prov == MDL_PARENT ? "the parent" : w->prov[prov]);
	return ret;
}

static int apply_stop(mdl_t *w, int prov, bool start)
{
	int ret = OBS_EOK;
	for (size_t i = 0; ret == OBS_EOK && i < w->ns; i++) {
		if (w->srv[i].origin != prov)
			continue;
		if (!start) {
			ret = iset_add(&w->srv[i].lame, w->at, ISET_INF);
			continue;
		}
		iset_t tmp = ISET_INIT;
		if ((ret = iset_clip(&w->srv[i].lame, ISET_NEG_INF, w->at, &tmp)) == OBS_EOK)
			ret = iset_copy(&w->srv[i].lame, &tmp);
		iset_free(&tmp);
	}
	for (size_t i = 0; ret == OBS_EOK && i < w->nv; i++) {
		mdl_ver_t *v = &w->v[i];
		if (v->origin != prov)
			continue;
		if (!start && is_open(v, w->at)) {
			ret = cut(v, w->at);
		} else if (start) {
			/* it serves again what it served last, per RRset */
			bool latest = true;
			for (size_t j = 0; j < w->nv; j++)
				if (j != i && w->v[j].origin == prov && w->v[j].cls == v->cls &&
				    strcmp(w->v[j].role, v->role) == 0 &&
				    strcmp(w->v[j].owner, v->owner) == 0 &&
				    iset_sup(&w->v[j].served) > iset_sup(&v->served))
					latest = false;
			if (latest) {
				v->touched = true;
				ret = iset_add(&v->served, w->at, ISET_INF);
			}
		}
	}
	return ret;
}

/* apply every step to w; *why says what makes the step impossible to judge */
static int apply(mdl_t *w, const struct step *st, size_t n, char *why, size_t whylen)
{
	int ret = OBS_EOK;
	for (size_t i = 0; ret == OBS_EOK && i < n && !why[0]; i++) {
		const struct step *s = &st[i];
		switch (s->op) {
		case OP_DNSKEY_ADD:
		case OP_DNSKEY_DEL:
		case OP_DNSKEY_SET:
			ret = apply_dnskey(w, s, why, whylen);
			break;
		case OP_SIGN_WITH:
			ret = apply_sign(w, s, why, whylen);
			break;
		case OP_DS_SET:
		case OP_CDS_SET: /* C-3: a CDS is judged as the DS set it asks for */
			ret = apply_ds(w, s);
			break;
		case OP_NS_SET:
			ret = apply_ns(w, s->prov, s->names, why, whylen);
			break;
		case OP_CSYNC_SET: { /* C-7: the parent takes the provider's apex NS */
			uint64_t names = 0;
			for (size_t j = 0; j < w->nv; j++)
				if (w->v[j].origin == s->prov && w->v[j].cls == MC_DATA &&
				    strcmp(w->v[j].role, "ns") == 0 && is_open(&w->v[j], w->at))
					names |= w->v[j].names;
			if (names == 0)
				snprintf(why, whylen, "provider %s serves no apex NS RRset now",
					 w->prov[s->prov]);
			else
				ret = apply_ns(w, MDL_PARENT, names, why, whylen);
			break;
		}
		case OP_STOP:
		case OP_START:
			ret = apply_stop(w, s->prov, s->op == OP_START);
			break;
		}
	}
	return ret;
}

/* ---- conflicts ---- */

struct conflict {
	const char *id;
	enum pg_tier tier;
	int a, b;         /* version indexes in W */
	obs_usec_t until; /* ISET_INF: waiting does not help */
	bool split;       /* both members changed by the step */
	bool caveat;      /* reported, not gating (self-listing R-1p) */
	enum det_sev sev;
	int server;
	char reason[320];
};

struct eval {
	const mdl_t *m0; /* the world without the step */
	mdl_t *w;        /* with it */
	bool *grew;      /* per W version: new, or its F grew */
	struct conflict *c;
	size_t nc, cap;
	int err;
};

static void add_conflict(struct eval *e, const struct conflict *c)
{
	if (e->nc == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct conflict *n = realloc(e->c, cap * sizeof(*n));
		if (n == NULL) {
			e->err = OBS_ENOMEM;
			return;
		}
		e->c = n;
		e->cap = cap;
	}
	e->c[e->nc++] = *c;
}

/* conflicts of W for profile p in tier t: pairs with a changed member */
static int pair_conflicts(struct eval *e, const mdl_prof_t *p, enum pg_tier t)
{
	mdl_t *w = e->w;
	const mdl_t *m0 = e->m0;
	iset_t ww = ISET_INIT, w0 = ISET_INIT, tmp = ISET_INIT, tmp2 = ISET_INIT;
	int ret = OBS_EOK;
	for (size_t a = 0; ret == OBS_EOK && a < w->nv; a++) {
		const mdl_ver_t *va = &w->v[a];
		if (va->cls != MC_DS && va->cls != MC_DNSKEY)
			continue;
		for (size_t b = 0; ret == OBS_EOK && b < w->nv; b++) {
			const mdl_ver_t *vb = &w->v[b];
			if (!(e->grew[a] || e->grew[b]) || !pg_is_pair(va, vb))
				continue;
			if ((ret = pg_pair_window(w, va, vb, t, p->strict, &tmp)) ||
			    (ret = iset_clip(&tmp, w->at, ISET_INF, &ww)) || iset_empty(&ww))
				continue;
			/* not new: the same pair already fails without the step */
			if (a < m0->nv && b < m0->nv) {
				if ((ret = pg_pair_window(m0, &m0->v[a], &m0->v[b], t, p->strict,
							  &w0)) ||
				    (ret = iset_minus(&ww, &w0, &tmp)) ||
				    (ret = iset_copy(&ww, &tmp)))
					break;
			}
			/* not the step's fault: a member broken whatever the keys */
			for (int k = 0; ret == OBS_EOK && k < 2; k++) {
				const mdl_ver_t *x = k ? vb : va;
				if (x->id < 0)
					continue;
				if ((ret = mdl_self_valid(w, x, &tmp2)) == OBS_EOK &&
				    (ret = iset_and(&ww, &tmp2, &tmp)) == OBS_EOK)
					ret = iset_copy(&ww, &tmp);
			}
			if (ret || iset_empty(&ww))
				continue;
			struct conflict c = {.id = va->cls == MC_DS ? "V-1" : "V-2",
					     .tier = t,
					     .a = (int)a,
					     .b = (int)b,
					     .until = iset_sup(&ww),
					     .split = va->touched && vb->touched,
					     .sev = t == PG_M2 ? SEV_WARN : SEV_ERROR,
					     .server = -1};
			char la[128], lb[128], k1[16];
			mdl_ver_label(w, va, la, sizeof(la));
			mdl_ver_label(w, vb, lb, sizeof(lb));
			const mdl_ver_t *old = va->id < 0 ? vb : va;
			if (c.split)
				snprintf(c.reason, sizeof(c.reason),
					 "%s and %s both change in this step and do not validate "
					 "together: split the step",
					 la, lb);
			else if (va->cls == MC_DS)
				snprintf(c.reason, sizeof(c.reason),
					 "%s authenticates no signing key of %s%s", la, lb,
					 c.until == ISET_INF ? " (still served)" : "");
			else {
				mdl_mask_t miss = vb->signers & ~va->keys;
				int first = -1;
				for (int k = 0; k < MDL_MAXKEYS && first < 0; k++)
					if (miss >> k & 1)
						first = k;
				snprintf(c.reason, sizeof(c.reason),
					 "%s lacks the key%s%s that signs %s%s", la,
					 first >= 0 ? " " : "",
					 first >= 0 ? mdl_key_label(w, first, k1, sizeof(k1)) : "",
					 lb,
					 c.until == ISET_INF ? (old == va ? " (the DNSKEY RRset is "
									    "still served)"
									  : " (still served)")
							     : "");
			}
			add_conflict(e, &c);
		}
	}
	iset_free(&ww);
	iset_free(&w0);
	iset_free(&tmp);
	iset_free(&tmp2);
	return ret ? ret : e->err;
}

/* servers lame in W while reachable, that were not in the unchanged world */
static int lame_conflicts(struct eval *e, const mdl_prof_t *p, const struct step *st, size_t n)
{
	mdl_t *w = e->w;
	const mdl_t *m0 = e->m0;
	iset_t ww = ISET_INIT, w0 = ISET_INIT, tmp = ISET_INIT, self = ISET_INIT;
	int ret = OBS_EOK;
	for (size_t s = 0; ret == OBS_EOK && s < w->ns; s++) {
		const mdl_srv_t *sv = &w->srv[s];
		if (sv->origin == MDL_PARENT)
			continue;
		if ((ret = iset_and(&w->nsr[sv->origin], &sv->lame, &tmp)) ||
		    (ret = iset_clip(&tmp, w->at, ISET_INF, &ww)) ||
		    (ret = iset_and(&m0->nsr[sv->origin], &m0->srv[s].lame, &w0)) ||
		    (ret = iset_minus(&ww, &w0, &tmp)) || (ret = iset_copy(&ww, &tmp)) ||
		    iset_empty(&ww))
			continue;
		struct conflict c = {.id = "R-1p",
				     .tier = PG_M0,
				     .a = -1,
				     .b = -1,
				     .until = iset_sup(&ww),
				     .sev = SEV_WARN,
				     .server = (int)s};
		const char *pn = w->prov[sv->origin];
		/* self-listing: only the provider's own apex NS (cut at tau) keeps it reachable */
		bool stopping = false, others = true;
		for (size_t i = 0; i < n; i++)
			stopping |= st[i].op == OP_STOP && st[i].prov == sv->origin;
		if (stopping && c.until != ISET_INF) {
			c.caveat = true;
			for (size_t i = 0; i < w->nv; i++) {
				const mdl_ver_t *v = &w->v[i];
				if (v->origin == sv->origin && v->cls == MC_DATA &&
				    strcmp(v->role, "ns") == 0 && (v->names >> sv->origin & 1) &&
				    !iset_empty(&v->F) && iset_sup(&v->served) == w->at)
					others &= (v->names & ~((uint64_t)1 << sv->origin)) != 0;
			}
		}
		(void)p;
		if (c.caveat && others) {
			snprintf(c.reason, sizeof(c.reason),
				 "server %s of %s will time out for resolvers holding %s's own "
				 "apex NS RRset (it names other servers too)",
				 sv->address, pn, pn);
		} else if (c.caveat) {
			c.caveat = false;
			c.until = ISET_INF;
			snprintf(c.reason, sizeof(c.reason),
				 "%s's own apex NS RRset names only %s: remove %s from its own "
				 "apex NS first",
				 pn, pn, pn);
		} else {
			snprintf(c.reason, sizeof(c.reason),
				 "server %s (%s) of %s would not answer while resolvers may still "
				 "query it%s",
				 sv->address, sv->host, pn,
				 c.until == ISET_INF ? ": an NS RRset still served names it" : "");
		}
		add_conflict(e, &c);
	}
	iset_free(&ww);
	iset_free(&w0);
	iset_free(&tmp);
	iset_free(&self);
	return ret ? ret : e->err;
}

/* which versions of W are new or have a larger F than in the unchanged world */
static int mark_grew(struct eval *e)
{
	iset_t tmp = ISET_INIT;
	int ret = OBS_EOK;
	for (size_t i = 0; ret == OBS_EOK && i < e->w->nv; i++) {
		if (i >= e->m0->nv || e->w->v[i].id < 0) {
			e->grew[i] = true;
			continue;
		}
		ret = iset_minus(&e->w->v[i].F, &e->m0->v[i].F, &tmp);
		e->grew[i] = ret == OBS_EOK && !iset_empty(&tmp);
	}
	iset_free(&tmp);
	return ret;
}

/* The earliest time per the conflicts of one tier: ISET_NEG_INF when none, ISET_INF when a
 * conflict cannot end by waiting. */
static obs_usec_t earliest_of(const struct eval *e, size_t from, size_t to, obs_usec_t eps)
{
	obs_usec_t t = ISET_NEG_INF;
	for (size_t i = from; i < to; i++) {
		const struct conflict *c = &e->c[i];
		if (c->caveat)
			continue;
		if (c->split || c->until == ISET_INF)
			return ISET_INF;
		if (c->until + eps > t)
			t = c->until + eps;
	}
	return t;
}

/* Evaluate the step in profile p: conflicts appended to e (from index *first); returns the
 * earliest time for the gating tiers (M0 and M1) and, when m2 != NULL, for M2. */
static int evaluate(struct eval *e, mdl_t *m0, mdl_t *w, const mdl_prof_t *p, const struct step *st,
		    size_t n, obs_usec_t eps, obs_usec_t *gate, obs_usec_t *m2, size_t *first)
{
	int ret;
	if ((ret = mdl_avail(m0, p)) || (ret = mdl_avail(w, p)))
		return ret;
	free(e->grew);
	if ((e->grew = calloc(w->nv ? w->nv : 1, sizeof(bool))) == NULL)
		return OBS_ENOMEM;
	e->m0 = m0;
	e->w = w;
	if ((ret = mark_grew(e)))
		return ret;
	*first = e->nc;
	if ((ret = pair_conflicts(e, p, PG_M0)) || (ret = pair_conflicts(e, p, PG_M1)) ||
	    (ret = lame_conflicts(e, p, st, n)))
		return ret;
	size_t gate_end = e->nc;
	*gate = earliest_of(e, *first, gate_end, eps);
	if (m2) {
		if ((ret = pair_conflicts(e, p, PG_M2)))
			return ret;
		obs_usec_t t2 = earliest_of(e, gate_end, e->nc, eps);
		*m2 = t2 > *gate ? t2 : *gate;
	}
	return OBS_EOK;
}

/* ---- policy: the spec-form waits (RFC 7583, the automation draft's MUST waits) ---- */

/* For every pair (n, u) with n new or newly reachable and u untouched, that does not validate
 * under the STRICT rule: u's last service plus its TTL (u still served: the model decides).
 * NS: removing a provider from an apex NS set waits for the parent's last NS change; stopping
 * a provider waits for every NS RRset that named it. */
static obs_usec_t policy(const struct eval *e, const struct step *st, size_t n, char *why,
			 size_t whylen)
{
	const mdl_t *w = e->w;
	obs_usec_t t = ISET_NEG_INF;
	iset_t valid = ISET_INIT, self = ISET_INIT;
	/* "recently reachable": within the largest TTL of any NS set plus any version */
	int64_t ns_ttl = 0, any_ttl = 0;
	for (size_t i = 0; i < w->nv; i++) {
		const mdl_ver_t *v = &w->v[i];
		if ((v->cls == MC_NSP || !strcmp(v->role, "ns")) && v->ttl_s > ns_ttl)
			ns_ttl = v->ttl_s;
		if (v->ttl_s > any_ttl)
			any_ttl = v->ttl_s;
	}
	obs_usec_t recent = (ns_ttl + any_ttl) * SEC + w->poll;
	for (size_t a = 0; a < w->nv && t != ISET_INF; a++) {
		const mdl_ver_t *va = &w->v[a];
		if (va->cls != MC_DS && va->cls != MC_DNSKEY)
			continue;
		for (size_t b = 0; b < w->nv && t != ISET_INF; b++) {
			const mdl_ver_t *vb = &w->v[b];
			if (!pg_is_pair(va, vb) || !(e->grew[a] || e->grew[b]) ||
			    (va->touched && vb->touched))
				continue;
			const mdl_ver_t *u = e->grew[a] ? vb : va;
			const mdl_ver_t *nv = u == va ? vb : va;
			obs_usec_t sup = iset_sup(&u->served);
			if (sup == ISET_NEG_INF || iset_empty(&nv->F))
				continue;
			/* the spec form counts from when u stopped being served, for versions
			 * resolvers could ever fetch */
			bool open = sup == ISET_INF;
			if (iset_empty(&u->F))
				continue;
			/* a provider still serving that resolvers stopped reaching long ago (an
			 * idle, undelegated one) is not part of the operation */
			if (open && u->origin != MDL_PARENT &&
			    iset_sup(&w->nsr[u->origin]) < w->at - recent)
				continue;
			obs_usec_t end = open ? ISET_INF : sup + u->ttl_s * SEC;
			if (!open && (end <= w->at || end <= t))
				continue;
			int ret = va->cls == MC_DS ? mdl_chain_valid(w, va, vb, &valid)
						   : mdl_sig_valid(w, va, vb, true, &valid);
			if (ret == OBS_EOK && u->id >= 0)
				ret = mdl_self_valid(w, u, &self);
			if (ret != OBS_EOK || (u->id >= 0 && !iset_contains(&self, w->at)))
				continue; /* broken whatever the keys: not the step's doing */
			/* bogus at some time both could be held after tau */
			if (!iset_contains(&valid, w->at) ||
			    (!open && !iset_contains(&valid, end - 1))) {
				t = end;
				if (open) {
					char la[128], lb[128];
					snprintf(
					    why, whylen,
					    "RFC 7583/6781 timing (STRICT algorithms): %s and %s "
					    "do not validate together and the old one is still "
					    "served",
					    mdl_ver_label(w, va, la, sizeof(la)),
					    mdl_ver_label(w, vb, lb, sizeof(lb)));
				}
			}
		}
	}
	iset_free(&self);
	/* DS-Wait-Time (automation draft §2): once the parent published a new DS set, any
	 * further change waits until the replaced one has expired from caches */
	for (size_t j = 0; j < w->nv; j++) {
		const mdl_ver_t *v = &w->v[j];
		obs_usec_t sup = iset_sup(&v->served);
		if (v->cls != MC_DS || v->touched || sup == ISET_INF || sup == ISET_NEG_INF)
			continue;
		if (sup + v->ttl_s * SEC > t)
			t = sup + v->ttl_s * SEC;
	}
	iset_free(&valid);
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &st[i];
		for (size_t j = 0; j < w->nv; j++) {
			const mdl_ver_t *v = &w->v[j];
			bool ns = v->cls == MC_NSP || (v->cls == MC_DATA && !strcmp(v->role, "ns"));
			obs_usec_t sup = iset_sup(&v->served);
			if (!ns || v->touched || sup == ISET_INF || sup == ISET_NEG_INF)
				continue;
			obs_usec_t end = sup + v->ttl_s * SEC;
			bool apex_removal = false;
			if (s->op == OP_NS_SET && s->prov != MDL_PARENT)
				for (size_t k = 0; k < w->nv; k++)
					if (w->v[k].origin == s->prov && w->v[k].touched &&
					    w->v[k].id >= 0 && !strcmp(w->v[k].role, "ns"))
						apex_removal |= (w->v[k].names & ~s->names) != 0;
			if ((apex_removal && v->cls == MC_NSP) ||
			    (s->op == OP_STOP && (v->names >> s->prov & 1)))
				if (end > t)
					t = end;
		}
	}
	return t;
}

/* ---- documents ---- */

static void model_hash(const mdl_t *m, char out[33])
{
	ldns_sha256_CTX ctx;
	uint8_t d[LDNS_SHA256_DIGEST_LENGTH];
	ldns_sha256_init(&ctx);
	for (size_t i = 0; i < m->nv; i++) {
		const mdl_ver_t *v = &m->v[i];
		ldns_sha256_update(&ctx, (const uint8_t *)&v->id, sizeof(v->id));
		ldns_sha256_update(&ctx, (const uint8_t *)&v->origin, sizeof(v->origin));
		ldns_sha256_update(&ctx, (const uint8_t *)&v->ttl_s, sizeof(v->ttl_s));
		ldns_sha256_update(&ctx, (const uint8_t *)v->served.v,
				   v->served.n * sizeof(*v->served.v));
	}
	for (size_t i = 0; i < m->ns; i++) {
		ldns_sha256_update(&ctx, (const uint8_t *)&m->srv[i].answering,
				   sizeof(m->srv[i].answering));
		ldns_sha256_update(&ctx, (const uint8_t *)m->srv[i].lame.v,
				   m->srv[i].lame.n * sizeof(*m->srv[i].lame.v));
	}
	for (size_t i = 0; i < m->nk; i++)
		ldns_sha256_update(&ctx, m->keys[i].rdata, m->keys[i].len);
	ldns_sha256_final(d, &ctx);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static json_t *ver_json(const mdl_t *m, int i)
{
	if (i < 0)
		return json_null();
	char l[160];
	return json_string(mdl_ver_label(m, &m->v[i], l, sizeof(l)));
}

static json_t *conflict_json(const mdl_t *w, const struct conflict *c)
{
	const mdl_ver_t *a = c->a >= 0 ? &w->v[c->a] : NULL, *b = c->b >= 0 ? &w->v[c->b] : NULL;
	int nw = -1, old = -1;
	if (a && b) {
		nw = a->id < 0 || (b->id >= 0 && a->touched) ? c->a : c->b;
		old = nw == c->a ? c->b : c->a;
	}
	int origin = old >= 0         ? w->v[old].origin
		     : c->server >= 0 ? w->srv[c->server].origin
		     : a              ? a->origin
				      : MDL_PARENT;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "tier", json_string(pg_tier_names[c->tier]));
	json_object_set_new(o, "severity", json_string(det_sev_names[c->sev]));
	json_object_set_new(o, "new_version", ver_json(w, nw));
	json_object_set_new(o, "old_version", ver_json(w, old));
	json_object_set_new(o, "origin",
			    json_string(origin == MDL_PARENT ? "parent" : w->prov[origin]));
	json_object_set_new(o, "until", c->split ? json_null() : rj_time(c->until));
	json_object_set_new(o, "gating", json_boolean(!c->caveat && c->tier != PG_M2));
	json_object_set_new(o, "reason", json_string(c->reason));
	if (c->server >= 0)
		json_object_set_new(o, "server", json_string(w->srv[c->server].address));
	return o;
}

/* ---- status ---- */

struct st_acc {
	const mdl_t *m;
	json_t *open;
	enum det_sev worst;
	bool any;
};

static void on_glitch(void *arg, const pg_glitch_t *g)
{
	struct st_acc *a = arg;
	if (!iset_contains(g->when, a->m->at))
		return;
	if (!a->any || g->sev > a->worst)
		a->worst = g->sev;
	a->any = true;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "tier", json_string(pg_tier_names[g->tier]));
	json_object_set_new(o, "severity", json_string(det_sev_names[g->sev]));
	json_object_set_new(o, "a", ver_json(a->m, g->a));
	json_object_set_new(o, "b", ver_json(a->m, g->b));
	if (g->server >= 0)
		json_object_set_new(o, "server", json_string(a->m->srv[g->server].address));
	/* the window that contains `at` */
	for (size_t i = 0; i < g->when->n; i++)
		if (g->when->v[i].lo <= a->m->at && a->m->at < g->when->v[i].hi) {
			json_object_set_new(o, "lo", rj_time(g->when->v[i].lo));
			json_object_set_new(o, "hi", rj_time(g->when->v[i].hi));
		}
	json_object_set_new(o, "reason", json_string(g->reason));
	json_array_append_new(a->open, o);
}

/* status word of m (mdl_avail done with the default profile) */
static int status_of(mdl_t *m, const vd_opts_t *opts, const json_t *clock, const char **word,
		     json_t *reasons, json_t *open)
{
	struct st_acc acc = {m, open, SEV_INFO, false};
	int ret = pg_run(m, &mdl_prof_default, m->at, on_glitch, &acc);
	if (ret)
		return ret;
	bool unknown = unknown_reasons(m, opts, clock, reasons);
	bool broken = acc.any && acc.worst >= SEV_ERROR;
	bool lame = false;
	for (size_t i = 0; i < m->ns; i++) {
		const mdl_srv_t *s = &m->srv[i];
		if (s->origin != MDL_PARENT && !s->answering && s->last_poll != INT64_MIN &&
		    iset_contains(&m->nsr[s->origin], m->at))
			lame = true;
	}
	/* broken wins over unknown: a window we can see is real even if other data is stale */
	*word = broken ? "broken" : unknown ? "unknown" : (acc.any || lame) ? "degraded" : "ok";
	return OBS_EOK;
}

static json_t *base_doc(const mdl_t *m, obs_usec_t at)
{
	json_t *d = json_object();
	char h[33];
	model_hash(m, h);
	json_object_set_new(d, "zone", json_string(m->zone));
	json_object_set_new(d, "at", rj_time(at));
	json_object_set_new(d, "model_hash", json_string(h));
	json_object_set_new(d, "data_age",
			    m->last_obs == INT64_MIN ? json_null()
						     : json_real((double)(at - m->last_obs) / 1e6));
	return d;
}

int vd_status(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, const vd_opts_t *opts,
	      json_t **out, char *err, size_t errlen)
{
	mdl_t *m = NULL;
	*out = NULL;
	int ret = mdl_load(db, sv, zone, at, &m, err, errlen);
	if (ret == OBS_EOK)
		ret = mdl_avail(m, &mdl_prof_default);
	json_t *reasons = json_array(), *open = json_array(), *clock = NULL;
	const char *word = "unknown";
	if (ret == OBS_EOK)
		ret = clock_reasons(db, m, opts, &clock, err, errlen);
	if (ret == OBS_EOK)
		ret = status_of(m, opts, clock, &word, reasons, open);
	if (ret == OBS_EOK) {
		*out = base_doc(m, at);
		json_object_set_new(*out, "status", json_string(word));
		json_object_set_new(*out, "reasons", reasons);
		json_object_set_new(*out, "glitches", open);
		reasons = open = NULL;
	}
	json_decref(reasons);
	json_decref(open);
	json_decref(clock);
	mdl_free(m);
	return ret;
}

/* ---- whatif ---- */

static int whatif_model(mdl_t *m0, json_t *steps_json, const vd_opts_t *opts, const json_t *clock,
			json_t *doc, char *err, size_t errlen)
{
	struct step st[MAXSTEPS];
	size_t n = json_array_size(steps_json), i;
	const json_t *js;
	if (!json_is_array(steps_json) || n == 0)
		return fail(err, errlen, OBS_ESYNTAX, "\"steps\" must be a non-empty array");
	if (n > MAXSTEPS)
		return fail(err, errlen, OBS_ESYNTAX, "at most %d steps in one compound step",
			    MAXSTEPS);
	json_array_foreach(steps_json, i, js)
	{
		if (!json_is_object(js))
			return fail(err, errlen, OBS_ESYNTAX, "steps[%zu]: not an object", i);
		char e2[256] = "";
		int ret = parse_step(m0, js, &st[i], e2, sizeof(e2));
		if (ret)
			return fail(err, errlen, ret, "steps[%zu]: %s", i, e2);
	}
	obs_usec_t eps = eps_safe(opts);
	struct eval e = {0};
	mdl_t *w = NULL;
	char why[256] = "", polwhy[400] = "";
	json_t *reasons = json_array(), *blocking = json_array(), *byp = json_object();
	int ret = mdl_copy(m0, &w);
	if (ret == OBS_EOK)
		ret = apply(w, st, n, why, sizeof(why));
	obs_usec_t gate = ISET_NEG_INF, m2 = ISET_NEG_INF, pol = ISET_NEG_INF;
	size_t first = 0;
	if (ret == OBS_EOK)
		ret = evaluate(&e, m0, w, &mdl_prof_default, st, n, eps, &gate, &m2, &first);
	if (ret == OBS_EOK)
		pol = policy(&e, st, n, polwhy, sizeof(polwhy));
	for (size_t c = 0; ret == OBS_EOK && c < e.nc; c++)
		json_array_append_new(blocking, conflict_json(w, &e.c[c]));
	if (ret == OBS_EOK && polwhy[0]) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string("policy"));
		json_object_set_new(o, "tier", json_string("policy"));
		json_object_set_new(o, "severity", json_string("WARN"));
		json_object_set_new(o, "new_version", json_null());
		json_object_set_new(o, "old_version", json_null());
		json_object_set_new(o, "origin", json_null());
		json_object_set_new(o, "until", json_null());
		json_object_set_new(o, "gating", json_true());
		json_object_set_new(o, "reason", json_string(polwhy));
		json_array_append_new(blocking, o);
	}
	/* status and fail-safe, in the unchanged world with the default profile */
	const char *status = "unknown";
	json_t *open = json_array(), *sreasons = json_array();
	if (ret == OBS_EOK)
		ret = mdl_avail(m0, &mdl_prof_default);
	if (ret == OBS_EOK)
		ret = status_of(m0, opts, clock, &status, sreasons, open);
	json_decref(open);
	json_decref(sreasons);
	bool unknown = ret == OBS_EOK && unknown_reasons(m0, opts, clock, reasons);
	if (why[0]) {
		json_array_append_new(reasons, json_string(why));
		unknown = true;
	}
	for (size_t p = 0; ret == OBS_EOK && p < mdl_profiles_n; p++) {
		obs_usec_t g = ISET_NEG_INF;
		size_t f2;
		size_t keep = e.nc;
		ret = evaluate(&e, m0, w, &mdl_profiles[p], st, n, eps, &g, NULL, &f2);
		e.nc = keep; /* profile conflicts are summarised, not listed */
		if (ret == OBS_EOK) {
			obs_usec_t t = g > pol ? g : pol;
			json_object_set_new(byp, mdl_profiles[p].name,
					    t == ISET_INF ? json_null()
							  : rj_time(t > m0->at ? t : m0->at));
		}
	}
	if (ret == OBS_EOK) {
		obs_usec_t earliest = gate > pol ? gate : pol;
		const char *verdict = unknown                ? "unknown"
				      : earliest == ISET_INF ? "stop"
				      : earliest <= m0->at   ? "go"
							     : "wait";
		if (earliest < m0->at)
			earliest = m0->at;
		if (m2 < m0->at)
			m2 = m0->at;
		bool timed = !unknown && earliest != ISET_INF;
		json_object_set_new(doc, "verdict", json_string(verdict));
		json_object_set_new(doc, "earliest_safe", timed ? rj_time(earliest) : json_null());
		json_object_set_new(doc, "earliest_safe_m2",
				    unknown || m2 == ISET_INF ? json_null() : rj_time(m2));
		json_object_set_new(doc, "policy_earliest",
				    pol == ISET_NEG_INF ? rj_time(m0->at)
				    : pol == ISET_INF   ? json_null()
							: rj_time(pol > m0->at ? pol : m0->at));
		json_object_set_new(doc, "by_profile", byp);
		json_object_set_new(doc, "blocking", blocking);
		json_object_set_new(doc, "reasons", reasons);
		json_object_set_new(doc, "status", json_string(status));
		obs_usec_t vu = m0->at + m0->poll;
		if (!strcmp(verdict, "wait") && earliest < vu)
			vu = earliest;
		json_object_set_new(doc, "valid_until", rj_time(vu));
		json_object_set_new(doc, "eps_safe", json_real((double)eps / 1e6));
		byp = blocking = reasons = NULL;
	}
	json_decref(byp);
	json_decref(blocking);
	json_decref(reasons);
	free(e.c);
	free(e.grew);
	mdl_free(w);
	return ret;
}

int vd_whatif(an_db_t *db, sigv_t *sv, const json_t *request, obs_usec_t now, const vd_opts_t *opts,
	      json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!json_is_object(request))
		return fail(err, errlen, OBS_ESYNTAX, "the request must be a JSON object");
	const char *zone = json_string_value(json_object_get(request, "zone"));
	const json_t *jat = json_object_get(request, "at");
	obs_usec_t at = now;
	if (zone == NULL || zone[0] == '\0' || strlen(zone) > 253)
		return fail(err, errlen, OBS_ESYNTAX, "\"zone\" must be a domain name");
	if (jat && !json_is_null(jat) &&
	    (!json_is_string(jat) || obs_time_parse(json_string_value(jat), now, &at)))
		return fail(err, errlen, OBS_ESYNTAX, "\"at\" must be an RFC 3339 time");
	mdl_t *m = NULL;
	int ret = mdl_load(db, sv, zone, at, &m, err, errlen);
	if (ret)
		return ret;
	json_t *clock = NULL;
	if ((ret = clock_reasons(db, m, opts, &clock, err, errlen))) {
		json_decref(clock);
		mdl_free(m);
		return ret;
	}
	json_t *doc = base_doc(m, at);
	json_object_set(doc, "steps", json_object_get(request, "steps"));
	ret = whatif_model(m, json_object_get(request, "steps"), opts, clock, doc, err, errlen);
	json_decref(clock);
	mdl_free(m);
	if (ret) {
		json_decref(doc);
		return ret;
	}
	*out = doc;
	return OBS_EOK;
}

/* ---- CLI steps ---- */

static int argv_step(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	const char *op = argv[0];
	json_t *s = json_object();
	json_object_set_new(s, "op", json_string(op));
	*out = s;
	int i = 1;
	bool takes_prov = strcmp(op, "ds-set") != 0;
	if (takes_prov) {
		if (argc < 2)
			return fail(err, errlen, OBS_ESYNTAX, "%s: needs a provider", op);
		json_object_set_new(s, "provider", json_string(argv[i++]));
	}
	if (!strcmp(op, "dnskey-add") || !strcmp(op, "dnskey-del")) {
		if (argc != 3)
			return fail(err, errlen, OBS_ESYNTAX, "%s PROVIDER KEY", op);
		json_object_set_new(s, "key", json_string(argv[i]));
		return OBS_EOK;
	}
	if (!strcmp(op, "stop") || !strcmp(op, "start") || !strcmp(op, "csync-set")) {
		if (argc != 2)
			return fail(err, errlen, OBS_ESYNTAX, "%s PROVIDER", op);
		return OBS_EOK;
	}
	const char *list = !strcmp(op, "ns-set") ? "names" : "keys";
	json_t *arr = json_array(), *ds = json_array(), *sig = NULL;
	json_object_set_new(s, list, arr);
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "signed-by") && !strcmp(op, "dnskey-set")) {
			json_object_set_new(s, "signers", sig = json_array());
			continue;
		}
		json_t *tgt = sig ? sig : (!strcmp(list, "keys") && is_hex(argv[i])) ? ds : arr;
		json_array_append_new(tgt, json_string(argv[i]));
	}
	if (json_array_size(ds))
		json_object_set(s, "ds", ds);
	json_decref(ds);
	if (json_array_size(arr) == 0 && !json_object_get(s, "ds") && strcmp(op, "ds-set"))
		return fail(err, errlen, OBS_ESYNTAX, "%s: needs %s", op, list);
	return OBS_EOK;
}

int vd_steps_from_argv(int argc, char **argv, const char *zone, obs_usec_t at, json_t **out,
		       char *err, size_t errlen)
{
	*out = NULL;
	if (zone == NULL)
		return fail(err, errlen, OBS_ESYNTAX, "whatif needs --zone");
	json_t *req = json_object(), *steps = json_array();
	json_object_set_new(req, "zone", json_string(zone));
	json_object_set_new(req, "at", rj_time(at));
	json_object_set_new(req, "steps", steps);
	int ret = OBS_EOK, start = 0;
	for (int i = 0; ret == OBS_EOK && i <= argc; i++) {
		if (i < argc && strcmp(argv[i], "+") != 0)
			continue;
		if (i == start)
			ret = fail(err, errlen, OBS_ESYNTAX, "empty step (a '+' without a step)");
		json_t *s = NULL;
		if (ret == OBS_EOK)
			ret = argv_step(i - start, argv + start, &s, err, errlen);
		if (s)
			json_array_append_new(steps, s);
		start = i + 1;
	}
	if (ret) {
		json_decref(req);
		return ret;
	}
	*out = req;
	return OBS_EOK;
}

/* ---- predicted glitches ---- */

/* windows are coalesced per (ID, tier, severity, origins, server) (reference §5.6 step 7): one
 * entry per kind of conflict, with an example pair and the number of pairs behind it */
struct pred_grp {
	char key[160];
	int a, b, server;
	const char *id;
	enum pg_tier tier;
	enum det_sev sev;
	iset_t when;
	size_t pairs;
	char reason[256];
};

struct pred_acc {
	const mdl_t *m;
	struct pred_grp *g;
	size_t n, cap;
	int err;
};

static const char *origin_name(const mdl_t *m, int v)
{
	return v < 0 ? "-" : m->v[v].origin == MDL_PARENT ? "parent" : m->prov[m->v[v].origin];
}

static void on_pred(void *arg, const pg_glitch_t *g)
{
	struct pred_acc *a = arg;
	char key[160];
	snprintf(key, sizeof(key), "%s|%d|%d|%s|%s|%d", g->id, g->tier, g->sev,
		 origin_name(a->m, g->a), origin_name(a->m, g->b), g->server);
	struct pred_grp *p = NULL;
	for (size_t i = 0; i < a->n && p == NULL; i++)
		if (strcmp(a->g[i].key, key) == 0)
			p = &a->g[i];
	if (p == NULL) {
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 16;
			struct pred_grp *n = realloc(a->g, cap * sizeof(*n));
			if (n == NULL) {
				a->err = OBS_ENOMEM;
				return;
			}
			a->g = n;
			a->cap = cap;
		}
		p = &a->g[a->n++];
		memset(p, 0, sizeof(*p));
		snprintf(p->key, sizeof(p->key), "%s", key);
		p->a = g->a;
		p->b = g->b;
		p->server = g->server;
		p->id = g->id;
		p->tier = g->tier;
		p->sev = g->sev;
		snprintf(p->reason, sizeof(p->reason), "%s", g->reason);
	}
	p->pairs++;
	iset_t u = ISET_INIT;
	if (iset_or(&p->when, g->when, &u) != OBS_EOK || iset_copy(&p->when, &u) != OBS_EOK)
		a->err = OBS_ENOMEM;
	iset_free(&u);
}

static json_t *pred_json(const mdl_t *m, const struct pred_grp *g)
{
	json_t *o = json_object(), *wins = json_array();
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "tier", json_string(pg_tier_names[g->tier]));
	json_object_set_new(o, "severity", json_string(det_sev_names[g->sev]));
	json_object_set_new(o, "a", ver_json(m, g->a));
	json_object_set_new(o, "b", ver_json(m, g->b));
	json_object_set_new(o, "origin_a",
			    g->a < 0 ? json_null() : json_string(origin_name(m, g->a)));
	json_object_set_new(o, "origin_b",
			    g->b < 0 ? json_null() : json_string(origin_name(m, g->b)));
	json_object_set_new(o, "server",
			    g->server >= 0 ? json_string(m->srv[g->server].address) : json_null());
	json_object_set_new(o, "pairs", json_integer((json_int_t)g->pairs));
	for (size_t i = 0; i < g->when.n; i++) {
		json_t *w = json_object();
		json_object_set_new(w, "lo", rj_time(g->when.v[i].lo));
		json_object_set_new(w, "hi", rj_time(g->when.v[i].hi));
		json_array_append_new(wins, w);
	}
	json_object_set_new(o, "windows", wins);
	json_object_set_new(o, "reason", json_string(g->reason));
	return o;
}

int vd_predicted(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, json_t **out, char *err,
		 size_t errlen)
{
	mdl_t *m = NULL;
	*out = NULL;
	int ret = mdl_load(db, sv, zone, at, &m, err, errlen);
	if (ret == OBS_EOK)
		ret = mdl_avail(m, &mdl_prof_default);
	struct pred_acc acc = {.m = m};
	if (ret == OBS_EOK)
		ret = pg_run(m, &mdl_prof_default, m->first_obs, on_pred, &acc);
	if (ret == OBS_EOK)
		ret = acc.err;
	if (ret == OBS_EOK) {
		json_t *arr = json_array();
		for (size_t i = 0; i < acc.n; i++)
			json_array_append_new(arr, pred_json(m, &acc.g[i]));
		*out = base_doc(m, at);
		json_object_set_new(*out, "predicted", arr);
	}
	for (size_t i = 0; i < acc.n; i++)
		iset_free(&acc.g[i].when);
	free(acc.g);
	mdl_free(m);
	return ret;
}
