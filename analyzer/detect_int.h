/* SPDX-License-Identifier: MIT */
/* Private to the detectors (detect*.c): the evaluation context the driver (detect.c) loads and
 * advances, the helpers every family uses (detect_core.c), and the detector functions of each
 * family: detect_v.c (V-1, V-2, V-3, V-4, V-5, A-2, T-4), detect_r.c,
 * detect_t.c (T-1, T-5, N-1), detect_c.c (C-1, C-2, C-5, C-6, C-8), detect_cw.c (C-3, C-4,
 * C-7), detect_a.c,
 * detect_o.c (O-1 to O-4). A state detector looks at what is served at instant t (each series'
 * current run) and reports through det_emit(); a history detector looks at whole histories.
 * Nothing here owns memory the caller must free unless it says so. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "fetch.h"
#include "nsr.h"
#include "oglitch.h"
#include "vers.h"

/* A run in the reference collector's clock (run_ref: shifted by its collector's measured clock
 * offset, prev/next widened by the offset's uncertainty, next clamped to `at`). */
struct run {
	int64_t id, vid;
	obs_usec_t first, prev, next; /* prev/next: INT64_MIN / INT64_MAX when none */
	obs_usec_t last;              /* the last poll that returned it (at most `at`) */
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

struct det_ctx {
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
	char (*novalid)[160]; /* vantages og_run found non-validating (O-3) or broken (O-1) */
	size_t novalid_n;
	struct jmemo *jm; /* det_judge's memo of sigv_check per (K, X) (detect_core.c) */
	size_t jm_n, jm_cap;
	int err;
};

typedef struct item {
	const struct ser *s;
	const struct run *r;
	const vers_t *v; /* NULL: answered without the RRset */
} item_t;

/* Why a finding about an unreachable provider is only INFO (appended to its message). */
#define DET_UNREACH_WHY                                                                            \
	" (provider not NS-reachable: no NS set a resolver can hold names it; would matter once "  \
	"delegated)"

#define DET_MAXI 64 /* items per role looked at in one instant */

/* Record a finding; identical findings (same id, provider, server, vantage, message) merge into
 * one whose window covers both and whose evidence is the union (DET_EVIDENCE at most). */
void det_emit(struct det_ctx *d, const char *id, enum det_sev sev, const char *prov,
	      const char *server, const char *vantage, obs_usec_t lo, obs_usec_t hi,
	      const int64_t *vids, size_t nv, const int64_t *obs, size_t no, const char *fmt, ...)
    __attribute__((format(printf, 13, 14)));

/* the window of one served item: [its run's previous poll, the next poll that differed) */
obs_usec_t det_item_lo(const item_t *it);
obs_usec_t det_item_hi(const item_t *it);

/* Is target g lame at the current instant? *since, *obs: the poll that made it so. */
bool det_tgt_lame(const struct tgt *g, obs_usec_t *since, int64_t *obs);

/* Served items of a role at the current instant: at the parent (origin NULL) or at provider
 * origin ("" = every provider). Returns the count (at most max). */
size_t det_served(struct det_ctx *d, const char *role, const char *origin, item_t *out, size_t max);
/* Keep the first item of each distinct version; returns the new count. */
size_t det_distinct(item_t *it, size_t n);

/* Is provider prov NS-reachable at t? [*lo, *hi) is narrowed to the interval around t over
 * which the answer stays the same (lo, hi may be NULL). */
bool det_reach(struct det_ctx *d, const char *prov, obs_usec_t t, obs_usec_t *lo, obs_usec_t *hi);
/* Keep the items served by the parent or by a provider NS-reachable at t. */
size_t det_reachable(struct det_ctx *d, obs_usec_t t, item_t *it, size_t n);
/* The window of a finding about items a and b (b may be NULL) seen at t: the overlap of their
 * runs, narrowed to the reachability interval of their providers around t. */
void det_window(struct det_ctx *d, obs_usec_t t, const item_t *a, const item_t *b, obs_usec_t *lo,
		obs_usec_t *hi);

/* signature judgement */
enum jres { J_OK = 0, J_EXPIRED, J_NOTYET, J_CRYPTO, J_NOKEY, J_NOSIG };
extern const int det_jrank[6]; /* lower is better */

/* Can DNSKEY version K authenticate version X at t (any one valid RRSIG; for a negative proof,
 * every signed RRset of it)? only_key: judge only signatures by this key RDATA (NULL: any).
 * *max_exp (may be NULL): the latest expiration among the valid signatures. */
enum jres det_judge(struct det_ctx *d, const vers_t *K, const vers_t *X, obs_usec_t t,
		    const uint8_t *only_key, size_t only_len, obs_usec_t *max_exp);
/* Free det_judge's memo (d->jm); the versions it points to stay the cache's. */
void det_judge_free(struct det_ctx *d);
bool det_alg_supported(uint8_t alg);

enum det_chain { CH_SECURE, CH_BOGUS, CH_INSECURE };
/* chain(D, K, t) of reference §2.3 (D: a DS, or a CDS version: same RDATA); *matched: some DS
 * matched a zone key of K; *why: the best judgement of a matched key's signature. */
enum det_chain det_chain_of(struct det_ctx *d, const vers_t *D, const vers_t *K, obs_usec_t t,
			    bool *matched, enum jres *why);
const char *det_jres_text(enum jres r);
void det_typestr(uint16_t type, char *buf, size_t len);
/* NS names of an NS answer or referral version as canonical text; returns the count */
size_t det_ns_names(const vers_t *v, char (*out)[256], size_t max);
/* Does CDS/CDNSKEY version v hold a DELETE record? *only: it is the only record. */
bool det_cds_has_delete(const vers_t *v, bool *only);
/* bit a set for every algorithm a < 32 of the RRSIGs of v */
uint32_t det_algs_of(const vers_t *v);

/* state detectors, evaluated at every instant the served state changes */
typedef void (*det_state_fn)(struct det_ctx *d, obs_usec_t t);
void det_v_chain(struct det_ctx *d, obs_usec_t t);
void det_v_sigs(struct det_ctx *d, obs_usec_t t);
void det_r_lame(struct det_ctx *d, obs_usec_t t);
void det_r_nsdiff(struct det_ctx *d, obs_usec_t t);
void det_r_content(struct det_ctx *d, obs_usec_t t);
void det_c_signal(struct det_ctx *d, obs_usec_t t);
void det_a_sets(struct det_ctx *d, obs_usec_t t);
void det_t_state(struct det_ctx *d, obs_usec_t t);
void det_t_neg(struct det_ctx *d, obs_usec_t t);
void det_r_size(struct det_ctx *d, obs_usec_t t);
void det_c_whatif(struct det_ctx *d, obs_usec_t t);
void det_c_stale(struct det_ctx *d, obs_usec_t t);
void det_a_strict(struct det_ctx *d, obs_usec_t t);

/* history detectors, once per run over the loaded histories or the database */
void det_t_history(struct det_ctx *d);
int det_t_resolver(struct det_ctx *d);
int det_t_anomaly(struct det_ctx *d);
int det_r_truncated(struct det_ctx *d);
void det_a_order(struct det_ctx *d);
/* The resolver polls A-5 and O-2 may report, read in one pass over each resolver series of the
 * zone (det_o_polls) and ordered as the vantages (target id), then time (ties: series id, then
 * id). van indexes rpolls.van, the vantage "collector/resolver" (owned by the rpolls). */
#define RP_A5_EDE1 1u  /* A-5 (CD=0 canary, soa, dnskey or nx series): EDE 1 */
#define RP_A5_EDE2 2u  /* ... EDE 2 */
#define RP_A5_NOAD 4u  /* ... outcome 2 (insecure: no AD) */
#define RP_O2_EDE7 8u  /* O-2 (any resolver series): EDE 7 */
#define RP_O2_EDE8 16u /* ... EDE 8 */
struct rpoll {
	obs_usec_t t;
	int64_t id;
	size_t van, seq; /* seq: read order, for ties in t */
	unsigned bits;
};
struct rpolls {
	struct rpoll *p;
	size_t n, cap;
	char **van;
	size_t vn;
};
/* Fill *out (zeroed first; free it with det_o_polls_free, also after a failure). Returns
 * OBS_EOK, OBS_ESQL or OBS_ENOMEM. */
int det_o_polls(struct det_ctx *d, struct rpolls *out);
void det_o_polls_free(struct rpolls *p);
/* after og_run (they use d->novalid) and after the state detectors (O-2 reads the findings) */
int det_a_vantage(struct det_ctx *d, const struct rpolls *p);
int det_o_skew(struct det_ctx *d, const struct rpolls *p);
int det_o_coverage(struct det_ctx *d);

/* Is the vantage ("collector/resolver") one og_run excluded (O-1 or O-3)? */
bool det_vantage_excluded(const struct det_ctx *d, const char *vantage);
/* Does the parent serve a DS RRset (an answer, not a denial) at t? */
bool det_ds_served_at(const struct det_ctx *d, obs_usec_t t);
/* Is EDE code `code` among the comma-separated codes of ede (NULL: none)? */
bool det_ede_has(const char *ede, int code);
/* the zone key algorithms of a DNSKEY version as a bit mask (bit a for a < 32) */
uint32_t det_key_algs(const vers_t *K);

/* callbacks of fetch_run() and og_run() (arg: the det_ctx) */
void det_o_fetch(void *arg, const fetch_resolver_t *r);
void det_o_vantage(void *arg, const og_vantage_t *v);
