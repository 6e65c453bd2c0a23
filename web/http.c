/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "conn.h"
#include "http.h"
#include "metrics.h"
#include "obs_err.h"
#include "pages.h"

static const char CSP[] = "default-src 'self'; img-src 'self'; style-src 'self'; "
			  "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
			  "base-uri 'none'; form-action 'none'";

static void finish(wh_req_t *r, int code)
{
	r->replied = true;
	wm_count_request(r->w->metrics, code);
	enum obs_log_level lvl = code >= 500 ? OBS_LOG_WARN : OBS_LOG_DEBUG;
	if (obs_log_enabled(&r->w->log, lvl))
		obs_log_fmt(&r->w->log, lvl, r->what, "%d", code);
}

void wh_send(wh_req_t *r, int code, const char *ctype, const void *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", CSP);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", "no-store");
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(r->req, 500, NULL);
		finish(r, 500);
		return;
	}
	evbuffer_add(b, data, len);
	evhttp_send_reply(r->req, code, NULL, b);
	evbuffer_free(b);
	finish(r, code);
}

void wh_json(wh_req_t *r, int code, json_t *doc)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (s == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
		wh_send(r, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	wh_send(r, code, "application/json", s, strlen(s));
	free(s);
}

void wh_error(wh_req_t *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
				  "Bearer realm=\"obs-web\"");
	if (code >= 500)
		obs_log_fmt(&r->w->log, OBS_LOG_WARN, r->what, "%s", msg);
	wh_json(r, code, json_pack("{s:s, s:i}", "error", msg, "status", code));
}

int wh_status_of(int e)
{
	switch (e) {
	case OBS_ESYNTAX:
	case OBS_EINVAL:
		return 400;
	case OBS_ENOENT:
		return 404;
	case OBS_ETOOBIG:
		return 413;
	default:
		return 500;
	}
}

const char *wh_query(const wh_req_t *r, const char *key)
{
	return evhttp_find_header(&r->query, key);
}

bool wh_token_equal(const char *given, size_t glen, const char *token, size_t tlen)
{
	volatile unsigned char d = (unsigned char)(glen != tlen);
	for (size_t i = 0; i < tlen; i++)
		d |= (unsigned char)(token[i] ^ (i < glen ? given[i] : 0));
	return d == 0;
}

/* The host part of "host", "host:port", "[v6]" or "[v6]:port", lower-cased into out; the
 * port (0: none) into *port. False when malformed. */
static bool split_host(const char *in, char *out, size_t outlen, unsigned *port)
{
	size_t n = strlen(in);
	const char *colon = NULL;
	*port = 0;
	if (n == 0 || n >= outlen)
		return false;
	if (in[0] == '[') {
		const char *end = strchr(in, ']');
		if (end == NULL)
			return false;
		n = (size_t)(end - in) + 1;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0')
			return false;
	} else if ((colon = strchr(in, ':')) != NULL) {
		n = (size_t)(colon - in);
	}
	if (colon) {
		char *e = NULL;
		unsigned long p = strtoul(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || p == 0 || p > 65535)
			return false;
		*port = (unsigned)p;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c >= 0x7f)
			return false;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return n > 0;
}

bool wh_host_allowed(const web_ctx_t *w, const char *host)
{
	char h[260];
	unsigned port;
	if (host == NULL || !split_host(host, h, sizeof(h), &port))
		return false;
	if (port != 0 && port != w->port)
		return false;
	for (size_t i = 0; i < w->hosts_n; i++)
		if (strcmp(h, w->hosts[i]) == 0)
			return true;
	return false;
}

/* An Origin header "scheme://host[:port]" whose host is not ours: a cross-origin request. */
static bool origin_ok(const web_ctx_t *w, const char *origin)
{
	if (origin == NULL)
		return true;
	const char *p = strstr(origin, "://");
	if (p == NULL || (strncmp(origin, "http", 4) != 0))
		return false;
	p += 3;
	if (strchr(p, '/') != NULL)
		return false;
	return wh_host_allowed(w, p);
}

bool wh_authorized(wh_req_t *r)
{
	web_ctx_t *w = r->w;
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	if (!origin_ok(w, evhttp_find_header(in, "Origin"))) {
		wh_error(r, 403, "cross-origin request refused");
		return false;
	}
	if (w->token_len == 0) {
		wh_error(r, 403, "state-changing endpoints are disabled (no --token-file)");
		return false;
	}
	const char *auth = NULL;
	int n = 0;
	for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next)
		if (strcasecmp(kv->key, "Authorization") == 0) {
			auth = kv->value;
			n++;
		}
	if (n != 1 || strncasecmp(auth, "Bearer ", 7) != 0) {
		wh_error(r, 401,
			 n > 1 ? "more than one Authorization header"
			       : "a bearer token is required");
		return false;
	}
	const char *tok = auth + 7;
	if (!wh_token_equal(tok, strlen(tok), w->token, w->token_len)) {
		wh_error(r, 401, "invalid bearer token");
		return false;
	}
	return true;
}

int wh_body(wh_req_t *r, char **out, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(r->req);
	size_t n = evbuffer_get_length(b);
	*out = NULL;
	*len = 0;
	if (n > WEB_MAX_BODY) {
		wh_error(r, 413, "request body too large (%zu bytes, limit %d)", n, WEB_MAX_BODY);
		return OBS_ETOOBIG;
	}
	char *s = malloc(n + 1);
	if (s == NULL) {
		wh_error(r, 500, "out of memory");
		return OBS_ENOMEM;
	}
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	*out = s;
	*len = n;
	return OBS_EOK;
}

/* Split the raw path into decoded segments. Returns 0, or the HTTP status to refuse with
 * (message in msg). */
static int split_path(wh_req_t *r, const char *path, const char **msg)
{
	if (path == NULL || path[0] != '/') {
		*msg = "bad path";
		return 400;
	}
	if (strlen(path) > WH_MAX_PATH) {
		*msg = "path too long";
		return 414;
	}
	const char *p = path + 1;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0) {
			if (e == NULL)
				break;
			*msg = "empty path segment";
			return 400;
		}
		if (r->seg_n == WH_MAX_SEG) {
			*msg = "too many path segments";
			return 404;
		}
		char raw[WH_MAX_PATH + 1];
		memcpy(raw, p, n);
		raw[n] = '\0';
		size_t dlen = 0;
		char *d = evhttp_uridecode(raw, 0, &dlen);
		if (d == NULL) {
			*msg = "out of memory";
			return 500;
		}
		r->seg[r->seg_n++] = d;
		if (strlen(d) != dlen) {
			*msg = "NUL byte in path";
			return 400;
		}
		if (strcmp(d, ".") == 0 || strcmp(d, "..") == 0 || strchr(d, '\\')) {
			*msg = "path traversal refused";
			return 400;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

static size_t header_bytes(struct evhttp_request *req)
{
	size_t n = strlen(evhttp_request_get_uri(req)) + 16;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next)
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

static const char *method_name(int m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_POST:
		return "POST";
	default:
		return "OTHER";
	}
}

static void route(wh_req_t *r)
{
	if (r->seg_n >= 2 && strcmp(r->seg[0], "api") == 0 && strcmp(r->seg[1], "v1") == 0) {
		wa_handle(r);
		return;
	}
	if (r->seg_n == 1 && strcmp(r->seg[0], "metrics") == 0) {
		if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD)
			wh_error(r, 405, "method not allowed");
		else
			wm_handle(r);
		return;
	}
	wp_handle(r); /* pages and assets; 404 JSON for anything else */
}

static void on_request(struct evhttp_request *req, void *arg)
{
	web_ctx_t *w = arg;
	wh_req_t r = {.req = req, .w = w, .method = (int)evhttp_request_get_command(req)};
	TAILQ_INIT(&r.query);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	snprintf(r.what, sizeof(r.what), "%s %.120s", method_name(r.method), path ? path : "?");
	const char *msg = NULL;
	int code;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	if (wn_over(w->conns, req)) {
		/* over the connection cap: answered, not handled, and the connection closed */
		struct evkeyvalq *out = evhttp_request_get_output_headers(req);
		evhttp_add_header(out, "Retry-After", "1");
		evhttp_add_header(out, "Connection", "close");
		wn_count_refused(w->conns);
		wh_json(&r, 503,
			json_pack("{s:s, s:i}", "error", "too many connections, retry later",
				  "status", 503));
		goto done;
	}
	if (!wh_host_allowed(w, evhttp_find_header(in, "Host"))) {
		wh_error(&r, 403, "Host header not allowed");
		goto done;
	}
	if (header_bytes(req) > WEB_MAX_HEADERS) {
		wh_error(&r, 431, "request headers too large (limit %d bytes)", WEB_MAX_HEADERS);
		goto done;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > WEB_MAX_BODY) {
		wh_error(&r, 413, "request body too large (limit %d bytes)", WEB_MAX_BODY);
		goto done;
	}
	if ((code = split_path(&r, path, &msg)) != 0) {
		wh_error(&r, code, "%s", msg);
		goto done;
	}
	const char *q = u ? evhttp_uri_get_query(u) : NULL;
	if (q && evhttp_parse_query_str(q, &r.query) != 0) {
		wh_error(&r, 400, "malformed query string");
		goto done;
	}
	route(&r);
	if (!r.replied)
		wh_error(&r, 500, "no reply");
done:
	for (size_t i = 0; i < r.seg_n; i++)
		free(r.seg[i]);
	evhttp_clear_headers(&r.query);
}

int wh_start(web_ctx_t *w, char *err, size_t errlen)
{
	w->http = evhttp_new(w->base);
	if (w->http == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return OBS_ENOMEM;
	}
	evhttp_set_max_headers_size(w->http, WEB_MAX_HEADERS_HARD);
	evhttp_set_max_body_size(w->http, WEB_MAX_BODY_HARD);
	evhttp_set_timeout(w->http, WEB_TIMEOUT_S);
	/* every method reaches the router, which answers 405 in JSON */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(w->http, "application/json");
	evhttp_set_gencb(w->http, on_request, w);
	struct evhttp_bound_socket *bound =
	    evhttp_bind_socket_with_handle(w->http, w->listen_addr, w->port);
	if (bound == NULL) {
		snprintf(err, errlen, "cannot listen on %s port %u", w->listen_addr,
			 (unsigned)w->port);
		return OBS_ENET;
	}
	if (wn_new(w, bound, w->opts.max_connections, &w->conns) != OBS_EOK) {
		snprintf(err, errlen, "no memory for the connection cap");
		return OBS_ENOMEM;
	}
	return OBS_EOK;
}

void wh_stop(web_ctx_t *w)
{
	if (w->http)
		evhttp_free(w->http);
	w->http = NULL;
	wn_free(w->conns); /* after evhttp_free, which closes every connection */
	w->conns = NULL;
}
