/* SPDX-License-Identifier: MIT */
/* One synchronous HTTP POST at a time over libevent's evhttp client (the controller has
 * nothing else to do while it waits for a verdict). */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctl.h"
#include "obs_err.h"

#define CTL_RESP_MAX (1024 * 1024)

struct ctl_http {
	struct event_base *base;
	char *host;
	int port;
	char hostport[300];
	struct timeval timeout;
};

/* What the request callback hands back to ctl_http_post. */
struct ctl_reply {
	struct event_base *base;
	int status; /* 0: no response */
	char *body;
	bool too_big;
	bool done;
};

int ctl_http_new(const char *url, obs_usec_t timeout, ctl_http_t **out, char *err, size_t errlen)
{
	*out = NULL;
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u ? evhttp_uri_get_host(u) : NULL;
	if (u == NULL || scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL) {
		snprintf(err, errlen, "%s: an http://HOST:PORT URL expected", url);
		if (u)
			evhttp_uri_free(u);
		return OBS_ESYNTAX;
	}
	ctl_http_t *h = calloc(1, sizeof(*h));
	if (h == NULL || (h->host = strdup(host)) == NULL || (h->base = event_base_new()) == NULL) {
		evhttp_uri_free(u);
		ctl_http_free(h);
		return OBS_ENOMEM;
	}
	h->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	snprintf(h->hostport, sizeof(h->hostport), "%s:%d", host, h->port);
	h->timeout.tv_sec = (time_t)(timeout / OBS_USEC_PER_SEC);
	h->timeout.tv_usec = (suseconds_t)(timeout % OBS_USEC_PER_SEC);
	evhttp_uri_free(u);
	*out = h;
	return OBS_EOK;
}

void ctl_http_free(ctl_http_t *h)
{
	if (h == NULL)
		return;
	if (h->base)
		event_base_free(h->base);
	free(h->host);
	free(h);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct ctl_reply *r = arg;
	r->done = true;
	if (req != NULL && evhttp_request_get_response_code(req) > 0) {
		r->status = evhttp_request_get_response_code(req);
		struct evbuffer *b = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(b);
		if (len > CTL_RESP_MAX) {
			r->too_big = true;
		} else if ((r->body = malloc(len + 1)) != NULL) {
			evbuffer_remove(b, r->body, len);
			r->body[len] = '\0';
		}
	}
	event_base_loopbreak(r->base);
}

int ctl_http_post(ctl_http_t *h, const char *path, const char *token, const char *body, int *status,
		  char **resp, char *err, size_t errlen)
{
	*status = 0;
	*resp = NULL;
	/* a fresh connection per request: obs-web may restart between two questions */
	struct evhttp_connection *c =
	    evhttp_connection_base_new(h->base, NULL, h->host, (unsigned short)h->port);
	if (c == NULL)
		return OBS_ENOMEM;
	evhttp_connection_set_timeout_tv(c, &h->timeout);
	evhttp_connection_set_retries(c, 0);
	struct ctl_reply r = {.base = h->base};
	struct evhttp_request *req = evhttp_request_new(on_reply, &r);
	if (req == NULL) {
		evhttp_connection_free(c);
		return OBS_ENOMEM;
	}
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char auth[512];
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	evhttp_add_header(hd, "Host", h->hostport);
	evhttp_add_header(hd, "Authorization", auth);
	evhttp_add_header(hd, "Content-Type", "application/json");
	evhttp_add_header(hd, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	/* on failure evhttp_make_request frees req */
	if (evhttp_make_request(c, req, EVHTTP_REQ_POST, path) != 0) {
		evhttp_connection_free(c);
		snprintf(err, errlen, "POST http://%s%s: cannot send the request", h->hostport,
			 path);
		return OBS_ENET;
	}
	while (!r.done && event_base_dispatch(h->base) == 0)
		;
	evhttp_connection_free(c);
	if (r.too_big) {
		snprintf(err, errlen, "POST http://%s%s: response over %d bytes", h->hostport, path,
			 CTL_RESP_MAX);
		return OBS_ETOOBIG;
	}
	if (r.status == 0) {
		free(r.body);
		snprintf(err, errlen, "POST http://%s%s: no response (refused or timed out)",
			 h->hostport, path);
		return OBS_ENET;
	}
	if (r.body == NULL)
		return OBS_ENOMEM;
	*status = r.status;
	*resp = r.body;
	return OBS_EOK;
}
