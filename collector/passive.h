/* SPDX-License-Identifier: MIT */
/* Passive observations: DNS messages decoded from a capture are paired (query with response,
 * matched on client and server address and port, ID and question) and stored through the
 * same store as active polls: a target per (client, server), a series per question and
 * flags, an observation per query with the answer's version, and the ports and response
 * time beside it. Unanswered queries and unmatched responses are stored as such. */
#pragma once

#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "decode.h"
#include "store.h"

#define PAS_WINDOW_US   (5 * OBS_USEC_PER_SEC) /* a query unanswered this long is stored as such */
#define PAS_MAX_PENDING 65536                  /* queries awaiting a response */

typedef struct pas pas_t;

typedef struct pas_stats {
	uint64_t queries, responses, paired, unanswered, unmatched;
	uint64_t malformed; /* messages that failed the guard or ldns */
	uint64_t evicted;   /* pending queries stored early because the table was full */
	uint64_t store_errors;
} pas_stats_t;

/* Create a pairer writing to store (borrowed). cfg (borrowed, may be NULL) names the zones
 * a question is attributed to. */
int pas_new(obs_store_t *store, const obs_config_t *cfg, pas_t **out);

/* Store every pending query as unanswered (the capture ended). */
void pas_finish(pas_t *p);

/* pas_finish(), then free. NULL is a no-op. */
void pas_free(pas_t *p);

/* A decoded DNS message (the decoder's callback; arg is the pas_t). */
void pas_message(void *arg, const dec_msg_t *m);

/* Store the queries still unanswered PAS_WINDOW_US before `now` (capture time). */
void pas_expire(pas_t *p, obs_usec_t now);

void pas_get_stats(const pas_t *p, pas_stats_t *out);
