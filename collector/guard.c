/* SPDX-License-Identifier: MIT */
#include "guard.h"
#include "obs_err.h"

#define T_OPT   41
#define T_TSIG  250
#define T_TXT   16
#define T_SPF   99
#define T_HINFO 13

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Walk one (possibly compressed) name starting at *off. Advances *off past the name as it
 * sits in the message. Pointers must point backwards, into the message after the header. */
static int walk_name(const uint8_t *w, size_t len, size_t *off, int *is_root)
{
	size_t pos = *off, end = 0, total = 0;
	int jumped = 0, labels = 0;
	for (;;) {
		if (pos >= len)
			return OBS_EMALFORMED;
		uint8_t l = w[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return OBS_EMALFORMED;
			size_t target = (size_t)(l & 0x3f) << 8 | w[pos + 1];
			if (target < 12 || target >= pos)
				return OBS_EMALFORMED; /* forward or self pointer, or into header */
			if (!jumped)
				end = pos + 2;
			jumped = 1;
			pos = target;
			if (++labels > 128)
				return OBS_EMALFORMED;
			continue;
		}
		if ((l & 0xc0) != 0)
			return OBS_EMALFORMED; /* extended label types */
		if (l == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		total += (size_t)l + 1;
		if (total > 255 || ++labels > 128)
			return OBS_EMALFORMED;
		pos += (size_t)l + 1;
	}
	if (is_root)
		*is_root = (total == 0);
	*off = end;
	return OBS_EOK;
}

static int count_strings(const uint8_t *rd, size_t rdlen, size_t *n)
{
	size_t pos = 0, k = 0;
	while (pos < rdlen) {
		pos += (size_t)rd[pos] + 1;
		if (++k > GUARD_MAX_STRINGS)
			return OBS_ETOOBIG;
	}
	if (pos != rdlen)
		return OBS_EMALFORMED;
	*n += k;
	return OBS_EOK;
}

int guard_check(const uint8_t *wire, size_t len, guard_info_t *info)
{
	if (len > GUARD_MAX_MSG)
		return OBS_ETOOBIG;
	if (len < 12)
		return OBS_EMALFORMED;
	uint16_t counts[4] = {rd16(wire + 4), rd16(wire + 6), rd16(wire + 8), rd16(wire + 10)};
	size_t rrs = (size_t)counts[1] + counts[2] + counts[3];
	if (counts[0] > 1)
		return OBS_EMALFORMED;
	if (rrs > GUARD_MAX_RRS)
		return OBS_ETOOBIG;
	if (rrs * 11 > len) /* a record needs at least 11 bytes */
		return OBS_EMALFORMED;

	size_t off = 12;
	for (unsigned i = 0; i < counts[0]; i++) {
		if (walk_name(wire, len, &off, NULL) != OBS_EOK || off + 4 > len)
			return OBS_EMALFORMED;
		off += 4;
	}
	size_t question_end = off;
	unsigned opts = 0, tsigs = 0;
	size_t strings = 0;
	for (size_t i = 0; i < rrs; i++) {
		int root = 0;
		if (walk_name(wire, len, &off, &root) != OBS_EOK || off + 10 > len)
			return OBS_EMALFORMED;
		uint16_t type = rd16(wire + off);
		uint16_t rdlen = rd16(wire + off + 8);
		off += 10;
		if (off + rdlen > len)
			return OBS_EMALFORMED;
		if (type == T_OPT && (++opts > 1 || !root || i < (size_t)counts[1] + counts[2]))
			return OBS_EMALFORMED;
		if (type == T_TSIG && ++tsigs > 1)
			return OBS_EMALFORMED; /* RFC 8945: FORMERR; ldns #317 leaks on it */
		if (type == T_TXT || type == T_SPF || type == T_HINFO) {
			int r = count_strings(wire + off, rdlen, &strings);
			if (r != OBS_EOK)
				return r;
			if (strings > GUARD_MAX_MSG_STRINGS)
				return OBS_ETOOBIG;
		}
		off += rdlen;
	}
	if (info) {
		info->id = rd16(wire);
		info->flags = rd16(wire + 2);
		for (int i = 0; i < 4; i++)
			info->counts[i] = counts[i];
		info->question_end = question_end;
	}
	return OBS_EOK;
}
