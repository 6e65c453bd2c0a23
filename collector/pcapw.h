/* SPDX-License-Identifier: MIT */
/* Writing the collector's own traffic to a pcap file (-w FILE), so an active run can be
 * replayed with `run -r` and audited in Wireshark. Frames are raw IP (LINKTYPE_RAW) with
 * IPv4/IPv6 and UDP or TCP headers built here around each DNS message (TCP messages carry
 * their 2-byte length prefix; one segment per message). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"

typedef struct pw pw_t;

/* Open path for writing (truncated). Errors go to err. */
int pw_open(const char *path, pw_t **out, char *err, size_t errlen);

/* One DNS message from src to dst at time t; transport 0 UDP, 1 TCP. */
void pw_write(pw_t *w, obs_usec_t t, const obs_addr_t *src, const obs_addr_t *dst,
	      unsigned transport, const uint8_t *msg, size_t len);

/* Flush and close. NULL is a no-op. */
void pw_close(pw_t *w);
