/* SPDX-License-Identifier: MIT */
/* Per-resolver fetches from passive evidence (reference §5.8, §3.3 T-1 and T-2; issue 9).
 *
 * A *fetch* is a response an authoritative server sent to a resolver's upstream address
 * (a passive pair whose query had RD=0) carrying a version of the zone's apex DNSKEY, DS or
 * NS RRset (an answer, or the parent's referral NS). A referral with DO set also carries the
 * DS RRset (RFC 4035 §3.1.4): resolvers refresh their DS from it without asking for DS, so it
 * counts as a DS fetch of the version that server served then (its last DS poll at or before
 * the response). Under HONOUR the resolver holds a version over its cache-fill interval
 * [t, t + TTL), t the response's capture time.
 *
 * What the resolver *serves* comes from its answers to clients: passive pairs with RD=1 whose
 * server is the resolver, and the collector's own resolver polls. An answer of version v at s
 * with remaining TTL r says the resolver holds v until s + r. It is compared with the last
 * fetch of the same RRset before s:
 *   - T-1: r above the largest authoritative TTL of v, or s + r beyond fetch + TTL while s is
 *     still inside it (the answer's TTL exceeds what the fetch allows);
 *   - T-2x: v served at or after fetch + TTL + tol without a refetch in between (held too
 *     long); T-2s: the same with a stale marker (EDE 3 or 19: serve-stale, RFC 8767).
 * A check that relies on the absence of a refetch packet is not made when a capture window
 * with drops (capture_drop) overlaps [fetch, answer]: it is counted as incomplete.
 *
 * A resolver is a set of addresses: its service address(es) (where clients ask it) and its
 * upstream address(es) (from where it fetches). They are the same resolver when the addresses
 * are equal, or when a client's query to a service address is followed, before the answer, by
 * a fetch of the same question from exactly one upstream address (the best-scoring one is
 * linked; ties link nothing).
 *
 * Profile (reference §5.4): STRETCH(m) when T-1 or T-2x was seen, m the longest holding time
 * observed (fetch to s + r, or r alone without a matching fetch), in seconds; STALE(s) when only
 * T-2s was seen, s the longest time past the fetched expiry; HONOUR when answers were checked
 * against fetches and none broke the TTL; UNKNOWN without checked evidence.
 *
 * Times are reference-clock microseconds (each collector's clock offset removed). Nothing is
 * printed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"

enum fetch_profile { FETCH_UNKNOWN = 0, FETCH_HONOUR, FETCH_STRETCH, FETCH_STALE };

extern const char *const fetch_profile_names[4]; /* "UNKNOWN", "HONOUR", "STRETCH", "STALE" */

#define FETCH_ADDRS 8 /* addresses kept per resolver and role; more are counted, not kept */

typedef struct fetch_event {
	int64_t obs_id;     /* evidence: the analysis observation of the pair */
	obs_usec_t t;       /* the response's capture time: the cache fill */
	obs_usec_t until;   /* t + TTL: the end of the cache-fill interval under HONOUR */
	obs_usec_t next;    /* the next fetch of the same RRset by this resolver; INT64_MAX none */
	char client[80];    /* the upstream address that fetched */
	char server[80];    /* the server it fetched from */
	char owner[256];    /* RRset owner (the zone apex) */
	uint16_t type;      /* 2 NS, 43 DS, 48 DNSKEY */
	int kind;           /* version kind: 1 answer, 2 referral */
	int64_t version_id; /* merged version */
	int64_t ttl_s;      /* TTL as served in this response */
	bool in_referral;   /* a DS carried in the authority section of a referral (DO set) from
			     * a parent server: the version is the one the collector's DS polls of
			     * that server last saw (the pair itself records only the NS RRset) */
	bool late_refetch;  /* next > until + tol (a fact, not a flag: demand is unknown) */
	bool incomplete;    /* a drop window overlaps [t, next) (or [t, at] when no next) */
} fetch_event_t;

typedef struct fetch_flag {
	const char *id;             /* "T-1", "T-2x", "T-2s" (static) */
	int sev;                    /* as det_sev: 0 INFO, 1 WARN */
	int64_t version_id;         /* the version served */
	uint16_t type;              /* its RRset type */
	char via[80];               /* the service address that answered */
	bool passive;               /* evidence from a capture (false: the collector's own polls) */
	obs_usec_t lo, hi;          /* first and last answer time of the merged evidence */
	int64_t answers;            /* answers merged into this flag */
	int64_t ttl_answer_s;       /* the largest remaining TTL answered */
	int64_t ttl_auth_s;         /* the largest authoritative TTL of the version; -1 unknown */
	int64_t fetch_obs;          /* the fetch it is judged against (0: none matched) */
	obs_usec_t fetch_t, expiry; /* that fetch's time and t + TTL (INT64_MIN when none) */
	obs_usec_t hold_until;      /* the latest s + r: held at least until then */
	int64_t held_s;             /* longest holding time observed, whole seconds (nearest) */
	int64_t first_obs, last_obs; /* evidence: the answers' observations */
} fetch_flag_t;

typedef struct fetch_link {
	char service[80], upstream[80];
	int64_t matches; /* client queries explained by a fetch from this upstream alone */
} fetch_link_t;

typedef struct fetch_resolver {
	char name[128]; /* the resolver's configured name when polled, else its first address */
	char service[FETCH_ADDRS][80];
	size_t service_n;
	char upstream[FETCH_ADDRS][80];
	size_t upstream_n;
	size_t addrs_dropped; /* addresses beyond FETCH_ADDRS (counted) */
	enum fetch_profile profile;
	int64_t stretch_s;  /* STRETCH(m): m; 0 otherwise */
	int64_t stale_s;    /* longest time past expiry with a stale marker; 0 none */
	int64_t answers;    /* answers of the zone's DNSKEY, DS and NS served */
	int64_t checked;    /* answers compared with a fetch of the same version */
	int64_t incomplete; /* answers not judged: a drop window overlaps [fetch, answer] */
	int64_t unmatched;  /* answers without a fetch of that version before them */
	const fetch_event_t *fetches; /* by RRset type, then time */
	size_t fetches_n;
	const fetch_flag_t *flags;
	size_t flags_n;
	const fetch_link_t *links;
	size_t links_n;
} fetch_resolver_t;

typedef struct fetch_drop {
	char collector[128];
	obs_usec_t lo, hi; /* [t_start, t_end) */
	int64_t received, dropped, ifdropped;
} fetch_drop_t;

/* Resolvers count TTLs in whole seconds and some stamp a cache entry when the request began
 * rather than when the response arrived (Knot Resolver, measured on the testbed: an answer
 * 1.02 s beyond fetch + TTL), so an answer may outlive the capture's fetch + TTL by a little
 * over 1 s without any stretching. */
#define FETCH_TOL_DEFAULT (2 * OBS_USEC_PER_SEC)

typedef struct fetch_opts {
	obs_usec_t tol; /* tolerance on TTL arithmetic (0: FETCH_TOL_DEFAULT) */
} fetch_opts_t;

/* Called once per resolver (sorted by name) / drop window; the pointers are valid during the
 * call only. */
typedef void (*fetch_resolver_fn)(void *arg, const fetch_resolver_t *r);
typedef void (*fetch_drop_fn)(void *arg, const fetch_drop_t *d);

/* Analyse the passive evidence of zone up to `at` (opts may be NULL; either callback may be
 * NULL). Returns OBS_EOK, OBS_ESQL or OBS_ENOMEM. */
int fetch_run(an_db_t *db, const char *zone, obs_usec_t at, const fetch_opts_t *opts,
	      fetch_resolver_fn rcb, fetch_drop_fn dcb, void *arg);
