/* SPDX-License-Identifier: MIT */
/* The cache-state model of one zone (reference §5.1-§5.5): every version each origin (the
 * parent or a provider) served, as an interval set built from the conservative run bounds
 * [prev_poll, next_poll) of all the origin's servers; the zone key table as bit indexes; per
 * version the key masks of the bitmask algebra (dsmask of a DS RRset, kmask of a DNSKEY
 * RRset, the providers an NS RRset names) and its signatures as time segments (each RRSIG
 * verified once through sigv.h, valid over [inception, expiration]); NS reachability per
 * provider; fetchable F(v) and possibly-cached C(v) sets for a profile; lameness per server.
 *
 * The model is built from the analysis database as of an instant `at` (runs that started
 * after it are ignored, runs still open at it extend to +inf: the freeze assumption A4). It
 * can be copied and changed (whatif: hypothetical versions, cut runs, stopped providers).
 * A model owns everything it points to except `db`-owned version rows (vers_cache). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "iset.h"
#include "keys.h"
#include "sigv.h"
#include "vers.h"

#define MDL_PARENT   (-1)
#define MDL_MAXPROV  32
#define MDL_MAXKEYS  64
#define MDL_MAXNAMES 32 /* NS names looked at per NS version */

typedef uint64_t mdl_mask_t;

enum mdl_cls {
	MC_DS,     /* the parent's DS RRset (or its negative answer) */
	MC_NSP,    /* the parent's referral NS RRset */
	MC_DNSKEY, /* a provider's DNSKEY RRset */
	MC_DATA,   /* any other signed RRset of a provider, negative proofs included */
};

enum mdl_nsmode { MN_ONESTEP = 0, MN_CHILD_CHAIN, MN_PARENT_ONLY };

/* A profile (reference §5.4): how resolvers are assumed to behave. */
typedef struct mdl_prof {
	const char *name;   /* "default", "strict", "child_chain", "stretch_300", "stale_86400" */
	enum mdl_nsmode ns; /* NS reachability model */
	bool strict;        /* STRICT algorithm rule (RFC 6781 §4.1.4) instead of LENIENT */
	obs_usec_t stretch; /* STRETCH(m): TTLs below m count as m (0: none) */
	obs_usec_t stale;   /* STALE(s): every TTL plus s (0: none) */
} mdl_prof_t;

/* The verdict profile {HONOUR, ONESTEP, LENIENT}, and the extra columns of by_profile. */
extern const mdl_prof_t mdl_prof_default;
extern const mdl_prof_t mdl_profiles[];
extern const size_t mdl_profiles_n;

/* One RRSIG of a version as a time segment: valid over [lo, hi) by key index `key`. */
typedef struct mdl_sig {
	obs_usec_t lo, hi;
	uint8_t key;
	uint8_t group; /* which signed RRset of a negative proof (0 for positive answers) */
} mdl_sig_t;

typedef struct mdl_ver {
	int64_t id; /* version row id; hypothetical versions have ids < 0 */
	int origin; /* provider index, or MDL_PARENT */
	enum mdl_cls cls;
	char role[16]; /* the collector's series role: ds, referral, dnskey, ns, soa, ... */
	char owner[256];
	uint16_t type;
	int kind;           /* enum vers_kind */
	int64_t ttl_s;      /* the largest TTL served (TTLmax); 0 when unknown */
	mdl_mask_t keys;    /* MC_DS: dsmask; MC_DNSKEY: kmask (zone bit, not revoked, supported
			     * algorithm); MC_DATA: the keys some RRSIG names (by tag and alg) */
	mdl_mask_t signers; /* keys whose signature over the RRset verifies (any time) */
	uint64_t names;     /* NS RRsets (referral, apex): a bit per provider index named */
	bool insecure;      /* MC_DS: no supported DS record (or a negative answer) */
	bool vfail;         /* some RRSIG with a matching key failed verification (V-4) */
	uint8_t ngroups;    /* signed RRsets that must each validate */
	mdl_sig_t *sig;     /* owned */
	size_t nsig;
	/* served: the union of the runs at the origin's servers, minus the time since a server
	 * began failing when it still fails at `at` (stopped) */
	iset_t served;
	iset_t seen;   /* the narrow part: from first to last sighting of each run */
	iset_t F, C;   /* fetchable and possibly cached, for the profile of the last mdl_avail */
	iset_t Fs, Cs; /* the same from `seen`: what certainly happened */
	bool touched;  /* whatif: created or cut by the step */
} mdl_ver_t;

typedef struct mdl_srv {
	int origin;
	char address[80];
	char host[256];
	iset_t lame;          /* conservative: [last good poll, next good poll) */
	iset_t dead;          /* [first failed poll, +inf) while it still fails at `at` (a failure
			       * that ended may have been a lost packet: no cut) */
	obs_usec_t last_poll; /* the last poll of the server (INT64_MIN: never) */
	bool answering;       /* the last poll got an authoritative answer */
	int64_t last_obs;     /* evidence: observation row of the last poll */
} mdl_srv_t;

typedef struct mdl_key {
	key_info_t info;
	uint8_t rdata[1024]; /* DNSKEY RDATA (keys larger than this are not supported) */
	size_t len;
	bool hypothetical; /* given as wire:BASE64 in a whatif step */
} mdl_key_t;

typedef struct mdl {
	char zone[256];
	obs_usec_t at;
	obs_usec_t eps;       /* epsilon_clock: the largest clock offset between collectors */
	obs_usec_t poll;      /* the poll period (estimated from the record) */
	obs_usec_t first_obs; /* the oldest authoritative observation of the zone */
	obs_usec_t last_obs;  /* the newest authoritative observation of the zone (<= at) */
	bool parent_seen;     /* some referral run exists */
	char prov[MDL_MAXPROV][64];
	size_t np;
	mdl_key_t *keys; /* MDL_MAXKEYS entries, owned */
	size_t nk;
	mdl_srv_t *srv;
	size_t ns;
	mdl_ver_t *v;
	size_t nv, vcap;
	iset_t nsr[MDL_MAXPROV]; /* NS reachability of the last mdl_avail */
	int64_t next_hypo;       /* the next hypothetical version id (negative) */
} mdl_t;

/* Build the model of zone as of `at`. sv: the verification memo (shared, so nothing is
 * verified twice). Returns OBS_EOK, OBS_ENOENT (zone unknown), OBS_ELIMIT (more keys or
 * providers than the masks hold; err says which), OBS_ESQL or OBS_ENOMEM. *out is owned by the
 * caller (mdl_free). */
int mdl_load(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, mdl_t **out, char *err,
	     size_t errlen);

void mdl_free(mdl_t *m);

/* A deep copy (for a hypothetical world). */
int mdl_copy(const mdl_t *m, mdl_t **out);

/* Compute NS reachability, F and C of every version for profile p. */
int mdl_avail(mdl_t *m, const mdl_prof_t *p);

/* The times at which the chain D -> K validates (reference §5.5 Bchain complement): all time
 * when D is insecure, else the union of K's signature segments by keys in dsmask(D) & kmask(K)
 * (STRICT changes nothing for the chain). */
int mdl_chain_valid(const mdl_t *m, const mdl_ver_t *D, const mdl_ver_t *K, iset_t *out);

/* The times at which DNSKEY RRset K authenticates X (every group of X has a valid signature
 * by a key of kmask(K); STRICT: by a key of every algorithm of kmask(K)). */
int mdl_sig_valid(const mdl_t *m, const mdl_ver_t *K, const mdl_ver_t *X, bool strict, iset_t *out);

/* The times at which X validates against some key of the whole key table (outside them X is
 * broken whatever the DNSKEY RRset: not the fault of a key change). */
int mdl_self_valid(const mdl_t *m, const mdl_ver_t *X, iset_t *out);

/* Append a version (copied; its isets and sig array are taken over by the model and the
 * source is zeroed). Returns its index via *idx. */
int mdl_add_ver(mdl_t *m, mdl_ver_t *v, size_t *idx);

/* Provider index by name (-1 when unknown). */
int mdl_prov(const mdl_t *m, const char *name);

/* Key index of DNSKEY RDATA (-1 when not in the table). */
int mdl_key_find(const mdl_t *m, const uint8_t *rdata, size_t len);

/* "DNSKEY v17 at b", "DS v3 at parent" for messages. */
const char *mdl_ver_label(const mdl_t *m, const mdl_ver_t *v, char *buf, size_t len);

/* "13/4711" (ALG/TAG) of key index i. */
const char *mdl_key_label(const mdl_t *m, int i, char *buf, size_t len);

/* The mask of the keys of algorithm alg. */
mdl_mask_t mdl_alg_mask(const mdl_t *m, uint8_t alg);

/* True when the algorithm is one validators support (the analyzer's ALGSET). */
bool mdl_alg_supported(uint8_t alg);

/* Verify every signature of every zone's versions up to `at` once and store the results in the
 * analysis database's memo (sigcheck), so later read-only models verify nothing. For ingest. */
int mdl_verify_all(an_db_t *db, obs_usec_t at, char *err, size_t errlen);
