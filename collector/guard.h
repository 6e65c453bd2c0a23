/* SPDX-License-Identifier: MIT */
/* The pre-scan guard: a bounded walk over a DNS message before ldns sees it, so one hostile
 * answer cannot cost hundreds of MiB or seconds of CPU (ldns 1.8.3 parses a 65 KB TXT bomb
 * into 750 MiB). It checks sizes and counts only; it is a guard, not a parser. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define GUARD_MAX_MSG         65535 /* largest DNS message */
#define GUARD_MAX_RRS         4096  /* records over all sections */
#define GUARD_MAX_STRINGS     256   /* character-strings in one TXT-like RDATA */
#define GUARD_MAX_MSG_STRINGS 2048  /* character-strings in the whole message */

/* What the guard learnt on the way (valid only when guard_check returned OBS_EOK). */
typedef struct guard_info {
	uint16_t id;
	uint16_t flags; /* the 16 header flag bits as on the wire */
	uint16_t counts[4];
	size_t question_end; /* offset just past the question section */
} guard_info_t;

/* Check `wire` (len bytes). Returns OBS_EOK, OBS_ETOOBIG (size or count caps) or
 * OBS_EMALFORMED (truncated, bad names, compression loops, RDLENGTH past the end, more than
 * one OPT or TSIG, OPT not at the root). info may be NULL. */
int guard_check(const uint8_t *wire, size_t len, guard_info_t *info);
