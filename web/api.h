/* SPDX-License-Identifier: MIT */
/* The JSON API under /api/v1/ (documents described in schemas/api-*.schema.json; status and
 * whatif are the analyzer's verdict documents, verdict.h). Every SQL statement binds its
 * parameters; every document is built and escaped by jansson. */
#pragma once

#include <stdio.h>

#include "http.h"
#include "web.h"

/* Handle a request whose path starts with /api/v1 (r->seg[0..1]). Always replies. */
void wa_handle(wh_req_t *r);

/* Validate a zone name taken from a URL segment and normalise it (trailing dot added) into
 * out (at least 256 bytes). Returns OBS_EOK or OBS_ESYNTAX. */
int wa_zone_name(const char *in, char *out, size_t outlen);

/* True when zone has targets in the analysis database. */
bool wa_zone_known(web_ctx_t *w, const char *zone);

/* --once-check: build every document of every zone once (status and whatif errors are
 * reported, not fatal); print one line per document to out. Returns OBS_EOK or the first
 * error of a document obs-web itself builds. */
int wa_check_all(web_ctx_t *w, FILE *out);
