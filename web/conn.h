/* SPDX-License-Identifier: MIT */
/* The connection cap of obs-web (reliability-targets §G4). libevent 2.1.12's evhttp has no
 * evhttp_set_max_connections (it came in 2.2), so every HTTP connection is counted here from
 * evhttp's bufferevent callback to its close callback:
 *  - over the cap, a connection's requests are answered 503 (JSON, Retry-After: 1,
 *    Connection: close) instead of being handled;
 *  - a sweep every 250 ms, when the cap was reached since the last one, sheds the oldest
 *    connections (open for more than 1 s) down to 7/8 of the cap, so that long-lived idle or
 *    Slowloris connections make room for new clients instead of locking them out;
 *  - at twice the cap the listener stops accepting (the kernel's backlog holds new clients)
 *    until the count is back under 1.5 times the cap, so descriptors never run out.
 * The cap is lowered to what the descriptor limit allows (2 x cap + 64 <= RLIMIT_NOFILE).
 * Everything runs on the web loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web.h"

struct evhttp_bound_socket;
struct evhttp_request;

#define WN_DEFAULT_CAP 4096
#define WN_SWEEP_USEC  250000
#define WN_MIN_AGE     1000000 /* a connection younger than this is never shed */

typedef struct wn_stats {
	size_t open;          /* connections now open */
	size_t cap;           /* the cap in force */
	uint64_t accepted;    /* connections accepted in all */
	uint64_t refused;     /* requests answered 503 because their connection was over the cap */
	uint64_t shed;        /* connections closed by the sweep */
	uint64_t paused;      /* times the listener stopped accepting */
	bool listener_paused; /* now */
} wn_stats_t;

/* Install the cap on w->http (before evhttp accepts anything; bound is the listening socket's
 * handle). want 0 means WN_DEFAULT_CAP. The event base must have been given 2 priorities
 * (event_base_priority_init) so that the callback that learns each new connection runs
 * before any of its I/O. Returns OBS_EOK or OBS_ENOMEM; *out owned by the caller
 * (wn_free after evhttp_free). */
int wn_new(web_ctx_t *w, struct evhttp_bound_socket *bound, size_t want, wn_t **out);

/* NULL-safe. Call after the evhttp server is freed (which closes every connection). */
void wn_free(wn_t *n);

/* True when req's connection was accepted over the cap: the caller answers 503 with
 * wn_refuse. NULL n: false. */
bool wn_over(wn_t *n, struct evhttp_request *req);

/* Count one refused request (the caller has answered it). */
void wn_count_refused(wn_t *n);

void wn_stats(const wn_t *n, wn_stats_t *out);
