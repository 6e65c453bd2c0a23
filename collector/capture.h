/* SPDX-License-Identifier: MIT */
/* Passive capture with libpcap: a live interface on the collector's event loop (TPACKET_V3
 * blocks, a BPF filter for port 53 that keeps IP fragments, a snap length that holds whole
 * DNSKEY answers, drops recorded per stats window) or a pcap / pcapng file read to its end.
 * Frames go through the decoder (decode.h) to the pairer (passive.h) and the store. */
#pragma once

#include <event2/event.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"
#include "log.h"
#include "passive.h"
#include "store.h"

#define CAP_SNAPLEN 262144
#define CAP_FILTER  "port 53 or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)"

typedef struct cap cap_t;

typedef struct cap_stats {
	uint64_t received, dropped, ifdropped; /* libpcap's, live only */
	dec_stats_t dec;
	pas_stats_t pas;
} cap_stats_t;

/* Read a whole capture file (pcap or pcapng) into the store. Errors name the file. */
int cap_read_file(const char *path, obs_store_t *store, const obs_config_t *cfg, obs_usec_t now,
		  const obs_log_t *log, cap_stats_t *out);

/* Start a live capture on iface, driven by base; stats (drops per window) are stored every
 * stats_interval. clock gives window times. */
int cap_open_live(struct event_base *base, const char *iface, obs_store_t *store,
		  const obs_config_t *cfg, const obs_clock_t *clock, obs_usec_t stats_interval,
		  const obs_log_t *log, cap_t **out);

/* Stop, store what is pending, free. NULL is a no-op. */
void cap_free(cap_t *c);

void cap_get_stats(const cap_t *c, cap_stats_t *out);

/* Store the counters of a capture (decoder anomalies, pairing) under "pcap_*" names. */
int cap_store_counters(obs_store_t *store, obs_usec_t t, const cap_stats_t *st);
