/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <ldns/ldns.h>
#include <ldns/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "obs_err.h"

#define EDNS_EDE 15

typedef struct blob_item {
	const uint8_t *p;
	size_t len;
} blob_item_t;

void ans_dname_text(const void *rdf_in, char *buf, size_t len)
{
	const ldns_rdf *rdf = rdf_in;
	const uint8_t *d = ldns_rdf_data(rdf);
	size_t n = ldns_rdf_size(rdf), pos = 0, o = 0;
	if (n == 0 || len < 2) {
		snprintf(buf, len, ".");
		return;
	}
	while (pos < n && d[pos] != 0) {
		uint8_t l = d[pos++];
		for (uint8_t i = 0; i < l && pos < n; i++, pos++) {
			unsigned char ch = (unsigned char)tolower(d[pos]);
			if (isalnum(ch) || ch == '-' || ch == '_' || ch == '*') {
				if (o + 2 >= len)
					break;
				buf[o++] = (char)ch;
			} else {
				if (o + 5 >= len)
					break;
				o += (size_t)snprintf(buf + o, len - o, "\\%03u", ch);
			}
		}
		if (o + 2 >= len)
			break;
		buf[o++] = '.';
	}
	if (o == 0)
		buf[o++] = '.';
	buf[o] = '\0';
}

static int item_cmp(const void *a, const void *b)
{
	const blob_item_t *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Serialise the items, sorted and without duplicates, as (2-byte length, bytes)* into a new
 * heap blob. Returns the number of distinct items, or -1 on allocation failure. */
static int blob_build(blob_item_t *items, size_t n, uint8_t **out, size_t *outlen)
{
	qsort(items, n, sizeof(*items), item_cmp);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += 2 + items[i].len;
	uint8_t *b = malloc(total ? total : 1);
	if (b == NULL)
		return -1;
	size_t o = 0;
	int distinct = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && item_cmp(&items[i - 1], &items[i]) == 0)
			continue;
		b[o++] = (uint8_t)(items[i].len >> 8);
		b[o++] = (uint8_t)items[i].len;
		memcpy(b + o, items[i].p, items[i].len);
		o += items[i].len;
		distinct++;
	}
	*out = b;
	*outlen = o;
	return distinct;
}

#define SET_MAX    512 /* records per set; more is refused (OBS_ETOOBIG) */
#define SET_INLINE 16

/* The canonical wire of every record of a set, back to back in one buffer per part (0: the
 * records, 1: their RRSIGs), with (offset, length) per record. */
struct set_builder {
	ldns_buffer *buf[2];
	size_t (*at)[2]; /* per part: offsets and lengths, inline until SET_INLINE */
	size_t inline_at[2][SET_INLINE][2];
	size_t (*heap_at[2])[2];
	size_t n[2], cap[2];
	bool failed;
};

static int set_init(struct set_builder *sb)
{
	memset(sb, 0, sizeof(*sb));
	for (int w = 0; w < 2; w++) {
		sb->buf[w] = ldns_buffer_new(512);
		sb->cap[w] = SET_INLINE;
		if (sb->buf[w] == NULL)
			return OBS_ENOMEM;
	}
	return OBS_EOK;
}

static size_t (*set_at(struct set_builder *sb, int w))[2]
{
	return sb->heap_at[w] ? sb->heap_at[w] : sb->inline_at[w];
}

/* Append one record: its RDATA only (full == false), or the whole RR with TTL 0. */
static void set_add(struct set_builder *sb, int w, ldns_rr *rr, bool full)
{
	if (sb->n[w] >= SET_MAX) {
		sb->failed = true;
		return;
	}
	if (sb->n[w] == sb->cap[w]) {
		size_t ncap = sb->cap[w] * 4;
		size_t(*n)[2] = malloc(ncap * sizeof(*n));
		if (n == NULL) {
			sb->failed = true;
			return;
		}
		memcpy(n, set_at(sb, w), sb->n[w] * sizeof(*n));
		free(sb->heap_at[w]);
		sb->heap_at[w] = n;
		sb->cap[w] = ncap;
	}
	ldns_buffer *b = sb->buf[w];
	size_t start = ldns_buffer_position(b);
	ldns_rr2canonical(rr);
	ldns_status st;
	if (full) {
		uint32_t ttl = ldns_rr_ttl(rr);
		ldns_rr_set_ttl(rr, 0);
		st = ldns_rr2buffer_wire_canonical(b, rr, LDNS_SECTION_ANSWER);
		ldns_rr_set_ttl(rr, ttl);
	} else {
		st = ldns_rr_rdata2buffer_wire(b, rr);
	}
	if (st != LDNS_STATUS_OK || !ldns_buffer_status_ok(b)) {
		sb->failed = true;
		return;
	}
	size_t(*at)[2] = set_at(sb, w);
	at[sb->n[w]][0] = start;
	at[sb->n[w]][1] = ldns_buffer_position(b) - start;
	sb->n[w]++;
}

static void set_free(struct set_builder *sb)
{
	for (int w = 0; w < 2; w++) {
		ldns_buffer_free(sb->buf[w]);
		free(sb->heap_at[w]);
	}
}

static int part_blob(struct set_builder *sb, int w, uint8_t **out, size_t *outlen)
{
	blob_item_t inl[SET_INLINE];
	blob_item_t *items = sb->n[w] <= SET_INLINE ? inl : malloc(sb->n[w] * sizeof(*items));
	if (items == NULL)
		return -1;
	const uint8_t *base = ldns_buffer_begin(sb->buf[w]);
	size_t(*at)[2] = set_at(sb, w);
	for (size_t i = 0; i < sb->n[w]; i++) {
		items[i].p = base + at[i][0];
		items[i].len = at[i][1];
	}
	int r = blob_build(items, sb->n[w], out, outlen);
	if (items != inl)
		free(items);
	return r;
}

static void hash_u32(ldns_sha256_CTX *ctx, size_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	ldns_sha256_update(ctx, b, 4);
}

static int version_finish(struct set_builder *sb, ans_version_t *v)
{
	if (sb->failed)
		return OBS_ETOOBIG;
	int rr = part_blob(sb, 0, &v->rdata, &v->rdata_len);
	int sig = rr < 0 ? -1 : part_blob(sb, 1, &v->rrsig, &v->rrsig_len);
	if (rr < 0 || sig < 0)
		return OBS_ENOMEM;
	v->rr_count = (uint16_t)rr;
	v->sig_count = (uint16_t)sig;

	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	uint8_t head[3] = {(uint8_t)v->kind, (uint8_t)(v->type >> 8), (uint8_t)v->type};
	ldns_sha256_update(&ctx, head, sizeof(head));
	ldns_sha256_update(&ctx, (const uint8_t *)v->owner, strlen(v->owner));
	hash_u32(&ctx, v->rdata_len);
	ldns_sha256_update(&ctx, v->rdata, v->rdata_len);
	hash_u32(&ctx, v->rrsig_len);
	ldns_sha256_update(&ctx, v->rrsig, v->rrsig_len);
	ldns_sha256_final(v->hash, &ctx);
	return OBS_EOK;
}

static bool owner_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

static uint16_t rrsig_covered(const ldns_rr *rr)
{
	const ldns_rdf *c = ldns_rr_rrsig_typecovered(rr);
	return c ? (uint16_t)ldns_rdf2rr_type(c) : 0;
}

/* The RRset of (name, type) in the list, with its RRSIGs. */
static int collect_rrset(ldns_rr_list *list, const ldns_rdf *name, uint16_t type, ans_version_t *v)
{
	struct set_builder sbv, *sb = &sbv;
	if (set_init(sb) != OBS_EOK) {
		set_free(sb);
		return OBS_ENOMEM;
	}
	uint32_t ttl = UINT32_MAX, ttl_max = 0, sig_min = UINT32_MAX, sig_max = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		if (!owner_is(rr, name))
			continue;
		uint16_t t = (uint16_t)ldns_rr_get_type(rr);
		uint32_t rt = ldns_rr_ttl(rr);
		if (t == type) {
			ttl = rt < ttl ? rt : ttl;
			ttl_max = rt > ttl_max ? rt : ttl_max;
			set_add(sb, 0, rr, false);
		} else if (t == LDNS_RR_TYPE_RRSIG && rrsig_covered(rr) == type) {
			sig_min = rt < sig_min ? rt : sig_min;
			sig_max = rt > sig_max ? rt : sig_max;
			set_add(sb, 1, rr, false);
		}
	}
	v->ttl = ttl == UINT32_MAX ? 0 : ttl;
	v->ttl_max = ttl == UINT32_MAX ? 0 : ttl_max;
	v->sig_ttl_min = sig_min == UINT32_MAX ? 0 : sig_min;
	v->sig_ttl_max = sig_min == UINT32_MAX ? 0 : sig_max;
	int ret = version_finish(sb, v);
	set_free(sb);
	return ret;
}

/* The negative proof: every SOA, NSEC, NSEC3 and RRSIG of the authority section. */
static int collect_negative(ldns_rr_list *auth, ans_version_t *v)
{
	struct set_builder sbv, *sb = &sbv;
	if (set_init(sb) != OBS_EOK) {
		set_free(sb);
		return OBS_ENOMEM;
	}
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_SOA) {
			uint32_t m = ldns_rr_ttl(rr);
			const ldns_rdf *min = ldns_rr_rdf(rr, 6);
			if (min && ldns_rdf_size(min) == 4 && ldns_rdf2native_int32(min) < m)
				m = ldns_rdf2native_int32(min);
			if (m < ttl)
				ttl = m;
			ans_dname_text(ldns_rr_owner(rr), v->owner, sizeof(v->owner));
		}
		if (t == LDNS_RR_TYPE_SOA || t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3)
			set_add(sb, 0, rr, true);
		else if (t == LDNS_RR_TYPE_RRSIG)
			set_add(sb, 1, rr, true);
	}
	v->ttl = ttl == UINT32_MAX ? 0 : ttl;
	int ret = version_finish(sb, v);
	set_free(sb);
	return ret;
}

static void collect_ede(ldns_pkt *pkt, ans_summary_t *s)
{
	if (!ldns_pkt_edns(pkt) || ldns_pkt_edns_data(pkt) == NULL)
		return;
	ldns_edns_option_list *opts = ldns_pkt_edns_get_option_list(pkt);
	if (opts == NULL)
		return;
	for (size_t i = 0; i < ldns_edns_option_list_get_count(opts); i++) {
		ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
		if (o == NULL || ldns_edns_get_code(o) != EDNS_EDE || ldns_edns_get_size(o) < 2)
			continue;
		if (s->ede_n >= ANS_MAX_EDE) {
			s->capped = true;
			continue;
		}
		const uint8_t *d = ldns_edns_get_data(o);
		s->ede[s->ede_n++] = (uint16_t)(d[0] << 8 | d[1]);
	}
}

static void add_ns(ans_summary_t *s, const ldns_rr *rr)
{
	const ldns_rdf *target = ldns_rr_rdf(rr, 0);
	if (target == NULL)
		return;
	if (s->ns_n >= ANS_MAX_NS) {
		s->capped = true;
		return;
	}
	ans_dname_text(target, s->ns[s->ns_n], sizeof(s->ns[0]));
	s->ns_n++;
	if (s->ns_n == 1 || ldns_rr_ttl(rr) < s->ns_ttl)
		s->ns_ttl = ldns_rr_ttl(rr);
}

static void add_addrs(ans_summary_t *s, ldns_rr_list *list)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA)
			continue;
		const ldns_rdf *a = ldns_rr_rdf(rr, 0);
		size_t want = t == LDNS_RR_TYPE_A ? 4 : 16;
		if (a == NULL || ldns_rdf_size(a) != want)
			continue;
		if (s->addrs_n >= ANS_MAX_ADDRS) {
			s->capped = true;
			continue;
		}
		ans_addr_t *x = &s->addrs[s->addrs_n++];
		ans_dname_text(ldns_rr_owner(rr), x->owner, sizeof(x->owner));
		memcpy(x->raw, ldns_rdf_data(a), want);
		x->len = (uint8_t)want;
	}
}

static void summary_init(ans_summary_t *s)
{
	/* the large arrays are filled up to their counts; only the scalars need zeroing */
	s->rcode = 0;
	s->flags = 0;
	s->ede_n = 0;
	s->ns_n = 0;
	s->ns_ttl = 0;
	s->addrs_n = 0;
	s->capped = false;
	memset(&s->ver, 0, sizeof(s->ver));
}

/* Fill the summary from a parsed packet for the question (name, qtype). name is canonical. */
static int summarize(ldns_pkt *pkt, const ldns_rdf *name, uint16_t qtype, ans_summary_t *out)
{
	out->rcode = (uint8_t)ldns_pkt_get_rcode(pkt);
	out->flags = (ldns_pkt_aa(pkt) ? ANS_F_AA : 0) | (ldns_pkt_tc(pkt) ? ANS_F_TC : 0) |
		     (ldns_pkt_rd(pkt) ? ANS_F_RD : 0) | (ldns_pkt_ra(pkt) ? ANS_F_RA : 0) |
		     (ldns_pkt_ad(pkt) ? ANS_F_AD : 0) | (ldns_pkt_cd(pkt) ? ANS_F_CD : 0);
	collect_ede(pkt, out);

	ldns_rr_list *ans = ldns_pkt_answer(pkt);
	ldns_rr_list *auth = ldns_pkt_authority(pkt);
	ldns_rr_list *add = ldns_pkt_additional(pkt);
	ans_version_t *v = &out->ver;
	int ret = OBS_EOK;

	bool has_type = false, has_cname = false, auth_ns = false, auth_soa = false;
	const ldns_rdf *ref_owner = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		if (!owner_is(rr, name))
			continue;
		has_type = has_type || ldns_rr_get_type(rr) == qtype;
		has_cname = has_cname || ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS) {
			auth_ns = true;
			ref_owner = ldns_rr_owner(rr);
		}
		auth_soa = auth_soa || ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
	}

	if (has_type || has_cname) {
		v->kind = ANS_ANSWER;
		v->type = has_type ? qtype : LDNS_RR_TYPE_CNAME;
		ans_dname_text(name, v->owner, sizeof(v->owner));
		ret = collect_rrset(ans, name, v->type, v);
		if (has_type && qtype == LDNS_RR_TYPE_NS) {
			for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
				const ldns_rr *rr = ldns_rr_list_rr(ans, i);
				if (owner_is(rr, name) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS)
					add_ns(out, rr);
			}
		}
	} else if (out->rcode == LDNS_RCODE_NXDOMAIN) {
		v->kind = ANS_NXDOMAIN;
		v->type = qtype;
		ret = collect_negative(auth, v);
	} else if (out->rcode == LDNS_RCODE_NOERROR && auth_ns && !auth_soa && !ldns_pkt_aa(pkt)) {
		v->kind = ANS_REFERRAL;
		v->type = LDNS_RR_TYPE_NS;
		ldns_rdf *owner = ldns_rdf_clone(ref_owner);
		if (owner == NULL) {
			ret = OBS_ENOMEM;
		} else {
			ldns_dname2canonical(owner);
			ans_dname_text(owner, v->owner, sizeof(v->owner));
			ret = collect_rrset(auth, owner, LDNS_RR_TYPE_NS, v);
			for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
				const ldns_rr *rr = ldns_rr_list_rr(auth, i);
				if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && owner_is(rr, owner))
					add_ns(out, rr);
			}
			ldns_rdf_deep_free(owner);
		}
	} else if (out->rcode == LDNS_RCODE_NOERROR && auth_soa) {
		v->kind = ANS_NODATA;
		v->type = qtype;
		ret = collect_negative(auth, v);
	}
	if (ret == OBS_EOK) {
		add_addrs(out, ans);
		add_addrs(out, add);
	}
	return ret;
}

int ans_parse(const uint8_t *wire, size_t len, const char *qname, uint16_t qtype,
	      ans_summary_t *out)
{
	summary_init(out);
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return OBS_EMALFORMED;
	ldns_rdf *name = ldns_dname_new_frm_str(qname);
	if (name == NULL) {
		ldns_pkt_free(pkt);
		return OBS_ESYNTAX;
	}
	ldns_dname2canonical(name);
	int ret = summarize(pkt, name, qtype, out);
	ldns_rdf_deep_free(name);
	ldns_pkt_free(pkt);
	if (ret != OBS_EOK)
		ans_summary_clear(out);
	return ret;
}

int ans_parse_msg(const uint8_t *wire, size_t len, ans_msg_t *m, ans_summary_t *out)
{
	summary_init(out);
	memset(m, 0, sizeof(*m));
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return OBS_EMALFORMED;
	ldns_rr_list *q = ldns_pkt_question(pkt);
	if (ldns_rr_list_rr_count(q) != 1) {
		ldns_pkt_free(pkt);
		return OBS_EMALFORMED;
	}
	ldns_rr *qrr = ldns_rr_list_rr(q, 0);
	ldns_rdf *name = ldns_rr_owner(qrr);
	ldns_dname2canonical(name);
	ans_dname_text(name, m->qname, sizeof(m->qname));
	m->qtype = (uint16_t)ldns_rr_get_type(qrr);
	m->qr = ldns_pkt_qr(pkt);
	m->id = ldns_pkt_id(pkt);
	m->flags = (ldns_pkt_rd(pkt) ? ANS_F_RD : 0) | (ldns_pkt_cd(pkt) ? ANS_F_CD : 0);
	m->do_bit = ldns_pkt_edns_do(pkt);
	int ret = m->qr ? summarize(pkt, name, m->qtype, out) : OBS_EOK;
	ldns_pkt_free(pkt);
	if (ret != OBS_EOK)
		ans_summary_clear(out);
	return ret;
}

void ans_summary_clear(ans_summary_t *s)
{
	if (s == NULL)
		return;
	free(s->ver.rdata);
	free(s->ver.rrsig);
	summary_init(s);
}

void ans_brief_save(ans_brief_t *b, const ans_summary_t *s)
{
	b->rcode = s->rcode;
	b->flags = s->flags;
	b->ede_n = s->ede_n;
	memcpy(b->ede, s->ede, sizeof(b->ede));
	b->capped = s->capped;
	b->ver = s->ver;
	b->ver.rdata = NULL;
	b->ver.rrsig = NULL;
}

void ans_brief_load(const ans_brief_t *b, ans_summary_t *s)
{
	summary_init(s);
	s->rcode = b->rcode;
	s->flags = b->flags;
	s->ede_n = b->ede_n;
	memcpy(s->ede, b->ede, sizeof(s->ede));
	s->capped = b->capped;
	s->ver = b->ver;
}

bool ans_ttl_anomaly(const ans_version_t *v)
{
	if (v->kind != ANS_ANSWER && v->kind != ANS_REFERRAL)
		return false;
	if (v->rr_count > 0 && v->ttl_max != v->ttl)
		return true; /* (i) */
	return v->sig_count > 0 && v->rr_count > 0 &&
	       (v->sig_ttl_min != v->ttl || v->sig_ttl_max != v->ttl); /* (ii) */
}

void ans_wire_hash(const uint8_t *wire, size_t len, uint8_t out[ANS_HASH_LEN])
{
	static const uint8_t zero_id[2] = {0, 0};
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	ldns_sha256_update(&ctx, zero_id, len < 2 ? len : 2);
	if (len > 2)
		ldns_sha256_update(&ctx, wire + 2, len - 2);
	ldns_sha256_final(out, &ctx);
}
