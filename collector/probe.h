/* SPDX-License-Identifier: MIT */
/* Queries: built once per series by ldns as a wire template (ID 0), then the ID is patched
 * per send. Answers: matched against the query (ID, QR, opcode, one question equal to ours)
 * before anything else looks at them (RFC 5452). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PROBE_RD 1u
#define PROBE_CD 2u
#define PROBE_DO 4u

#define PROBE_EDNS_BUFSIZE 1232
#define PROBE_MAX_QUERY    300

typedef struct probe_query {
	uint8_t *wire; /* the query with ID 0; owned, exactly len bytes */
	uint16_t len;
	uint16_t qname_len; /* the question name is wire[12 .. 12+qname_len) */
	uint16_t qtype;
	uint8_t flags; /* PROBE_* */
} probe_query_t;

/* Build the query for qname (presentation form) and qtype with PROBE_* flags; EDNS with a
 * 1232-byte buffer is always on. Returns OBS_EOK, OBS_ESYNTAX (bad name), OBS_ENOMEM or
 * OBS_EDNS. On success out->wire is allocated: release with probe_free(). */
int probe_build(const char *qname, uint16_t qtype, unsigned flags, probe_query_t *out);

/* Free the wire of a built query. NULL or an unbuilt (zeroed) query is a no-op. */
void probe_free(probe_query_t *q);

/* Write `id` into a wire image (the first two bytes). */
void probe_set_id(uint8_t *wire, uint16_t id);

/* Does resp (len bytes) answer q sent with `id`? OBS_EOK, or OBS_EMISMATCH (a well-formed
 * header that is not ours: other ID, QR=0, other opcode, other question) or OBS_EMALFORMED
 * (too short to tell). Header and question only; the rest is the guard's and ldns's job. */
int probe_match(const probe_query_t *q, uint16_t id, const uint8_t *resp, size_t len);
