/* SPDX-License-Identifier: MIT */
/* Parsing a matched, guarded response with ldns into what the store keeps: header bits,
 * EDE codes, the RRset version it carries (content-addressed), and for discovery the NS names
 * and addresses it lists. Never prints anything from the packet. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANS_HASH_LEN  32
#define ANS_MAX_EDE   8
#define ANS_MAX_NS    32
#define ANS_MAX_ADDRS 32

/* header bits as stored (schemas/collector/0001_init.sql) */
#define ANS_F_AA 1u
#define ANS_F_TC 2u
#define ANS_F_RD 4u
#define ANS_F_RA 8u
#define ANS_F_AD 16u
#define ANS_F_CD 32u

enum ans_kind { ANS_NONE = 0, ANS_ANSWER = 1, ANS_REFERRAL = 2, ANS_NXDOMAIN = 3, ANS_NODATA = 4 };

typedef struct ans_version {
	enum ans_kind kind;
	uint8_t hash[ANS_HASH_LEN];
	char owner[256]; /* canonical presentation form */
	uint16_t type;
	uint32_t ttl; /* TTL as served (minimum over the set; negative: min(SOA TTL, MINIMUM)) */
	/* answers and referrals: the largest TTL over the RRs of the set (= ttl when they agree),
	 * and the smallest / largest TTL of the RRSIGs covering it (both 0 when unsigned) */
	uint32_t ttl_max, sig_ttl_min, sig_ttl_max;
	uint16_t rr_count, sig_count;
	uint8_t *rdata; /* owned; see the schema for the encoding */
	size_t rdata_len;
	uint8_t *rrsig; /* owned */
	size_t rrsig_len;
} ans_version_t;

typedef struct ans_addr {
	char owner[256];
	uint8_t raw[16];
	uint8_t len; /* 4 or 16 */
} ans_addr_t;

typedef struct ans_summary {
	uint8_t rcode;
	uint16_t flags; /* ANS_F_* */
	uint16_t ede[ANS_MAX_EDE];
	uint8_t ede_n;
	ans_version_t ver;        /* kind ANS_NONE when the answer carries no RRset of interest */
	char ns[ANS_MAX_NS][256]; /* NS names listed (NS answer, or referral) */
	uint8_t ns_n;
	uint32_t ns_ttl;
	ans_addr_t addrs[ANS_MAX_ADDRS]; /* A/AAAA in the answer and glue in additional */
	uint8_t addrs_n;
	bool capped; /* more NS names, addresses or EDE codes than fit: the rest was dropped */
} ans_summary_t;

/* Parse wire (already matched and guarded) for the question qname/qtype. On OBS_EOK the
 * summary holds owned buffers: release with ans_summary_clear(). On OBS_EMALFORMED (ldns
 * refused it) the summary is empty. */
int ans_parse(const uint8_t *wire, size_t len, const char *qname, uint16_t qtype,
	      ans_summary_t *out);

/* A message seen on the wire by passive capture: its header and question. */
typedef struct ans_msg {
	bool qr;
	uint16_t id;
	char qname[256]; /* canonical */
	uint16_t qtype;
	uint16_t flags; /* ANS_F_RD and ANS_F_CD of the message */
	bool do_bit;
} ans_msg_t;

/* Parse a guarded message of either direction, its question taken from the message itself
 * (exactly one question, else OBS_EMALFORMED). For a response the summary is filled as by
 * ans_parse(); release it with ans_summary_clear(). */
int ans_parse_msg(const uint8_t *wire, size_t len, ans_msg_t *m, ans_summary_t *out);

/* What a repeated answer needs again: the summary without the version's blobs and without
 * the discovery lists. A byte-identical response (ID aside) parses to the same summary, so a
 * poll that gets the same bytes as last time skips ldns (the engine's fast path). */
typedef struct ans_brief {
	uint8_t rcode;
	uint16_t flags;
	uint16_t ede[ANS_MAX_EDE];
	uint8_t ede_n;
	bool capped;
	ans_version_t ver; /* rdata and rrsig are NULL */
} ans_brief_t;

void ans_brief_save(ans_brief_t *b, const ans_summary_t *s);

/* Fill s from b (no owned buffers: ans_summary_clear(s) is a no-op on them). */
void ans_brief_load(const ans_brief_t *b, ans_summary_t *s);

/* Does version v show a TTL anomaly (reference §3.3 T-5): (i) its RRs carry different TTLs,
 * or (ii) an RRSIG covering it has a TTL other than the set's? Answers and referrals only. */
bool ans_ttl_anomaly(const ans_version_t *v);

/* SHA-256 of a response with its two ID bytes taken as zero (wire identity). */
void ans_wire_hash(const uint8_t *wire, size_t len, uint8_t out[ANS_HASH_LEN]);

/* Free what ans_parse allocated; the summary becomes empty. NULL is a no-op. */
void ans_summary_clear(ans_summary_t *s);

/* Presentation form of a wire-format domain name rdf, canonical (lower case). */
void ans_dname_text(const void *ldns_rdf_dname, char *buf, size_t len);
