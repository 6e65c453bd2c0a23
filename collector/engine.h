/* SPDX-License-Identifier: MIT */
/* The query engine: one libevent loop, a pool of non-blocking UDP sockets with random source
 * ports, TCP (bufferevents) when an answer is truncated, random IDs, strict answer matching
 * (address, port, ID, question) while waiting for a valid answer until the deadline, retries,
 * a per-server token bucket and a bound on queries in flight (excess waits in per-server
 * queues). Every attempt ends in exactly one result callback with an explicit status. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "answer.h"
#include "clock.h"
#include "probe.h"
#include "store.h"

typedef struct eng eng_t;
typedef struct eng_req eng_req_t;

/* A request's last complete answer: its wire (ID bytes zeroed), the wire's hash and brief
 * (allocated on the first one, reallocated when the length changes). An answer whose bytes
 * equal these (ID aside) reuses hash and brief: neither SHA-256 nor ldns runs again. */
struct eng_last {
	uint8_t hash[ANS_HASH_LEN];
	ans_brief_t brief;
	size_t len;
	uint8_t wire[]; /* len bytes */
};

/* A server (or resolver) address; shared by every request sent to it. Owned by the caller;
 * must outlive the engine's use of it. Initialise with eng_target_init(). */
typedef struct eng_target {
	obs_addr_t addr;
	uint64_t rate; /* queries per second */
	double tokens;
	obs_usec_t refilled; /* monotonic */
	eng_req_t *qhead, *qtail;
	size_t queued;
	bool in_ready;
	struct eng_target *ready_next;
	obs_addr_t local; /* our source address towards it (for the tap), found on first use */
	bool local_known;
	bool gso_off; /* a segmentation-offload send to it failed: its datagrams go one by one */
} eng_target_t;

/* One question to one target. Owned by the caller; the engine holds it from eng_submit()
 * until its final result. */
struct eng_req {
	eng_target_t *target;
	probe_query_t q;
	obs_usec_t timeout;
	unsigned retries;
	void *user;
	bool full_parse; /* never take the fast path (the caller needs NS names and addresses) */
	/* engine state */
	unsigned attempt;
	bool busy;
	eng_req_t *next;
	struct eng_last *last; /* the last complete answer (fast path), owned; eng_req_clear() */
};

/* Free what the engine keeps in a request (its last answer). */
void eng_req_clear(eng_req_t *r);

typedef struct eng_result {
	eng_req_t *req;
	enum store_status status;
	unsigned attempt;         /* 0 = first */
	unsigned transport;       /* 0 UDP, 1 TCP */
	obs_usec_t t;             /* realtime when the attempt was sent (or dropped) */
	obs_usec_t rtt;           /* -1 when there was no answer */
	const ans_summary_t *ans; /* parsed answer or NULL; valid during the callback only */
	const uint8_t *wire;      /* raw answer or NULL; valid during the callback only */
	const uint8_t *wire_hash; /* ans_wire_hash() of wire, or NULL */
	size_t wire_len;
	bool final; /* no further attempt follows for this request */
} eng_result_t;

typedef void (*eng_result_fn)(void *arg, const eng_result_t *r);

/* The observation row of a result, for series_id. */
static inline store_obs_t eng_result_obs(const eng_result_t *r, int64_t series_id)
{
	return (store_obs_t){.series_id = series_id,
			     .t = r->t,
			     .attempt = r->attempt,
			     .transport = r->transport,
			     .status = r->status,
			     .rtt = r->rtt,
			     .ans = r->ans,
			     .wire = r->wire,
			     .wire_len = r->wire_len,
			     .wire_hash = r->wire_hash};
}

/* Sees every DNS message the engine sends (out) or receives, with both ends' addresses and
 * ports (for -w FILE). The message is valid during the call only. */
typedef void (*eng_tap_fn)(void *arg, obs_usec_t t, bool out, const obs_addr_t *local,
			   const obs_addr_t *remote, unsigned transport, const uint8_t *msg,
			   size_t len);

typedef struct eng_stats {
	uint64_t sent, answered, timeout, neterr, truncated, malformed, mismatched, dropped;
	uint64_t stray;     /* datagrams that matched no query in flight */
	uint64_t spoofed;   /* datagrams with our ID from the wrong address or question */
	uint64_t tcp;       /* TCP attempts */
	uint64_t rotations; /* sockets reopened on a new random port */
	uint64_t fast;      /* answers identical to the previous one: not parsed again */
	uint64_t gso;       /* datagrams that left in segmentation-offload groups */
	uint64_t gso_off;   /* targets that refused segmentation offload (then one by one) */
	uint64_t inflight;  /* now */
	uint64_t queued;    /* now */
} eng_stats_t;

#define ENG_MAX_QUEUE 4096 /* per target; beyond it requests are dropped (and recorded) */

/* Create an engine on base. clock gives observation times (not owned; must outlive it).
 * max_inflight bounds queries in flight; cb receives every result. */
int eng_new(struct event_base *base, const obs_clock_t *clock, size_t max_inflight,
	    eng_result_fn cb, void *arg, eng_t **out);

/* Stop every query in flight (no callbacks) and free. NULL is a no-op. */
void eng_free(eng_t *e);

void eng_target_init(eng_target_t *t, const obs_addr_t *addr, uint64_t rate);

/* Hand a request to the engine. OBS_EAGAIN when it is still busy with its previous
 * submission (the caller counts an overrun). A request beyond the target's queue cap
 * gets a ST_DROPPED final result. */
int eng_submit(eng_t *e, eng_req_t *r);

/* Remove a queued (not yet sent) request for a target the caller stops polling. */
void eng_cancel_target(eng_t *e, eng_target_t *t);

void eng_get_stats(const eng_t *e, eng_stats_t *out);

/* UDP segmentation offload on (the default) or off. A capture on this host (lo, or a NIC
 * that segments in hardware) sees an offload send as one datagram holding several queries;
 * off, every query is its own send. */
void eng_set_offload(eng_t *e, bool on);

/* Install (or with NULL remove) the tap. */
void eng_set_tap(eng_t *e, eng_tap_fn fn, void *arg);

/* True when nothing is in flight or queued. */
bool eng_idle(const eng_t *e);
