/* SPDX-License-Identifier: MIT */
/* JSON documents of the analyzer (jansson): findings (schemas/findings.schema.json) and
 * observed glitches (schemas/glitches.schema.json). Times are RFC 3339 UTC with milliseconds,
 * durations seconds as numbers, an open window has "hi": null. */
#pragma once

#include <jansson.h>

#include "clock.h"
#include "detect.h"
#include "oglitch.h"

/* An RFC 3339 time with milliseconds; null for the infinities (open windows). */
json_t *rj_time(obs_usec_t t);

/* A new document {"zone", "at", "<array_key>": []}; NULL on allocation failure. */
json_t *rj_document(const char *zone, obs_usec_t at, const char *array_key);

/* Append one finding / glitch / vantage to the document's array. */
int rj_add_finding(json_t *doc, const det_finding_t *f);
int rj_add_glitch(json_t *doc, const og_glitch_t *g);
int rj_add_vantage(json_t *doc, const og_vantage_t *v);
