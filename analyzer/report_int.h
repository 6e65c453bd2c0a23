/* SPDX-License-Identifier: MIT */
/* Internal to the report module (report.c, report_html.c, report_pop.c): the data of one
 * zone's report and the JSON helpers. Not for other modules. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "oglitch.h"
#include "report.h"
#include "trans.h"

/* a segment of a vantage row: one outcome, or one set of cached keys */
typedef struct rep_rseg {
	obs_usec_t first, last, hi; /* hi: the next read with another value (INT64_MAX: none) */
	char value[512];
} rep_rseg_t;

typedef struct rep_row {
	char label[600];
	bool keys; /* a row of cached DNSKEY keys (else canary outcomes) */
	rep_rseg_t *segs;
	size_t n, cap;
} rep_row_t;

typedef struct rep_zone {
	const char *zone;
	obs_usec_t at;
	trans_set_t *ts;
	og_glitch_t *glitches;
	size_t glitches_n, glitches_cap;
	rep_row_t *rows;
	size_t rows_n, rows_cap;
	bool oom;
	json_t *predicted; /* vd_predicted's document (per-zone reports only), owned */
	json_t *audit;     /* au_audit's document (per-zone reports only), owned */
} rep_zone_t;

/* Load transitions and observed glitches of zone (and, with rows, the vantage rows). The
 * caller frees with rep_zone_free even on failure. */
int rep_zone_load(an_db_t *db, const char *zone, const rep_opts_t *o, bool rows, rep_zone_t *z);
void rep_zone_free(rep_zone_t *z);

int rep_html_zone(FILE *f, const rep_zone_t *z, const rep_opts_t *o);

json_t *rep_jtime(obs_usec_t t);
json_t *rep_jsecs(obs_usec_t d); /* null when negative */
json_t *rep_jlist(const char *l);
bool rep_in_period(const trans_t *t, obs_usec_t from, obs_usec_t to);
