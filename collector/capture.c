/* SPDX-License-Identifier: MIT */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "obs_err.h"

#define CAP_BUFFER (64 << 20)
/* Not immediate mode: libpcap then uses TPACKET_V3, whose blocks hold packets at their
 * captured length, so the 64 MiB ring holds seconds of DNS traffic. Immediate mode means
 * TPACKET_V2, one fixed frame of the snap length (capped at lo's 64 KiB MTU) per packet: about
 * a thousand packets, 25 ms at 20,000 q/s, and any longer stall of the loop (a commit) dropped
 * packets. The kernel hands over a block when it is full or CAP_TIMEOUT_MS old. */
#define CAP_TIMEOUT_MS 10
#define CAP_POLL_US    100000 /* dispatch even without readiness (libpcap #364, #380) */

struct cap {
	pcap_t *pcap;
	dec_t *dec;
	pas_t *pas;
	obs_store_t *store;
	const obs_clock_t *clock;
	const obs_log_t *log;
	struct event *rd, *poll, *stats;
	int64_t capture_id;
	obs_usec_t window_start;
	struct pcap_stat last;
	uint64_t received, dropped, ifdropped;
	char iface[64];
};

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	dec_t *d = (dec_t *)arg;
	/* files are opened with nanosecond precision, live captures with microseconds */
	obs_usec_t t = (obs_usec_t)h->ts.tv_sec * OBS_USEC_PER_SEC + h->ts.tv_usec;
	dec_frame(d, t, bytes, h->caplen, h->len);
}

static void on_packet_nano(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	dec_t *d = (dec_t *)arg;
	obs_usec_t t = (obs_usec_t)h->ts.tv_sec * OBS_USEC_PER_SEC + h->ts.tv_usec / 1000;
	dec_frame(d, t, bytes, h->caplen, h->len);
}

int cap_store_counters(obs_store_t *store, obs_usec_t t, const cap_stats_t *st)
{
	const struct {
		const char *name;
		uint64_t v;
	} rows[] = {
	    {"pcap_received", st->received},
	    {"pcap_dropped", st->dropped},
	    {"pcap_ifdropped", st->ifdropped},
	    {"pcap_frames", st->dec.frames},
	    {"pcap_messages", st->dec.messages},
	    {"pcap_truncated", st->dec.truncated},
	    {"pcap_bad_header", st->dec.bad_header},
	    {"pcap_unsupported", st->dec.unsupported},
	    {"pcap_frag_reassembled", st->dec.frag_reassembled},
	    {"pcap_frag_dropped", st->dec.frag_dropped},
	    {"pcap_tcp_gaps", st->dec.tcp_gaps},
	    {"pcap_tcp_cut", st->dec.tcp_cut},
	    {"pcap_tcp_evicted", st->dec.tcp_evicted},
	    {"pcap_queries", st->pas.queries},
	    {"pcap_responses", st->pas.responses},
	    {"pcap_paired", st->pas.paired},
	    {"pcap_unanswered", st->pas.unanswered},
	    {"pcap_unmatched", st->pas.unmatched},
	    {"pcap_malformed", st->pas.malformed},
	    {"pcap_evicted", st->pas.evicted},
	    {"pcap_store_errors", st->pas.store_errors},
	};
	enum { N = sizeof(rows) / sizeof(rows[0]) };
	const char *names[N];
	uint64_t values[N];
	for (size_t i = 0; i < N; i++) {
		names[i] = rows[i].name;
		values[i] = rows[i].v;
	}
	return store_counters(store, t, names, values, N);
}

int cap_read_file(const char *path, obs_store_t *store, const obs_config_t *cfg, obs_usec_t now,
		  const obs_log_t *log, cap_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	if (p == NULL) {
		obs_log_fmt(log, OBS_LOG_ERR, path, "cannot read the capture: %s", err);
		return OBS_EINVAL;
	}
	pas_t *pas = NULL;
	dec_t *dec = NULL;
	int ret = pas_new(store, cfg, &pas);
	if (ret == OBS_EOK)
		ret = dec_new(pcap_datalink(p), pas_message, pas, &dec);
	if (ret != OBS_EOK) {
		obs_log_fmt(log, OBS_LOG_ERR, path, "cannot decode link type %d: %s",
			    pcap_datalink(p), obs_strerror(ret));
		pas_free(pas);
		pcap_close(p);
		return ret;
	}
	char source[600];
	snprintf(source, sizeof(source), "file:%s", path);
	int64_t cid = 0;
	(void)store_capture_open(store, source, pcap_datalink(p), pcap_snapshot(p), now, &cid);
	int rc = pcap_dispatch(p, -1, on_packet_nano, (u_char *)dec);
	if (rc == PCAP_ERROR) {
		obs_log_fmt(log, OBS_LOG_WARN, path, "capture ends with an error: %s",
			    pcap_geterr(p));
	}
	dec_finish(dec);
	dec_get_stats(dec, &out->dec);
	dec_free(dec);
	pas_finish(pas); /* the queries still pending are unanswered */
	pas_get_stats(pas, &out->pas);
	pas_free(pas);
	pcap_close(p);
	(void)store_capture_close(store, cid, now);
	(void)cap_store_counters(store, now, out);
	return store_commit(store);
}

/* ---- live ---- */

/* Read what the kernel holds: pcap_dispatch() hands over at most one buffer (block) per call,
 * so call it until it has nothing more, at most `rounds` times (the loop has other work). */
static void dispatch(cap_t *c, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		int n = pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c->dec);
		if (n == PCAP_ERROR)
			obs_log_fmt(c->log, OBS_LOG_WARN, c->iface, "capture: %s",
				    pcap_geterr(c->pcap));
		if (n <= 0)
			break;
	}
	pas_expire(c->pas, obs_clock_now(c->clock));
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dispatch(arg, 8);
}

static void stats_window(cap_t *c, obs_usec_t now)
{
	struct pcap_stat ps;
	if (pcap_stats(c->pcap, &ps) != 0)
		return;
	/* libpcap's counters are cumulative (and 32-bit): store the differences */
	uint32_t recv = ps.ps_recv - c->last.ps_recv, drop = ps.ps_drop - c->last.ps_drop,
		 ifdrop = ps.ps_ifdrop - c->last.ps_ifdrop;
	c->received += recv;
	c->dropped += drop;
	c->ifdropped += ifdrop;
	c->last = ps;
	(void)store_capture_stats(c->store, c->capture_id, c->window_start, now, recv, drop,
				  ifdrop);
	if (drop || ifdrop)
		obs_log_fmt(c->log, OBS_LOG_WARN, c->iface,
			    "capture dropped %u packets (kernel) and %u (interface) in this window",
			    drop, ifdrop);
	c->window_start = now;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dispatch(arg, 8);
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cap_t *c = arg;
	obs_usec_t now = obs_clock_now(c->clock);
	stats_window(c, now);
	cap_stats_t st;
	cap_get_stats(c, &st);
	(void)cap_store_counters(c->store, now, &st);
}

int cap_open_live(struct event_base *base, const char *iface, obs_store_t *store,
		  const obs_config_t *cfg, const obs_clock_t *clock, obs_usec_t stats_interval,
		  const obs_log_t *log, cap_t **out)
{
	*out = NULL;
	char err[PCAP_ERRBUF_SIZE] = "";
	cap_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OBS_ENOMEM;
	snprintf(c->iface, sizeof(c->iface), "%s", iface);
	c->store = store;
	c->clock = clock;
	c->log = log;
	int ret = OBS_EINVAL;
	c->pcap = pcap_create(iface, err);
	if (c->pcap == NULL || pcap_set_snaplen(c->pcap, CAP_SNAPLEN) != 0 ||
	    pcap_set_promisc(c->pcap, 0) != 0 || pcap_set_immediate_mode(c->pcap, 0) != 0 ||
	    pcap_set_timeout(c->pcap, CAP_TIMEOUT_MS) != 0 ||
	    pcap_set_buffer_size(c->pcap, CAP_BUFFER) != 0 || pcap_activate(c->pcap) < 0) {
		obs_log_fmt(log, OBS_LOG_ERR, iface, "cannot capture: %s",
			    c->pcap ? pcap_geterr(c->pcap) : err);
		goto fail;
	}
	struct bpf_program prog;
	if (pcap_compile(c->pcap, &prog, CAP_FILTER, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
	    pcap_setfilter(c->pcap, &prog) != 0) {
		obs_log_fmt(log, OBS_LOG_ERR, iface, "capture filter: %s", pcap_geterr(c->pcap));
		pcap_freecode(&prog);
		goto fail;
	}
	pcap_freecode(&prog);
	if (pcap_setnonblock(c->pcap, 1, err) != 0) {
		obs_log_fmt(log, OBS_LOG_ERR, iface, "capture: %s", err);
		goto fail;
	}
	if ((ret = pas_new(store, cfg, &c->pas)) != OBS_EOK ||
	    (ret = dec_new(pcap_datalink(c->pcap), pas_message, c->pas, &c->dec)) != OBS_EOK) {
		obs_log_fmt(log, OBS_LOG_ERR, iface, "cannot decode link type %d",
			    pcap_datalink(c->pcap));
		goto fail;
	}
	char source[100];
	snprintf(source, sizeof(source), "live:%s", iface);
	c->window_start = obs_clock_now(clock);
	(void)store_capture_open(store, source, pcap_datalink(c->pcap), CAP_SNAPLEN,
				 c->window_start, &c->capture_id);
	int fd = pcap_get_selectable_fd(c->pcap);
	struct timeval ptv = {0, CAP_POLL_US};
	struct timeval stv = {(time_t)(stats_interval / OBS_USEC_PER_SEC),
			      (suseconds_t)(stats_interval % OBS_USEC_PER_SEC)};
	c->rd = fd >= 0 ? event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c) : NULL;
	c->poll = event_new(base, -1, EV_PERSIST, poll_cb, c);
	c->stats = event_new(base, -1, EV_PERSIST, stats_cb, c);
	ret = OBS_ENOMEM;
	if ((fd >= 0 && (c->rd == NULL || event_add(c->rd, NULL) != 0)) || c->poll == NULL ||
	    c->stats == NULL || event_add(c->poll, &ptv) != 0 || event_add(c->stats, &stv) != 0)
		goto fail;
	obs_log_fmt(log, OBS_LOG_INFO, iface, "capturing DNS (link type %d, filter \"%s\")",
		    pcap_datalink(c->pcap), CAP_FILTER);
	*out = c;
	return OBS_EOK;
fail:
	cap_free(c);
	return ret;
}

void cap_get_stats(const cap_t *c, cap_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	out->received = c->received;
	out->dropped = c->dropped;
	out->ifdropped = c->ifdropped;
	if (c->dec)
		dec_get_stats(c->dec, &out->dec);
	if (c->pas)
		pas_get_stats(c->pas, &out->pas);
}

void cap_free(cap_t *c)
{
	if (c == NULL)
		return;
	if (c->pcap && c->dec) {
		/* the last block is handed over once its timeout has passed */
		dispatch(c, 1 << 20);
		struct timespec ts = {0, 3 * CAP_TIMEOUT_MS * 1000000L};
		nanosleep(&ts, NULL);
		dispatch(c, 1 << 20); /* everything still in the kernel's buffer */
		obs_usec_t now = obs_clock_now(c->clock);
		stats_window(c, now);
		dec_finish(c->dec);
		pas_finish(c->pas);
		cap_stats_t st;
		cap_get_stats(c, &st);
		(void)cap_store_counters(c->store, now, &st);
		(void)store_capture_close(c->store, c->capture_id, now);
	}
	if (c->rd)
		event_free(c->rd);
	if (c->poll)
		event_free(c->poll);
	if (c->stats)
		event_free(c->stats);
	dec_free(c->dec);
	pas_free(c->pas);
	if (c->pcap)
		pcap_close(c->pcap);
	free(c);
}
