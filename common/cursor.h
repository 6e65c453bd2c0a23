/* SPDX-License-Identifier: MIT */
/* A bounded read cursor over a byte buffer with a sticky error (after Knot's wire_ctx):
 * every read checks what remains; after the first short read every read returns 0 and
 * obs_cur_ok() is false. Used to decode link, IP, UDP and TCP headers; DNS messages are
 * left to ldns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct obs_cur {
	const uint8_t *p;
	const uint8_t *end;
	bool err;
} obs_cur_t;

static inline obs_cur_t obs_cur_init(const uint8_t *p, size_t len)
{
	return (obs_cur_t){.p = p, .end = p + len, .err = false};
}

static inline size_t obs_cur_left(const obs_cur_t *c)
{
	return c->err ? 0 : (size_t)(c->end - c->p);
}

static inline bool obs_cur_ok(const obs_cur_t *c)
{
	return !c->err;
}

/* The current position, to hand the rest of the buffer on (with obs_cur_left bytes). */
static inline const uint8_t *obs_cur_ptr(const obs_cur_t *c)
{
	return c->p;
}

static inline bool obs_cur_need(obs_cur_t *c, size_t n)
{
	if (c->err || (size_t)(c->end - c->p) < n) {
		c->err = true;
		return false;
	}
	return true;
}

static inline uint8_t obs_cur_u8(obs_cur_t *c)
{
	if (!obs_cur_need(c, 1))
		return 0;
	return *c->p++;
}

static inline uint16_t obs_cur_u16(obs_cur_t *c) /* network order */
{
	if (!obs_cur_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return v;
}

static inline uint16_t obs_cur_u16le(obs_cur_t *c)
{
	if (!obs_cur_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)(c->p[1] << 8 | c->p[0]);
	c->p += 2;
	return v;
}

static inline uint32_t obs_cur_u32(obs_cur_t *c) /* network order */
{
	if (!obs_cur_need(c, 4))
		return 0;
	uint32_t v =
	    (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return v;
}

static inline uint32_t obs_cur_u32le(obs_cur_t *c)
{
	if (!obs_cur_need(c, 4))
		return 0;
	uint32_t v =
	    (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
	c->p += 4;
	return v;
}

static inline void obs_cur_skip(obs_cur_t *c, size_t n)
{
	if (obs_cur_need(c, n))
		c->p += n;
}

/* Copy n bytes out; on a short buffer dst is zeroed and the cursor fails. */
static inline void obs_cur_bytes(obs_cur_t *c, void *dst, size_t n)
{
	if (!obs_cur_need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
}

/* A sub-cursor over the next n bytes (consumed from c). */
static inline obs_cur_t obs_cur_sub(obs_cur_t *c, size_t n)
{
	if (!obs_cur_need(c, n))
		return (obs_cur_t){.p = c->p, .end = c->p, .err = true};
	obs_cur_t s = obs_cur_init(c->p, n);
	c->p += n;
	return s;
}
