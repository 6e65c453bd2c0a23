/* SPDX-License-Identifier: MIT */
/* obs-web: the context every web module works on (one struct, passed explicitly; no globals).
 * Modules, one prefix each: wh_ (http.c: listener, limits, router, errors, auth), wa_ (api.c:
 * JSON endpoints), wp_ (pages.c: embedded dashboard assets, server-rendered HTML), wm_
 * (metrics.c: Prometheus text), wg_ (graphs.c: RRD files and PNGs), wl_ (live.c: the ingest
 * timer), wc_ (cache.c: finished GET documents), wn_ (conn.c: the connection cap). The HTTP server
 * runs on one libevent base; every handler runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_db.h"
#include "clock.h"
#include "log.h"
#include "sigv.h"

struct event_base;
struct evhttp;
struct evhttp_request;

/* Limits (reliability-targets §G4). Soft limits are ours and answered with JSON errors; the
 * hard limits are given to evhttp, which answers beyond them with its own fixed error page
 * (libevent 2.1.12 has no error callback). */
#define WEB_MAX_HEADERS      8192   /* soft: total request header bytes -> 431 */
#define WEB_MAX_HEADERS_HARD 16384  /* evhttp: -> 400/413 */
#define WEB_MAX_BODY         65536  /* soft: request body bytes -> 413 */
#define WEB_MAX_BODY_HARD    262144 /* evhttp: -> 413 */
#define WEB_TIMEOUT_S        10     /* read / write timeout per connection */
#define WEB_MAX_HOSTS        16     /* Host allowlist entries */
#define WEB_MAX_COLLECTORS   64
#define WEB_TOKEN_MIN        16 /* bytes of a bearer token (>= 128 bits when random) */
#define WEB_TOKEN_MAX        512
#define WEB_NOFILE_WANT      65536 /* soft descriptor limit asked for (server.c) */

typedef struct web_opts {
	const char *db_path;
	const char *listen; /* "ADDR:PORT" or "[ADDR]:PORT" */
	const char *token_file;
	const char *collectors[WEB_MAX_COLLECTORS];
	size_t collectors_n;
	obs_usec_t ingest_every;
	const char *state_dir; /* RRD files; NULL: no graphs */
	bool once_check;
	size_t max_connections; /* 0: WN_DEFAULT_CAP */
	const char *allow_hosts[WEB_MAX_HOSTS];
	size_t allow_hosts_n;
} web_opts_t;

typedef struct wm wm_t;
typedef struct wg wg_t;
typedef struct wl wl_t;
typedef struct wc wc_t;
typedef struct wn wn_t;

typedef struct web_ctx {
	web_opts_t opts;
	obs_clock_t clock;
	obs_log_t log;
	struct event_base *base;
	struct evhttp *http;
	an_db_t *db; /* writable when collectors are ingested (live mode), else read-only */
	sigv_t *sv;  /* signature memo shared by every request */
	char token[WEB_TOKEN_MAX + 1];
	size_t token_len; /* 0: no token configured (state-changing endpoints refused) */
	char listen_addr[64];
	uint16_t port;
	char hosts[WEB_MAX_HOSTS + 4][260]; /* Host allowlist, lower case, without port */
	size_t hosts_n;
	wm_t *metrics;
	wg_t *graphs;        /* NULL without --state-dir */
	wl_t *live;          /* NULL without collectors */
	wc_t *cache;         /* GET documents (cache.h) */
	wn_t *conns;         /* the connection cap (conn.h) */
	uint64_t generation; /* moves on after each ingest round that brought new data */
} web_ctx_t;
