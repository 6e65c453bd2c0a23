/* SPDX-License-Identifier: MIT */
/* Transitions (DESIGN §6; reference §4): every change of what the authoritative servers of a
 * zone serve, detected from the runs of the analysis database and grouped into classified
 * transitions with measured timings.
 *
 * 1. Timelines. For each server (a provider or parent target) and each monitored class of
 *    RRset, the runs in time order, each reduced to the set of items that matter (its
 *    "content"): the keys ALG/TAG of a DNSKEY or CDNSKEY RRset, the keys ALG/TAG a DS or CDS
 *    RRset names, the NS host names (lowercase, escaped), the signer keys ALG/TAG of the
 *    RRSIGs over the DNSKEY RRset and over the SOA (the zone's data signer set), a CSYNC's
 *    serial and flags. A NODATA / NXDOMAIN answer has empty content. Consecutive runs with
 *    the same content (re-signing) form one segment with conservative bounds
 *    [lo = previous poll, hi = next poll).
 * 2. Events. A change of content at a server is merged with the same change at the other
 *    servers of its origin (provider or PARENT): `first` is the first poll at which some
 *    server served the new content, `lo` the poll before it, `all` the poll by which every
 *    server of the origin that was still answering served it (INT64_MAX when some never did:
 *    propagation incomplete). A provider server whose last polls are unanswered gives a
 *    `server` event (answering -> stopped).
 * 3. Transitions. A const table of rules groups events (an event may belong to several
 *    transitions, e.g. one DNSKEY change importing two providers' new ZSKs): key rollovers
 *    found from the signer sets of each provider (ZSK, KSK, CSK, algorithm; an algorithm
 *    rollover of several providers at once is one transition), provider join and leave found
 *    from the parent's referral NS (a join followed by a leave that restores the number of
 *    providers is a transfer), then every event no rule claimed, grouped by class (DS, NS,
 *    CDS, CDNSKEY, CSYNC changes, ...).
 * 4. Phases and waits. Each event of a transition gets a phase name (publish, import, sign,
 *    sign-both, swap, withdraw, unsign, ds-add, ds-swap, ds-remove, cds-*, ns-add, ns-del,
 *    parent-ns-add, parent-ns-del, stop, unimport, ...). A const gate table says which earlier
 *    phases each phase must wait for (reference §4): needed = the largest TTL of the content
 *    the gate phases replaced; waited = this phase's first sighting - the gate phases' `all`.
 *    early = waited < needed (the step was taken early, T-3 in its policy form).
 * 5. Parent pick-up latency of a parent event (DS or referral NS): from the instant the
 *    matching CDS (or a CSYNC together with the matching apex NS) was served consistently at
 *    every provider server, to `all` of the parent event; -1 when no signal preceded it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "vers.h"

enum trans_class {
	TC_DNSKEY = 0,
	TC_DNSKEY_SIG, /* signers of the DNSKEY RRset */
	TC_DATA_SIG,   /* signers of the SOA: the data signer set */
	TC_DS,
	TC_NS_APEX,
	TC_NS_REF, /* the parent's referral NS */
	TC_CDS,
	TC_CDNSKEY,
	TC_CSYNC,
	TC_SERVER, /* answering / stopped */
	TC__N
};

/* "dnskey", "dnskey-signers", "data-signers", "ds", "ns-apex", "ns-referral", "cds",
 * "cdnskey", "csync", "server" */
extern const char *const trans_class_names[TC__N];

enum trans_kind {
	TK_ZSK_ROLL = 0,
	TK_KSK_ROLL,
	TK_CSK_ROLL,
	TK_ALG_ROLL,
	TK_JOIN,
	TK_LEAVE,
	TK_TRANSFER,
	TK_DS_CHANGE,
	TK_NS_CHANGE,
	TK_CDS_PUB,
	TK_CDNSKEY_PUB,
	TK_CSYNC_PUB,
	TK_DNSKEY_CHANGE,
	TK_SIGNER_CHANGE,
	TK_SERVER_STOP,
	TK__N
};

/* "zsk-rollover", "ksk-rollover", "csk-rollover", "algorithm-rollover", "provider-join",
 * "provider-leave", "provider-transfer", "ds-change", "ns-change", "cds-publication",
 * "cdnskey-publication", "csync-publication", "dnskey-change", "signer-change",
 * "server-stop" */
extern const char *const trans_kind_names[TK__N];

typedef struct trans_event {
	char origin[64]; /* provider name, or "PARENT" */
	enum trans_class cls;
	char *before, *after;  /* content: items separated by one space ("" = empty) */
	char *added, *removed; /* after \ before, before \ after */
	obs_usec_t lo;         /* the poll before `first` at that server (INT64_MIN: none) */
	obs_usec_t first;      /* the first poll that served the new content */
	obs_usec_t all;        /* every answering server of the origin: INT64_MAX if not */
	size_t servers, servers_done;
	int64_t ttl_before_s;   /* largest TTL of the replaced content (-1: unknown) */
	int64_t ttl_after_s;    /* of the new content */
	int64_t version_before; /* a version row id of each side (0: none) */
	int64_t version_after;
	obs_usec_t pickup; /* parent events: pick-up latency (µs), -1 when no signal preceded */
} trans_event_t;

typedef struct trans_phase {
	const char *name; /* static */
	obs_usec_t first, all;
	size_t *events; /* indices into the set's events */
	size_t events_n;
	const char *gate;  /* the gate phase that bound the wait (static), NULL: no gate */
	obs_usec_t waited; /* -1 when there is no gate */
	obs_usec_t needed; /* -1 when there is no gate or the TTL is unknown */
	bool early;
} trans_phase_t;

typedef struct trans {
	enum trans_kind kind;
	const char
	    *method; /* static: "pre-publish", "double-signature", "double-ds", ... or NULL */
	char providers[128];       /* provider names, space-separated ("" when none) */
	char *keys_old, *keys_new; /* ALG/TAG items, space-separated ("" when none) */
	obs_usec_t lo;             /* the poll before the first change */
	obs_usec_t first;          /* the first change seen */
	obs_usec_t last;           /* the last change complete at every server (INT64_MAX: not) */
	size_t *events;
	size_t events_n;
	trans_phase_t *phases;
	size_t phases_n;
	obs_usec_t propagation; /* largest all - first over the events (-1 when incomplete) */
	obs_usec_t pickup;      /* largest pick-up latency over its parent events, -1: none */
	size_t early_steps;     /* phases taken early */
	bool complete;          /* every event reached every server, and the process ended */
} trans_t;

/* One segment of a server timeline (for reports and exports). */
typedef struct trans_seg {
	obs_usec_t lo, first, last, hi; /* hi == INT64_MAX while served at `at` */
	const char *content;            /* owned by the set */
	int64_t version_id;             /* the first version of the segment */
	int64_t ttl_s;
} trans_seg_t;

typedef struct trans_timeline {
	char origin[64];
	char server[80];     /* address */
	char collector[128]; /* collector name */
	enum trans_class cls;
	trans_seg_t *segs;
	size_t segs_n;
} trans_timeline_t;

typedef struct trans_set trans_set_t;

typedef struct trans_opts {
	obs_usec_t group_gap; /* unclaimed events of one class and change within this gap form one
			       * transition (0: 10 minutes) */
	obs_usec_t window;    /* a provider join / leave gathers the changes at most this long
			       * before and after its referral change (0: 7 days) */
} trans_opts_t;

/* Detect and classify the transitions of zone from db up to `at` (runs that started after
 * it are ignored; runs still served at it are open). opts may be NULL. Returns OBS_EOK,
 * OBS_ESQL or OBS_ENOMEM; *out is owned by the caller (trans_free). */
int trans_run(an_db_t *db, const char *zone, obs_usec_t at, const trans_opts_t *opts,
	      trans_set_t **out);

/* Free; NULL is a no-op. */
void trans_free(trans_set_t *s);

/* Accessors; the returned pointers are owned by the set. */
const char *trans_zone(const trans_set_t *s);
obs_usec_t trans_at(const trans_set_t *s);
size_t trans_count(const trans_set_t *s);
const trans_t *trans_get(const trans_set_t *s, size_t i);
size_t trans_event_count(const trans_set_t *s);
const trans_event_t *trans_event_get(const trans_set_t *s, size_t i);
size_t trans_timeline_count(const trans_set_t *s);
const trans_timeline_t *trans_timeline_get(const trans_set_t *s, size_t i);
/* The estimated poll period of the zone's authoritative series (µs, 0 when unknown). */
obs_usec_t trans_poll(const trans_set_t *s);

/* The content of version v in class cls (items sorted, space-separated) into buf.
 * Returns OBS_EOK, OBS_ETOOBIG (truncated at an item boundary) or OBS_EMALFORMED. */
int trans_content(const vers_t *v, enum trans_class cls, char *buf, size_t len);

/* The class of a series role at an origin ("PARENT" or a provider), or TC__N when the role is
 * not monitored. data_sig: the class for the signers of the role's RRset instead. */
enum trans_class trans_class_of(const char *origin, const char *role, bool data_sig);
