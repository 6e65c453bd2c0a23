/* SPDX-License-Identifier: MIT */
/* All of the collector's socket I/O lives here. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "guard.h"
#include "obs_err.h"

#define ENG_SOCKS         16                  /* UDP sockets per address family */
#define ENG_TICK_US       5000                /* deadline and token refill resolution */
#define ENG_RECV_BATCH    256                 /* datagrams read per readiness event */
#define ENG_RECV_MMSG     16                  /* datagrams per recvmmsg */
#define ENG_RBUF          (GUARD_MAX_MSG + 1) /* one receive buffer: any datagram fits */
#define ENG_TCP_MAX_BYTES 262144 /* bytes read on one TCP connection before giving up */
#define ENG_RCVBUF        (4 << 20)
#define ENG_ROTATE_US     1000000 /* reopen an idle socket (new random port) this often */

#define ENG_BATCH 64 /* datagrams per sendmmsg */
/* UDP segmentation offload: equal-sized datagrams to one target leave as one send, which the
 * kernel (or the NIC) cuts into the same datagrams; the stack is crossed once per group */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define ENG_GSO_MAX   64    /* segments per send (the kernel's UDP_MAX_SEGMENTS) */
#define ENG_GSO_BYTES 60000 /* payload per send (below 65507, the UDP limit) */

#define SAW_MISMATCH  1u
#define SAW_MALFORMED 2u

struct eng_slot {
	eng_req_t *req;
	obs_usec_t deadline; /* monotonic */
	obs_usec_t sent_mono;
	obs_usec_t sent_real;
	struct bufferevent *bev; /* TCP only */
	eng_t *eng;
	uint32_t heap_idx;
	uint16_t id;
	uint16_t sock;
	uint8_t transport;
	uint8_t saw;
	bool used;
};

struct eng_sock {
	int fd;
	struct event *ev;
	eng_t *eng;
	uint32_t inflight; /* queries waiting for an answer on this socket */
	uint16_t port;     /* its local port */
	uint16_t index;
};

struct eng {
	struct event_base *base;
	const obs_clock_t *clock;
	eng_result_fn cb;
	void *cb_arg;
	struct event *tick;
	struct event *drain_ev; /* activated by read callbacks: one drain after all of them */

	struct eng_slot *slots;
	size_t nslots;
	uint32_t *free_list;
	size_t nfree;

	uint32_t *heap; /* slot indexes, min-heap by deadline */
	size_t heap_n;

	uint32_t *table; /* (sock, id) -> slot index + 1; 0 = empty */
	size_t table_cap;

	struct eng_sock socks[2 * ENG_SOCKS]; /* [0, ENG_SOCKS) IPv4, then IPv6 */

	eng_target_t *ready_head, *ready_tail;
	eng_tap_fn tap;
	void *tap_arg;
	const uint8_t *emit_hash; /* the wire hash of the answer being emitted, or NULL */
	bool no_offload;          /* eng_set_offload(false): no UDP segmentation offload */
	bool draining;            /* inside drain(): submissions only enqueue */
	bool deferring;           /* inside a read or tick callback: drain once at its end */

	/* datagrams built by drain() and sent together by flush() */
	struct mmsghdr msgs[ENG_BATCH];
	struct iovec iov[ENG_BATCH];
	/* flush(): the batch as sends (one datagram, or a GSO group of equal-sized ones) */
	struct mmsghdr umsgs[ENG_BATCH];
	struct iovec uiov[ENG_BATCH];                 /* in send order */
	uint8_t uorder[ENG_BATCH];                    /* batch index, send order */
	uint8_t ustart[ENG_BATCH], ucount[ENG_BATCH]; /* per send: its datagrams */
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
	} uctl[ENG_BATCH]; /* UDP_SEGMENT */
	uint8_t bufs[ENG_BATCH][PROBE_MAX_QUERY];
	uint32_t batch_slot[ENG_BATCH];
	size_t batch_n;
	uint16_t batch_sock[2]; /* the socket of this drain pass, per family */
	obs_usec_t rotated;     /* monotonic time of the last socket rotation */
	size_t rotate_next;

	uint8_t rnd[4096];
	size_t rnd_pos;

	uint8_t rbuf[GUARD_MAX_MSG + 1]; /* TCP */
	/* recvmmsg: ENG_RECV_MMSG buffers of ENG_RBUF bytes (heap; pages touched as used) */
	uint8_t *rbufs;
	struct mmsghdr rmsgs[ENG_RECV_MMSG];
	struct iovec riov[ENG_RECV_MMSG];
	struct sockaddr_storage rfrom[ENG_RECV_MMSG];
	eng_stats_t st;
};

/* ---- randomness ---- */

static uint32_t rnd32(eng_t *e)
{
	if (e->rnd_pos + 4 > sizeof(e->rnd)) {
		if (getrandom(e->rnd, sizeof(e->rnd), 0) != (ssize_t)sizeof(e->rnd)) {
			/* getrandom on Linux does not fail for this size once seeded */
			for (size_t i = 0; i < sizeof(e->rnd); i++)
				e->rnd[i] ^= (uint8_t)(obs_mono_now() >> (i % 8));
		}
		e->rnd_pos = 0;
	}
	uint32_t v;
	memcpy(&v, e->rnd + e->rnd_pos, 4);
	e->rnd_pos += 4;
	return v;
}

/* ---- the deadline heap ---- */

static void heap_swap(eng_t *e, size_t a, size_t b)
{
	uint32_t t = e->heap[a];
	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->slots[e->heap[a]].heap_idx = (uint32_t)a;
	e->slots[e->heap[b]].heap_idx = (uint32_t)b;
}

static obs_usec_t heap_key(const eng_t *e, size_t i)
{
	return e->slots[e->heap[i]].deadline;
}

static void heap_up(eng_t *e, size_t i)
{
	while (i > 0 && heap_key(e, (i - 1) / 2) > heap_key(e, i)) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(eng_t *e, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->heap_n && heap_key(e, l) < heap_key(e, m))
			m = l;
		if (r < e->heap_n && heap_key(e, r) < heap_key(e, m))
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_push(eng_t *e, uint32_t slot)
{
	e->heap[e->heap_n] = slot;
	e->slots[slot].heap_idx = (uint32_t)e->heap_n;
	e->heap_n++;
	heap_up(e, e->heap_n - 1);
}

static void heap_remove(eng_t *e, uint32_t slot)
{
	size_t i = e->slots[slot].heap_idx;
	e->heap_n--;
	if (i != e->heap_n) {
		heap_swap(e, i, e->heap_n);
		heap_down(e, i);
		heap_up(e, i);
	}
}

/* ---- the (socket, ID) table, linear probing with backward-shift deletion ---- */

static size_t tkey(uint16_t sock, uint16_t id, size_t cap)
{
	uint32_t k = (uint32_t)sock << 16 | id;
	k *= 2654435761u;
	return (size_t)k & (cap - 1);
}

static uint32_t table_find(const eng_t *e, uint16_t sock, uint16_t id)
{
	for (size_t i = tkey(sock, id, e->table_cap);; i = (i + 1) & (e->table_cap - 1)) {
		uint32_t v = e->table[i];
		if (v == 0)
			return UINT32_MAX;
		const struct eng_slot *s = &e->slots[v - 1];
		if (s->sock == sock && s->id == id)
			return v - 1;
	}
}

static void table_insert(eng_t *e, uint32_t slot)
{
	const struct eng_slot *s = &e->slots[slot];
	e->socks[s->sock].inflight++;
	size_t i = tkey(s->sock, s->id, e->table_cap);
	while (e->table[i] != 0)
		i = (i + 1) & (e->table_cap - 1);
	e->table[i] = slot + 1;
}

static void table_delete(eng_t *e, uint32_t slot)
{
	const struct eng_slot *s = &e->slots[slot];
	e->socks[s->sock].inflight--;
	size_t mask = e->table_cap - 1;
	size_t i = tkey(s->sock, s->id, e->table_cap);
	while (e->table[i] != slot + 1)
		i = (i + 1) & mask;
	for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
		uint32_t v = e->table[j];
		if (v == 0)
			break;
		const struct eng_slot *o = &e->slots[v - 1];
		size_t home = tkey(o->sock, o->id, e->table_cap);
		/* can o move into the hole at i? only if its home is not in (i, j] cyclically */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			e->table[i] = v;
			i = j;
		}
	}
	e->table[i] = 0;
}

/* ---- results ---- */

static void emit(eng_t *e, eng_req_t *r, enum store_status status, unsigned transport, obs_usec_t t,
		 obs_usec_t rtt, const ans_summary_t *ans, const uint8_t *wire, size_t wire_len,
		 bool final)
{
	const uint8_t *wire_hash = e->emit_hash;
	e->emit_hash = NULL;
	switch (status) {
	case ST_ANSWERED:
		e->st.answered++;
		break;
	case ST_TIMEOUT:
		e->st.timeout++;
		break;
	case ST_NETERR:
		e->st.neterr++;
		break;
	case ST_TRUNCATED:
		e->st.truncated++;
		break;
	case ST_MALFORMED:
		e->st.malformed++;
		break;
	case ST_MISMATCHED:
		e->st.mismatched++;
		break;
	case ST_UNMATCHED: /* passive capture only */
		break;
	case ST_DROPPED:
		e->st.dropped++;
		break;
	}
	if (final)
		r->busy = false;
	eng_result_t res = {.wire_hash = wire_hash,
			    .req = r,
			    .status = status,
			    .attempt = r->attempt,
			    .transport = transport,
			    .t = t,
			    .rtt = rtt,
			    .ans = ans,
			    .wire = wire,
			    .wire_len = wire_len,
			    .final = final};
	e->cb(e->cb_arg, &res);
}

static void slot_release(eng_t *e, uint32_t idx)
{
	struct eng_slot *s = &e->slots[idx];
	if (s->transport == 0)
		table_delete(e, idx);
	heap_remove(e, idx);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->used = false;
	s->req = NULL;
	e->free_list[e->nfree++] = idx;
	e->st.inflight--;
}

static void enqueue(eng_t *e, eng_req_t *r);
static void drain(eng_t *e);
static void rotate_sock(eng_t *e, obs_usec_t now);

/* An attempt ended without an answer: retry or give the final result. */
static void attempt_failed(eng_t *e, eng_req_t *r, enum store_status status, unsigned transport,
			   obs_usec_t t)
{
	bool retry = r->attempt < r->retries;
	emit(e, r, status, transport, t, -1, NULL, NULL, 0, !retry);
	if (retry) {
		r->attempt++;
		enqueue(e, r);
	}
}

/* ---- sending ---- */

/* One random socket per family for each drain pass, so a pass's datagrams leave in one
 * sendmmsg; the ports of the pool are random and IDs are random per query. */
static void pick_socks(eng_t *e)
{
	e->batch_sock[0] = (uint16_t)(rnd32(e) % ENG_SOCKS);
	e->batch_sock[1] = (uint16_t)(ENG_SOCKS + rnd32(e) % ENG_SOCKS);
}

static void tcp_start(eng_t *e, uint32_t idx);

/* Our source address towards t: what a connected UDP socket would use. */
static const obs_addr_t *local_of(eng_target_t *t)
{
	if (!t->local_known) {
		t->local_known = true;
		memset(&t->local, 0, sizeof(t->local));
		t->local.ss.ss_family = t->addr.ss.ss_family;
		t->local.len = t->addr.len;
		int fd = socket(t->addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			socklen_t l = sizeof(t->local.ss);
			if (connect(fd, (const struct sockaddr *)&t->addr.ss, t->addr.len) == 0)
				(void)getsockname(fd, (struct sockaddr *)&t->local.ss, &l);
			close(fd);
		}
	}
	return &t->local;
}

static void tap(eng_t *e, bool out, eng_target_t *t, uint16_t port, const obs_addr_t *remote,
		unsigned transport, const uint8_t *msg, size_t len)
{
	obs_addr_t local = *local_of(t);
	if (local.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&local.ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&local.ss)->sin_port = htons(port);
	e->tap(e->tap_arg, obs_clock_now(e->clock), out, &local, remote, transport, msg, len);
}

void eng_set_offload(eng_t *e, bool on)
{
	e->no_offload = !on;
}

void eng_set_tap(eng_t *e, eng_tap_fn fn, void *arg)
{
	e->tap = fn;
	e->tap_arg = arg;
}

/* Send the datagrams of the batch whose indexes are idx[0..n) one by one (sendmmsg), all on
 * socket sock. A datagram the kernel refuses fails its attempt. Returns how many left. */
static size_t send_each(eng_t *e, uint16_t sock, const uint8_t *idx, size_t n)
{
	struct mmsghdr m[ENG_BATCH];
	for (size_t j = 0; j < n; j++)
		m[j] = e->msgs[idx[j]];
	size_t sent = 0;
	for (size_t i = 0; i < n;) {
		int k = sendmmsg(e->socks[sock].fd, m + i, (unsigned)(n - i), 0);
		if (k < 0)
			k = 0;
		for (size_t j = i; e->tap && j < i + (size_t)k; j++) {
			struct eng_slot *s = &e->slots[e->batch_slot[idx[j]]];
			tap(e, true, s->req->target, e->socks[sock].port, &s->req->target->addr, 0,
			    e->bufs[idx[j]], e->iov[idx[j]].iov_len);
		}
		sent += (size_t)k;
		/* the datagram at i + k failed (if any): fail it, go on with the rest */
		if ((size_t)k < n - i) {
			uint32_t slot = e->batch_slot[idx[i + (size_t)k]];
			struct eng_slot *s = &e->slots[slot];
			eng_req_t *r = s->req;
			obs_usec_t t = s->sent_real;
			slot_release(e, slot);
			attempt_failed(e, r, ST_NETERR, 0, t);
			k++;
		}
		i += (size_t)k;
	}
	return sent;
}

/* Group the batch into sends: datagrams of one socket, one target and one length go together
 * (up to ENG_GSO_MAX of them) unless the target refused segmentation offload before. */
static size_t group_batch(eng_t *e, size_t n)
{
	bool taken[ENG_BATCH] = {false};
	size_t units = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		if (taken[i])
			continue;
		const struct eng_slot *si = &e->slots[e->batch_slot[i]];
		const eng_target_t *t = si->req->target;
		size_t len = e->iov[i].iov_len, start = o;
		taken[i] = true;
		e->uorder[o++] = (uint8_t)i;
		for (size_t j = i + 1;
		     j < n && !t->gso_off && !e->no_offload && o - start < ENG_GSO_MAX &&
		     (o - start + 1) * len <= ENG_GSO_BYTES;
		     j++) {
			const struct eng_slot *sj = &e->slots[e->batch_slot[j]];
			if (!taken[j] && sj->sock == si->sock && sj->req->target == t &&
			    e->iov[j].iov_len == len) {
				taken[j] = true;
				e->uorder[o++] = (uint8_t)j;
			}
		}
		e->ustart[units] = (uint8_t)start;
		e->ucount[units] = (uint8_t)(o - start);
		units++;
	}
	for (size_t u = 0; u < units; u++) {
		size_t first = e->uorder[e->ustart[u]], cnt = e->ucount[u];
		for (size_t j = 0; j < cnt; j++)
			e->uiov[e->ustart[u] + j] = e->iov[e->uorder[e->ustart[u] + j]];
		e->umsgs[u] =
		    (struct mmsghdr){.msg_hdr = {.msg_name = e->msgs[first].msg_hdr.msg_name,
						 .msg_namelen = e->msgs[first].msg_hdr.msg_namelen,
						 .msg_iov = &e->uiov[e->ustart[u]],
						 .msg_iovlen = cnt}};
		if (cnt > 1) {
			struct msghdr *h = &e->umsgs[u].msg_hdr;
			h->msg_control = e->uctl[u].buf;
			h->msg_controllen = sizeof(e->uctl[u].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)e->iov[first].iov_len;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
	}
	return units;
}

static void flush(eng_t *e)
{
	size_t n = e->batch_n;
	e->batch_n = 0;
	if (n == 0)
		return;
	size_t units = group_batch(e, n);
	size_t u = 0;
	while (u < units) {
		uint16_t sock = e->slots[e->batch_slot[e->uorder[e->ustart[u]]]].sock;
		size_t run = 1;
		while (u + run < units &&
		       e->slots[e->batch_slot[e->uorder[e->ustart[u + run]]]].sock == sock)
			run++;
		int k = sendmmsg(e->socks[sock].fd, e->umsgs + u, (unsigned)run, 0);
		if (k < 0)
			k = 0;
		for (size_t v = u; v < u + (size_t)k; v++)
			e->st.gso += e->ucount[v] > 1 ? e->ucount[v] : 0;
		for (size_t v = u; e->tap && v < u + (size_t)k; v++) {
			for (size_t j = 0; j < e->ucount[v]; j++) {
				size_t b = e->uorder[e->ustart[v] + j];
				struct eng_slot *s = &e->slots[e->batch_slot[b]];
				tap(e, true, s->req->target, e->socks[sock].port,
				    &s->req->target->addr, 0, e->bufs[b], e->iov[b].iov_len);
			}
		}
		/* the send at u + k failed (if any): its datagrams go one by one; when that works,
		 * segmentation offload was the trouble and is not used for this target again */
		if ((size_t)k < run) {
			size_t v = u + (size_t)k;
			const uint8_t *idx = &e->uorder[e->ustart[v]];
			eng_target_t *t = e->slots[e->batch_slot[idx[0]]].req->target;
			if (send_each(e, sock, idx, e->ucount[v]) > 0 && e->ucount[v] > 1 &&
			    !t->gso_off) {
				t->gso_off = true;
				e->st.gso_off++;
			}
			k++;
		}
		u += (size_t)k;
	}
}

/* now_real and now_mono: the drain pass's clock readings (one pair per pass, not per query) */
static void send_udp(eng_t *e, eng_req_t *r, obs_usec_t now_real, obs_usec_t now_mono)
{
	int v6 = r->target->addr.ss.ss_family == AF_INET6;
	uint16_t sock = e->batch_sock[v6];
	e->st.sent++;
	if (e->socks[sock].fd < 0) {
		attempt_failed(e, r, ST_NETERR, 0, now_real);
		return;
	}
	uint32_t idx = e->free_list[--e->nfree];
	struct eng_slot *s = &e->slots[idx];
	memset(s, 0, sizeof(*s));
	s->eng = e;
	s->req = r;
	s->used = true;
	s->sock = sock;
	s->sent_real = now_real;
	s->sent_mono = now_mono;
	s->deadline = s->sent_mono + r->timeout;
	e->st.inflight++;
	heap_push(e, idx);
	do {
		s->id = (uint16_t)rnd32(e);
	} while (table_find(e, s->sock, s->id) != UINT32_MAX);
	table_insert(e, idx);

	size_t b = e->batch_n++;
	memcpy(e->bufs[b], r->q.wire, r->q.len);
	probe_set_id(e->bufs[b], s->id);
	e->iov[b] = (struct iovec){.iov_base = e->bufs[b], .iov_len = r->q.len};
	e->msgs[b] = (struct mmsghdr){.msg_hdr = {.msg_name = &r->target->addr.ss,
						  .msg_namelen = r->target->addr.len,
						  .msg_iov = &e->iov[b],
						  .msg_iovlen = 1}};
	e->batch_slot[b] = idx;
	if (e->batch_n == ENG_BATCH)
		flush(e);
}

static bool take_token(eng_target_t *t, obs_usec_t now)
{
	double cap = t->rate > 0 ? (double)t->rate : 1.0;
	if (cap < 1.0)
		cap = 1.0;
	t->tokens += (double)(now - t->refilled) * (double)t->rate / 1e6;
	if (t->tokens > cap)
		t->tokens = cap;
	t->refilled = now;
	if (t->tokens < 1.0)
		return false;
	t->tokens -= 1.0;
	return true;
}

static void ready_push(eng_t *e, eng_target_t *t)
{
	if (t->in_ready)
		return;
	t->in_ready = true;
	t->ready_next = NULL;
	if (e->ready_tail)
		e->ready_tail->ready_next = t;
	else
		e->ready_head = t;
	e->ready_tail = t;
}

static void enqueue(eng_t *e, eng_req_t *r)
{
	eng_target_t *t = r->target;
	if (t->queued >= ENG_MAX_QUEUE) {
		emit(e, r, ST_DROPPED, 0, obs_clock_now(e->clock), -1, NULL, NULL, 0, true);
		return;
	}
	r->next = NULL;
	if (t->qtail)
		t->qtail->next = r;
	else
		t->qhead = r;
	t->qtail = r;
	t->queued++;
	e->st.queued++;
	ready_push(e, t);
}

/* Send what the bounds allow: passes of round-robin over the targets with queued requests,
 * one request per target per pass, until a pass sends nothing (no tokens) or slots run out. */
static void drain(eng_t *e)
{
	if (e->draining || e->deferring)
		return;
	e->draining = true;
	pick_socks(e);
	obs_usec_t now = obs_mono_now(), now_real = obs_clock_now(e->clock);
	bool progress = true;
	while (progress && e->nfree > 0 && e->ready_head) {
		progress = false;
		eng_target_t *end = e->ready_tail;
		for (;;) {
			eng_target_t *t = e->ready_head;
			e->ready_head = t->ready_next;
			if (e->ready_head == NULL)
				e->ready_tail = NULL;
			t->in_ready = false;
			if (t->qhead && take_token(t, now)) {
				eng_req_t *r = t->qhead;
				t->qhead = r->next;
				if (t->qhead == NULL)
					t->qtail = NULL;
				t->queued--;
				e->st.queued--;
				send_udp(e, r, now_real, now);
				progress = true;
			}
			if (t->qhead)
				ready_push(e, t);
			if (t == end || e->nfree == 0 || e->ready_head == NULL)
				break;
		}
	}
	flush(e);
	e->draining = false;
}

int eng_submit(eng_t *e, eng_req_t *r)
{
	if (r->busy)
		return OBS_EAGAIN;
	r->busy = true;
	r->attempt = 0;
	enqueue(e, r);
	drain(e);
	return OBS_EOK;
}

void eng_cancel_target(eng_t *e, eng_target_t *t)
{
	while (t->qhead) {
		eng_req_t *r = t->qhead;
		t->qhead = r->next;
		t->queued--;
		e->st.queued--;
		r->busy = false;
	}
	t->qtail = NULL;
	if (t->in_ready) {
		eng_target_t **pp = &e->ready_head, *prev = NULL;
		while (*pp && *pp != t) {
			prev = *pp;
			pp = &(*pp)->ready_next;
		}
		if (*pp) {
			*pp = t->ready_next;
			if (e->ready_tail == t)
				e->ready_tail = prev;
		}
		t->in_ready = false;
	}
}

/* ---- receiving ---- */

/* Keep a complete answer as the request's last one (when memory allows; else no fast path). */
static void remember(eng_req_t *r, const uint8_t *msg, size_t len, const uint8_t *hash,
		     const ans_summary_t *ans)
{
	if (r->last == NULL || r->last->len != len) {
		struct eng_last *l = realloc(r->last, sizeof(*l) + len);
		if (l == NULL) {
			free(r->last);
			r->last = NULL;
			return;
		}
		r->last = l;
	}
	ans_brief_save(&r->last->brief, ans);
	memcpy(r->last->hash, hash, ANS_HASH_LEN);
	r->last->len = len;
	memcpy(r->last->wire, msg, len);
	r->last->wire[0] = r->last->wire[1] = 0;
}

/* A message that matched the query: guard, parse, and finish the attempt. Returns false when
 * the message did not pass (the attempt keeps waiting). */
static bool deliver(eng_t *e, uint32_t idx, const uint8_t *msg, size_t len)
{
	struct eng_slot *s = &e->slots[idx];
	eng_req_t *r = s->req;
	uint8_t hash[ANS_HASH_LEN];
	ans_summary_t ans;
	/* byte comparison (ID aside) with the last answer, which passed the guard and parsed:
	 * cheaper than guarding and hashing every answer */
	bool fast = r->last && !r->full_parse && r->last->len == len && len >= 2 &&
		    memcmp(msg + 2, r->last->wire + 2, len - 2) == 0;
	if (fast) {
		memcpy(hash, r->last->hash, sizeof(hash));
		ans_brief_load(&r->last->brief, &ans);
		e->st.fast++;
	} else {
		if (guard_check(msg, len, NULL) != OBS_EOK) {
			s->saw |= SAW_MALFORMED;
			return false;
		}
		ans_wire_hash(msg, len, hash);
		char qname[256];
		/* the question name in presentation form, for matching RRsets */
		size_t pos = 12, o = 0;
		while (pos < 12u + r->q.qname_len && r->q.wire[pos] != 0) {
			uint8_t l = r->q.wire[pos++];
			for (uint8_t i = 0; i < l && o + 5 < sizeof(qname); i++, pos++)
				qname[o++] = (char)r->q.wire[pos];
			qname[o++] = '.';
		}
		if (o == 0)
			qname[o++] = '.';
		qname[o] = '\0';
		if (ans_parse(msg, len, qname, r->q.qtype, &ans) != OBS_EOK) {
			s->saw |= SAW_MALFORMED;
			return false;
		}
	}
	obs_usec_t rtt = obs_mono_now() - s->sent_mono;
	obs_usec_t t = s->sent_real;
	unsigned transport = s->transport;
	bool truncated = (ans.flags & ANS_F_TC) && transport == 0;
	if (truncated) {
		emit(e, r, ST_TRUNCATED, 0, t, rtt, &ans, msg, len, false);
		ans_summary_clear(&ans);
		tcp_start(e, idx);
		return true;
	}
	if (!fast && !r->full_parse && len >= 2)
		remember(r, msg, len, hash, &ans);
	slot_release(e, idx);
	e->emit_hash = hash;
	emit(e, r, ST_ANSWERED, transport, t, rtt, &ans, msg, len, true);
	ans_summary_clear(&ans);
	return true;
}

void eng_req_clear(eng_req_t *r)
{
	free(r->last);
	r->last = NULL;
}

static bool same_addr(const struct sockaddr_storage *from, socklen_t flen, const obs_addr_t *a)
{
	obs_addr_t f;
	memset(&f, 0, sizeof(f));
	memcpy(&f.ss, from, flen < sizeof(f.ss) ? flen : sizeof(f.ss));
	f.len = flen;
	return obs_addr_equal(&f, a);
}

/* One datagram read from socket sk. */
static void udp_datagram(eng_t *e, struct eng_sock *sk, const struct sockaddr_storage *from,
			 socklen_t flen, const uint8_t *msg, size_t len)
{
	if (len < 2) {
		e->st.stray++;
		return;
	}
	uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
	uint32_t idx = table_find(e, sk->index, id);
	if (idx == UINT32_MAX) {
		e->st.stray++;
		return;
	}
	struct eng_slot *s = &e->slots[idx];
	if (e->tap) {
		obs_addr_t remote = {.len = flen};
		memcpy(&remote.ss, from, flen < sizeof(remote.ss) ? flen : sizeof(remote.ss));
		tap(e, false, s->req->target, sk->port, &remote, 0, msg, len);
	}
	if (!same_addr(from, flen, &s->req->target->addr) ||
	    probe_match(&s->req->q, id, msg, len) != OBS_EOK) {
		s->saw |= SAW_MISMATCH;
		e->st.spoofed++;
		return;
	}
	(void)deliver(e, idx, msg, len);
}

/* Datagrams are read ENG_RECV_MMSG at a time (recvmmsg), up to ENG_RECV_BATCH per event. */
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct eng_sock *sk = arg;
	eng_t *e = sk->eng;
	e->deferring = true; /* resubmissions from callbacks leave together at the end */
	for (int got = 0; got < ENG_RECV_BATCH;) {
		for (size_t i = 0; i < ENG_RECV_MMSG; i++) {
			e->riov[i] = (struct iovec){.iov_base = e->rbufs + i * ENG_RBUF,
						    .iov_len = ENG_RBUF};
			e->rmsgs[i] =
			    (struct mmsghdr){.msg_hdr = {.msg_name = &e->rfrom[i],
							 .msg_namelen = sizeof(e->rfrom[i]),
							 .msg_iov = &e->riov[i],
							 .msg_iovlen = 1}};
		}
		int n = recvmmsg(fd, e->rmsgs, ENG_RECV_MMSG, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN, or an ICMP error we cannot attribute */
		for (int i = 0; i < n; i++)
			udp_datagram(e, sk, &e->rfrom[i], e->rmsgs[i].msg_hdr.msg_namelen,
				     e->rbufs + (size_t)i * ENG_RBUF, e->rmsgs[i].msg_len);
		got += n;
		if (n < (int)ENG_RECV_MMSG)
			break; /* the socket is empty now */
	}
	e->deferring = false;
	/* the other sockets that are readable in this loop iteration are read first; their
	 * resubmissions then leave together in one drain (fewer, fuller sendmmsg calls) */
	event_active(e->drain_ev, EV_TIMEOUT, 0);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

/* ---- TCP ---- */

static void tcp_fail(eng_t *e, uint32_t idx)
{
	struct eng_slot *s = &e->slots[idx];
	eng_req_t *r = s->req;
	obs_usec_t t = s->sent_real;
	enum store_status st = (s->saw & SAW_MALFORMED) ? ST_MALFORMED : ST_NETERR;
	slot_release(e, idx);
	attempt_failed(e, r, st, 1, t);
	drain(e);
}

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct eng_slot *s = arg;
	eng_t *e = s->eng;
	uint32_t idx = (uint32_t)(s - e->slots);
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t have = evbuffer_get_length(in);
		if (have < 2)
			return;
		uint8_t lb[2];
		evbuffer_copyout(in, lb, 2);
		size_t mlen = (size_t)lb[0] << 8 | lb[1];
		if (have < 2 + mlen)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, e->rbuf, mlen);
		uint16_t id = mlen >= 2 ? (uint16_t)(e->rbuf[0] << 8 | e->rbuf[1]) : 0;
		if (mlen < 12 || id != s->id ||
		    probe_match(&s->req->q, s->id, e->rbuf, mlen) != OBS_EOK) {
			s->saw |= SAW_MISMATCH;
			e->st.spoofed++;
			continue;
		}
		if (e->tap) {
			struct sockaddr_storage ls;
			socklen_t ll = sizeof(ls);
			uint16_t lport = 0;
			if (getsockname(bufferevent_getfd(bev), (struct sockaddr *)&ls, &ll) == 0)
				lport = ntohs(ls.ss_family == AF_INET6
						  ? ((struct sockaddr_in6 *)&ls)->sin6_port
						  : ((struct sockaddr_in *)&ls)->sin_port);
			uint8_t q[PROBE_MAX_QUERY];
			memcpy(q, s->req->q.wire, s->req->q.len);
			probe_set_id(q, s->id);
			tap(e, true, s->req->target, lport, &s->req->target->addr, 1, q,
			    s->req->q.len);
			tap(e, false, s->req->target, lport, &s->req->target->addr, 1, e->rbuf,
			    mlen);
		}
		if (deliver(e, idx, e->rbuf, mlen)) {
			drain(e);
			return; /* the slot (and bev) is gone */
		}
	}
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct eng_slot *s = arg;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		tcp_fail(s->eng, (uint32_t)(s - s->eng->slots));
}

/* Turn the slot into a TCP attempt of the same request (after TC=1). */
static void tcp_start(eng_t *e, uint32_t idx)
{
	struct eng_slot *s = &e->slots[idx];
	table_delete(e, idx);
	s->transport = 1;
	s->saw = 0;
	s->sent_real = obs_clock_now(e->clock);
	s->sent_mono = obs_mono_now();
	s->deadline = s->sent_mono + s->req->timeout;
	heap_remove(e, idx);
	heap_push(e, idx);
	s->id = (uint16_t)rnd32(e);
	e->st.tcp++;
	e->st.sent++;

	s->bev = bufferevent_socket_new(e->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		tcp_fail(e, idx);
		return;
	}
	bufferevent_setcb(s->bev, tcp_read_cb, NULL, tcp_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 2, ENG_TCP_MAX_BYTES);
	uint8_t buf[PROBE_MAX_QUERY + 2];
	buf[0] = (uint8_t)(s->req->q.len >> 8);
	buf[1] = (uint8_t)s->req->q.len;
	memcpy(buf + 2, s->req->q.wire, s->req->q.len);
	probe_set_id(buf + 2, s->id);
	bufferevent_write(s->bev, buf, s->req->q.len + 2u);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	const eng_target_t *t = s->req->target;
	if (bufferevent_socket_connect(s->bev, (const struct sockaddr *)&t->addr.ss,
				       (int)t->addr.len) != 0)
		tcp_fail(e, idx);
}

/* ---- the tick: deadlines and token refills ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	eng_t *e = arg;
	obs_usec_t now = obs_mono_now();
	e->deferring = true;
	while (e->heap_n > 0 && e->slots[e->heap[0]].deadline <= now) {
		uint32_t idx = e->heap[0];
		struct eng_slot *s = &e->slots[idx];
		eng_req_t *r = s->req;
		enum store_status st = ST_TIMEOUT;
		if (s->saw & SAW_MALFORMED)
			st = ST_MALFORMED;
		else if (s->saw & SAW_MISMATCH)
			st = ST_MISMATCHED;
		unsigned transport = s->transport;
		obs_usec_t t = s->sent_real;
		slot_release(e, idx);
		attempt_failed(e, r, st, transport, t);
	}
	e->deferring = false;
	drain(e);
	rotate_sock(e, now);
}

/* ---- life cycle ---- */

/* (Re)open socket i of the pool on a fresh random port. */
static int open_sock(eng_t *e, size_t i)
{
	struct eng_sock *sk = &e->socks[i];
	if (sk->ev) {
		event_free(sk->ev);
		sk->ev = NULL;
	}
	if (sk->fd >= 0)
		close(sk->fd);
	sk->fd = -1;
	sk->eng = e;
	sk->index = (uint16_t)i;
	int family = i < ENG_SOCKS ? AF_INET : AF_INET6;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return OBS_ENET; /* no IPv6 here: IPv6 targets get NETERR */
	int rcv = ENG_RCVBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (family == AF_INET6) {
		int on = 1;
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	struct sockaddr_storage any = {.ss_family = (sa_family_t)family};
	socklen_t alen =
	    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (struct sockaddr *)&any, alen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&any, &alen) != 0) {
		close(fd);
		return OBS_ENET; /* the kernel picks a random free port */
	}
	sk->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&any)->sin6_port
					    : ((struct sockaddr_in *)&any)->sin_port);
	sk->ev = event_new(e->base, fd, EV_READ | EV_PERSIST, udp_read_cb, sk);
	if (sk->ev == NULL || event_add(sk->ev, NULL) != 0) {
		close(fd);
		return OBS_ENOMEM;
	}
	sk->fd = fd;
	return OBS_EOK;
}

static int open_socks(eng_t *e)
{
	for (size_t i = 0; i < 2 * ENG_SOCKS; i++) {
		e->socks[i].fd = -1;
		int r = open_sock(e, i);
		if (r == OBS_ENOMEM)
			return r;
	}
	return e->socks[0].fd >= 0 ? OBS_EOK : OBS_ENET;
}

/* Source ports change over time: now and then an idle socket of the pool is reopened on a
 * new random port, so a day of polling spreads over thousands of ports (RFC 5452 §9.2). */
static void rotate_sock(eng_t *e, obs_usec_t now)
{
	if (now - e->rotated < ENG_ROTATE_US)
		return;
	e->rotated = now;
	for (size_t k = 0; k < 2 * ENG_SOCKS; k++) {
		size_t i = (e->rotate_next + k) % (2 * ENG_SOCKS);
		if (e->socks[i].fd >= 0 && e->socks[i].inflight == 0) {
			(void)open_sock(e, i);
			e->rotate_next = i + 1;
			e->st.rotations++;
			return;
		}
	}
}

int eng_new(struct event_base *base, const obs_clock_t *clock, size_t max_inflight,
	    eng_result_fn cb, void *arg, eng_t **out)
{
	*out = NULL;
	if (max_inflight == 0 || max_inflight > 1000000)
		return OBS_EINVAL;
	eng_t *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return OBS_ENOMEM;
	e->base = base;
	e->clock = clock;
	e->cb = cb;
	e->cb_arg = arg;
	e->rnd_pos = sizeof(e->rnd);
	e->nslots = max_inflight;
	e->table_cap = 16;
	while (e->table_cap < 2 * max_inflight)
		e->table_cap *= 2;
	e->slots = calloc(max_inflight, sizeof(*e->slots));
	e->free_list = calloc(max_inflight, sizeof(*e->free_list));
	e->heap = calloc(max_inflight, sizeof(*e->heap));
	e->table = calloc(e->table_cap, sizeof(*e->table));
	e->rbufs = malloc((size_t)ENG_RECV_MMSG * ENG_RBUF);
	int ret = OBS_ENOMEM;
	if (!e->slots || !e->free_list || !e->heap || !e->table || !e->rbufs)
		goto fail;
	for (size_t i = 0; i < max_inflight; i++)
		e->free_list[i] = (uint32_t)(max_inflight - 1 - i);
	e->nfree = max_inflight;
	if ((ret = open_socks(e)) != OBS_EOK)
		goto fail;
	e->tick = event_new(base, -1, EV_PERSIST, tick_cb, e);
	e->drain_ev = event_new(base, -1, 0, drain_cb, e);
	struct timeval tv = {0, ENG_TICK_US};
	if (e->tick == NULL || e->drain_ev == NULL || event_add(e->tick, &tv) != 0) {
		ret = OBS_ENOMEM;
		goto fail;
	}
	*out = e;
	return OBS_EOK;
fail:
	eng_free(e);
	return ret;
}

void eng_free(eng_t *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; e->slots && i < e->nslots; i++) {
		if (e->slots[i].bev)
			bufferevent_free(e->slots[i].bev);
		if (e->slots[i].req)
			e->slots[i].req->busy = false;
	}
	for (size_t i = 0; i < 2 * ENG_SOCKS; i++) {
		if (e->socks[i].ev)
			event_free(e->socks[i].ev);
		if (e->socks[i].fd >= 0 && e->socks[i].ev)
			close(e->socks[i].fd);
	}
	if (e->tick)
		event_free(e->tick);
	if (e->drain_ev)
		event_free(e->drain_ev);
	free(e->slots);
	free(e->free_list);
	free(e->heap);
	free(e->table);
	free(e->rbufs);
	free(e);
}

void eng_target_init(eng_target_t *t, const obs_addr_t *addr, uint64_t rate)
{
	memset(t, 0, sizeof(*t));
	t->addr = *addr;
	t->rate = rate;
	t->tokens = rate > 0 ? (double)rate : 1.0;
	t->refilled = obs_mono_now();
}

void eng_get_stats(const eng_t *e, eng_stats_t *out)
{
	*out = e->st;
}

bool eng_idle(const eng_t *e)
{
	return e->st.inflight == 0 && e->st.queued == 0;
}
