/* SPDX-License-Identifier: MIT */
/* Reports (DESIGN §6 "Reports"): transitions as JSON (schemas/transitions.schema.json), the
 * per-zone report (text, JSON per schemas/report.schema.json, self-contained HTML with SVG
 * timelines) and the population report over many zones (transitions per period by kind,
 * glitch-minutes, steps taken early, parent pick-up latency per parent, resolvers that
 * violate TTLs). Times are RFC 3339 UTC with milliseconds, durations seconds as numbers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "an_db.h"
#include "clock.h"
#include "oglitch.h"
#include "trans.h"

/* One transition / event as a JSON object; NULL on allocation failure. The caller owns it. */
json_t *rep_trans_json(const trans_set_t *s, const trans_t *t);
json_t *rep_event_json(const trans_set_t *s, size_t i);

/* {"zone", "at", "poll", "transitions": [...]} for transitions whose window meets [from, to]
 * (INT64_MIN / INT64_MAX: unbounded); NULL on allocation failure. */
json_t *rep_transitions_doc(const trans_set_t *s, obs_usec_t from, obs_usec_t to);

/* One line per transition, then its phases, indented. */
void rep_transitions_text(FILE *f, const trans_set_t *s, obs_usec_t from, obs_usec_t to);

enum rep_format { REP_TEXT = 0, REP_JSON, REP_HTML };

typedef struct rep_opts {
	enum rep_format format;
	obs_usec_t from, to; /* the period reported (INT64_MIN / INT64_MAX: all) */
	obs_usec_t at;       /* the analysis instant (data after it is ignored) */
	bool progress;       /* progress on stderr for the population report */
} rep_opts_t;

/* The report of one zone, written to f. Returns OBS_EOK, OBS_ESQL, OBS_ENOMEM or OBS_ENET
 * (a write failed). */
int rep_zone(an_db_t *db, const char *zone, const rep_opts_t *o, FILE *f);

/* The population report over every zone of db (or the NULL-terminated list zones), to f. */
int rep_population(an_db_t *db, const char *const *zones, const rep_opts_t *o, FILE *f);

/* Glitch as JSON (for exports); wraps report_json's layout with the zone. */
json_t *rep_glitch_json(const char *zone, const og_glitch_t *g);

/* Escape text for HTML (&, <, >, ", ' and control characters) into f. */
void rep_html_escape(FILE *f, const char *s);
