/* SPDX-License-Identifier: MIT */
/* How a connection is followed without evhttp's internals: evhttp asks the bufferevent
 * callback for each accepted connection's bufferevent; we create it (a plain socket
 * bufferevent, as evhttp would), keep a reference, and activate a priority-0 event. That event
 * runs before any I/O of the new connection (evhttp's events have the lower priority 1),
 * when evhttp has set the bufferevent's callbacks: their argument is the evhttp_connection,
 * on which we set the close callback. If evhttp freed the connection first, the bufferevent's
 * callbacks were cleared (bufferevent_free) and our reference kept it valid to see that. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "conn.h"
#include "obs_err.h"

typedef struct wn_conn {
	wn_t *owner;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until learnt */
	struct event *learn;             /* the priority-0 one-shot */
	obs_usec_t opened;
	bool over; /* accepted over the cap */
	bool shut; /* shed by the sweep, not yet closed by evhttp */
	struct wn_conn *prev, *next;
} wn_conn_t;

struct wn {
	web_ctx_t *w;
	struct evconnlistener *listener;
	struct event *sweep;
	size_t cap;
	size_t open;
	wn_conn_t *head, *tail; /* oldest first */
	uint64_t accepted, refused, shed, paused_n;
	bool paused;
	bool reached; /* the cap was reached since the last sweep */
};

static void unlink_conn(wn_t *n, wn_conn_t *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		n->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		n->tail = c->prev;
	n->open--;
	if (n->paused && n->listener && n->open < n->cap + n->cap / 2) {
		evconnlistener_enable(n->listener);
		n->paused = false;
	}
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	wn_conn_t *c = arg;
	(void)evcon;
	unlink_conn(c->owner, c);
	if (c->learn)
		event_free(c->learn);
	free(c);
}

/* The priority-0 one-shot: learn the evhttp_connection of c. */
static void on_learn(evutil_socket_t fd, short what, void *arg)
{
	wn_conn_t *c = arg;
	(void)fd, (void)what;
	void *cbarg = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	struct bufferevent *bev = c->bev;
	if (cbarg == NULL) { /* evhttp already freed it (or never took it) */
		unlink_conn(c->owner, c);
		event_free(c->learn);
		free(c);
	} else {
		c->evcon = cbarg;
		evhttp_connection_set_closecb(c->evcon, on_close, c);
	}
	bufferevent_decref(bev);
}

static struct bufferevent *on_bev(struct event_base *base, void *arg)
{
	wn_t *n = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	wn_conn_t *c = calloc(1, sizeof(*c));
	if (bev == NULL || c == NULL || (c->learn = event_new(base, -1, 0, on_learn, c)) == NULL ||
	    event_priority_set(c->learn, 0) != 0) {
		/* not followed: evhttp still serves it (bev NULL: evhttp makes its own) */
		if (c && c->learn)
			event_free(c->learn);
		free(c);
		return bev;
	}
	c->owner = n;
	c->bev = bev;
	c->opened = obs_clock_now(&n->w->clock);
	c->over = n->open >= n->cap;
	n->reached |= c->over;
	c->prev = n->tail;
	if (n->tail)
		n->tail->next = c;
	else
		n->head = c;
	n->tail = c;
	n->open++;
	n->accepted++;
	bufferevent_incref(bev);
	event_active(c->learn, EV_TIMEOUT, 1);
	if (n->listener && !n->paused && n->open >= 2 * n->cap) {
		evconnlistener_disable(n->listener);
		n->paused = true;
		n->paused_n++;
		obs_log_fmt(&n->w->log, OBS_LOG_WARN, n->w->opts.listen,
			    "%zu connections open (cap %zu): not accepting until fewer than %zu",
			    n->open, n->cap, n->cap + n->cap / 2);
	}
	return bev;
}

/* When the cap was reached since the last sweep, shed the oldest connections (older than
 * WN_MIN_AGE) down to 7/8 of the cap, leaving room for new clients: an attacker holding exactly
 * the cap would otherwise lock every newcomer out. shutdown() makes evhttp see the end of the
 * stream and free the connection itself. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	wn_t *n = arg;
	(void)fd, (void)what;
	bool reached = n->reached || n->open >= n->cap;
	n->reached = false;
	size_t low = n->cap - n->cap / 8;
	if (!reached || n->open <= low)
		return;
	obs_usec_t now = obs_clock_now(&n->w->clock);
	size_t excess = n->open - low;
	for (wn_conn_t *c = n->head; c && excess > 0; c = c->next) {
		if (now - c->opened < WN_MIN_AGE)
			break; /* the list is oldest first */
		if (c->evcon == NULL || c->shut)
			continue;
		evutil_socket_t s = bufferevent_getfd(c->bev);
		if (s >= 0 && shutdown(s, SHUT_RDWR) == 0) {
			c->shut = true;
			n->shed++;
			excess--;
		}
	}
}

/* The cap the descriptor limit allows: 2 x cap + 64 descriptors at most. */
static size_t fit_cap(web_ctx_t *w, size_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	size_t fit = rl.rlim_cur > 64 + 2 * 8 ? (size_t)(rl.rlim_cur - 64) / 2 : 8;
	if (fit < want) {
		obs_log_fmt(&w->log, OBS_LOG_WARN, w->opts.listen,
			    "connection cap lowered from %zu to %zu by the descriptor limit %llu",
			    want, fit, (unsigned long long)rl.rlim_cur);
		return fit;
	}
	return want;
}

int wn_new(web_ctx_t *w, struct evhttp_bound_socket *bound, size_t want, wn_t **out)
{
	wn_t *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return OBS_ENOMEM;
	n->w = w;
	n->cap = fit_cap(w, want ? want : WN_DEFAULT_CAP);
	n->listener = bound ? evhttp_bound_socket_get_listener(bound) : NULL;
	struct timeval tv = {0, WN_SWEEP_USEC};
	if ((n->sweep = event_new(w->base, -1, EV_PERSIST, on_sweep, n)) == NULL ||
	    event_add(n->sweep, &tv) != 0) {
		wn_free(n);
		return OBS_ENOMEM;
	}
	evhttp_set_bevcb(w->http, on_bev, n);
	*out = n;
	return OBS_EOK;
}

void wn_free(wn_t *n)
{
	if (n == NULL)
		return;
	if (n->sweep)
		event_free(n->sweep);
	/* connections evhttp has not freed (none after evhttp_free) */
	for (wn_conn_t *c = n->head, *next; c; c = next) {
		next = c->next;
		if (c->evcon)
			evhttp_connection_set_closecb(c->evcon, NULL, NULL);
		if (c->learn)
			event_free(c->learn);
		free(c);
	}
	free(n);
}

bool wn_over(wn_t *n, struct evhttp_request *req)
{
	if (n == NULL || n->open <= n->cap)
		return false;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	for (wn_conn_t *c = n->tail; c; c = c->prev)
		if (c->evcon == evcon)
			return c->over;
	return false;
}

void wn_count_refused(wn_t *n)
{
	if (n)
		n->refused++;
}

void wn_stats(const wn_t *n, wn_stats_t *out)
{
	*out = (wn_stats_t){0};
	if (n == NULL)
		return;
	*out = (wn_stats_t){.open = n->open,
			    .cap = n->cap,
			    .accepted = n->accepted,
			    .refused = n->refused,
			    .shed = n->shed,
			    .paused = n->paused_n,
			    .listener_paused = n->paused};
}
