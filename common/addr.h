/* SPDX-License-Identifier: MIT */
/* Socket addresses written Knot-style: "127.0.0.1", "::1", "127.0.0.1@5353". */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define OBS_ADDR_STRLEN 64

typedef struct obs_addr {
	struct sockaddr_storage ss;
	socklen_t len;
} obs_addr_t;

/* Parse "ADDR" or "ADDR@PORT" (default_port when no port is given).
 * Returns OBS_EOK or OBS_ESYNTAX. */
int obs_addr_parse(const char *s, uint16_t default_port, obs_addr_t *out);

/* Build from a raw IPv4 (4 bytes) or IPv6 (16 bytes) address. */
int obs_addr_from_raw(const uint8_t *raw, size_t rawlen, uint16_t port, obs_addr_t *out);

/* "ADDR" when the port is 53, else "ADDR@PORT". Returns buf. */
char *obs_addr_format(const obs_addr_t *a, char *buf, size_t len);

bool obs_addr_equal(const obs_addr_t *a, const obs_addr_t *b);

/* True when the address is in 127.0.0.0/8 or is ::1. */
bool obs_addr_is_loopback(const obs_addr_t *a);
