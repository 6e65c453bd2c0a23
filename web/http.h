/* SPDX-License-Identifier: MIT */
/* The HTTP layer of obs-web (evhttp): the listener with explicit limits and timeouts, the Host
 * allowlist (DNS rebinding), the path splitter (percent-decoding per segment, traversal
 * refused), the router, bearer-token checks in constant time, and replies: JSON documents and
 * JSON errors with security headers and no CORS headers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <event2/keyvalq_struct.h>

#include "web.h"

#define WH_MAX_SEG  8
#define WH_MAX_PATH 1024

/* One request being handled (valid during the handler only). */
typedef struct wh_req {
	struct evhttp_request *req;
	web_ctx_t *w;
	int method;            /* EVHTTP_REQ_* */
	char *seg[WH_MAX_SEG]; /* decoded path segments (owned) */
	size_t seg_n;
	struct evkeyvalq query; /* decoded query parameters */
	char what[160];         /* "GET /api/v1/..." for logs (path truncated) */
	bool replied;
} wh_req_t;

/* Bind w->listen_addr:w->port, set the limits and the router. Returns OBS_EOK or OBS_ENET
 * (reason in err). */
int wh_start(web_ctx_t *w, char *err, size_t errlen);

/* Free the server; NULL-safe on a context that never started. */
void wh_stop(web_ctx_t *w);

/* Reply with doc (serialised by jansson, compact, sorted keys) and status code; takes the
 * reference to doc. */
void wh_json(wh_req_t *r, int code, json_t *doc);

/* Reply {"error": message, "status": code} (message printf-style; jansson escapes it). */
void wh_error(wh_req_t *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reply with raw bytes of a content type (copied). */
void wh_send(wh_req_t *r, int code, const char *ctype, const void *data, size_t len);

/* The HTTP status for an OBS_E* code: OBS_ESYNTAX/OBS_EINVAL 400, OBS_ENOENT 404,
 * OBS_ETOOBIG 413, anything else 500. */
int wh_status_of(int obs_err);

/* A decoded query parameter, or NULL. */
const char *wh_query(const wh_req_t *r, const char *key);

/* Check the bearer token of a state-changing request (exactly one Authorization header
 * "Bearer TOKEN", compared in constant time; a cross-origin Origin refused). On failure the
 * error reply is sent (401 or 403) and false returned. */
bool wh_authorized(wh_req_t *r);

/* The request body as a NUL-terminated copy (*out owned by the caller, free()). Returns
 * OBS_EOK, or OBS_ETOOBIG after replying 413. */
int wh_body(wh_req_t *r, char **out, size_t *len);

/* Constant-time comparison of a presented token with the configured one (time depends only
 * on the configured token's length). */
bool wh_token_equal(const char *given, size_t glen, const char *token, size_t tlen);

/* Is host (a Host header value, with or without ":port") allowed? */
bool wh_host_allowed(const web_ctx_t *w, const char *host);
