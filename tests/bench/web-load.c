/* SPDX-License-Identifier: MIT */
/* Load generator for obs-web: C concurrent HTTP/1.1 clients on loopback (libevent's evhttp
 * client, one keep-alive connection each), each asking PATH N times in a row; prints the
 * number of answers by status, the median and 99th percentile latency and the rate.
 * Usage: web-load ADDR PORT PATH CLIENTS REQUESTS_PER_CLIENT */
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct load;

struct client {
	struct load *l;
	struct evhttp_connection *conn;
	int left;
	double sent;
};

struct load {
	struct event_base *base;
	const char *host, *path;
	double *lat;
	size_t n, cap;
	int ok, bad, active;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void send_one(struct client *c);

static void done(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	struct load *l = c->l;
	if (req && evhttp_request_get_response_code(req) == 200)
		l->ok++;
	else
		l->bad++;
	if (l->n < l->cap)
		l->lat[l->n++] = now_ms() - c->sent;
	if (--c->left > 0 && req) {
		send_one(c);
		return;
	}
	if (--l->active == 0)
		event_base_loopexit(l->base, NULL);
}

static void send_one(struct client *c)
{
	struct evhttp_request *req = evhttp_request_new(done, c);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", c->l->host);
	c->sent = now_ms();
	if (evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, c->l->path) != 0) {
		c->l->bad++;
		if (--c->l->active == 0)
			event_base_loopexit(c->l->base, NULL);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: web-load ADDR PORT PATH CLIENTS REQUESTS_PER_CLIENT\n");
		return 2;
	}
	int clients = atoi(argv[4]), per = atoi(argv[5]), port = atoi(argv[2]);
	if (clients < 1 || clients > 10000 || per < 1 || per > 100000 || port < 1 || port > 65535) {
		fprintf(stderr, "web-load: bad numbers\n");
		return 2;
	}
	struct load l = {.base = event_base_new(), .host = argv[1], .path = argv[3]};
	l.cap = (size_t)clients * (size_t)per;
	l.lat = calloc(l.cap, sizeof(*l.lat));
	struct client *cs = calloc((size_t)clients, sizeof(*cs));
	if (l.base == NULL || l.lat == NULL || cs == NULL)
		return 1;
	double t0 = now_ms();
	for (int i = 0; i < clients; i++) {
		cs[i].l = &l;
		cs[i].left = per;
		cs[i].conn = evhttp_connection_base_new(l.base, NULL, argv[1], (unsigned short)port);
		evhttp_connection_set_timeout(cs[i].conn, 30);
		l.active++;
		send_one(&cs[i]);
	}
	event_base_dispatch(l.base);
	double el = now_ms() - t0;
	qsort(l.lat, l.n, sizeof(*l.lat), cmp);
	printf("%d clients x %d requests: %d ok, %d failed; latency median %.1f ms, p99 %.1f ms; "
	       "%.0f requests/s\n",
	       clients, per, l.ok, l.bad, l.n ? l.lat[l.n / 2] : 0,
	       l.n ? l.lat[(size_t)((double)l.n * 0.99)] : 0, el > 0 ? l.n / (el / 1e3) : 0);
	for (int i = 0; i < clients; i++)
		evhttp_connection_free(cs[i].conn);
	free(cs);
	free(l.lat);
	event_base_free(l.base);
	return l.bad ? 1 : 0;
}
