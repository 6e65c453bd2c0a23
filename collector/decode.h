/* SPDX-License-Identifier: MIT */
/* Passive capture decoding, link layer to transport payload: Ethernet (with 802.1Q/802.1ad
 * VLAN tags), Linux cooked capture v1 and v2, raw IP, BSD loopback/null, IPv4 and IPv6 (with
 * extension headers), IP fragments reassembled in bounded memory, UDP, and TCP streams with
 * DNS length framing in both directions. Every read goes through a bounded cursor
 * (common/cursor.h); nothing reads past the captured length. DNS messages are not parsed here:
 * complete DNS messages are handed to a callback, which passes them to ldns.
 *
 * One dec_t holds the reassembly and stream state; it is fed frames in capture order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* libpcap link types (DLT_* / LINKTYPE_* values as stored in capture files) */
#define DEC_LINK_NULL       0
#define DEC_LINK_EN10MB     1
#define DEC_LINK_RAW        101 /* LINKTYPE_RAW; DLT_RAW is 12 or 14 on some systems, accepted too */
#define DEC_LINK_LOOP       108
#define DEC_LINK_LINUX_SLL  113
#define DEC_LINK_IPV4       228
#define DEC_LINK_IPV6       229
#define DEC_LINK_LINUX_SLL2 276

#define DEC_MAX_FRAG_DATAGRAMS 64 /* IP datagrams being reassembled at once */
#define DEC_FRAG_TIMEOUT_US    (30 * OBS_USEC_PER_SEC)
#define DEC_MAX_FLOWS          1024 /* TCP directions followed at once (oldest evicted) */
#define DEC_FLOW_TIMEOUT_US    (60 * OBS_USEC_PER_SEC)

/* One DNS message found in the capture. */
typedef struct dec_msg {
	obs_usec_t t;    /* capture time of the packet that completed the message */
	uint8_t family;  /* 4 or 6 */
	uint8_t src[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport, dport;
	uint8_t transport;  /* 0 UDP, 1 TCP */
	const uint8_t *dns; /* the DNS message (valid during the callback only) */
	size_t len;
} dec_msg_t;

/* Anomalies, each counted (nothing is dropped silently). */
typedef struct dec_stats {
	uint64_t frames;           /* frames fed */
	uint64_t messages;         /* DNS messages handed to the callback */
	uint64_t truncated;        /* frame shorter than its headers claim (snap length, cut) */
	uint64_t bad_header;       /* impossible header values (IHL < 5, bad lengths, ...) */
	uint64_t unsupported;      /* other link types, protocols, or non-DNS ports */
	uint64_t frag_reassembled; /* datagrams rebuilt from fragments */
	uint64_t frag_dropped;     /* fragments or datagrams given up: overlap, too big, timeout,
				      evicted (table full: the oldest goes) */
	uint64_t tcp_gaps;         /* out-of-order or missing TCP bytes: the stream was reset */
	uint64_t tcp_cut;          /* TCP streams that ended or were evicted mid-message */
	uint64_t tcp_evicted;      /* flows evicted because the table was full */
} dec_stats_t;

typedef struct dec dec_t;

typedef void (*dec_msg_fn)(void *arg, const dec_msg_t *m);

/* Create a decoder for one capture of link type `linktype`. Returns OBS_EOK, OBS_ENOMEM, or
 * OBS_EINVAL for a link type it cannot decode. */
int dec_new(int linktype, dec_msg_fn cb, void *arg, dec_t **out);

/* The capture ended: streams still holding part of a message count as tcp_cut, datagrams
 * still missing fragments as frag_dropped. Read the stats after this. */
void dec_finish(dec_t *d);

/* dec_finish(), then free. NULL is a no-op. */
void dec_free(dec_t *d);

/* Feed one captured frame: `caplen` bytes captured of a frame `wirelen` long, at time t.
 * Calls cb for every complete DNS message (UDP payloads to or from port 53, TCP port 53
 * streams with their 2-byte length framing). Never fails: problems are counted. */
void dec_frame(dec_t *d, obs_usec_t t, const uint8_t *frame, size_t caplen, size_t wirelen);

void dec_get_stats(const dec_t *d, dec_stats_t *out);
