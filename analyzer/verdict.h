/* SPDX-License-Identifier: MIT */
/* Verdicts (DESIGN.md §10, reference §5.7): the zone's status and the controller's question,
 * "may I take this step now?", answered from the cache-state model (model.h) as JSON
 * documents (schemas/status.schema.json, schemas/whatif.schema.json). Shared by the
 * obs-analyzer CLI and obs-web. Fail-safe: stale or incomplete data gives "unknown", never
 * "go". Nothing is printed; errors go to err. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "an_db.h"
#include "clock.h"
#include "sigv.h"

/* The default safety margin added to every earliest time: none. The conservative bounds
 * already hold the observation uncertainty (a replaced version counts as served until the
 * first poll that saw it gone) and the clock offsets measured between collectors; raise it
 * (--eps-safe) to cover clock error between the observatory and the resolvers. */
#define VD_EPS_SAFE_DEFAULT 0

typedef struct vd_opts {
	obs_usec_t eps_safe; /* margin added to earliest times; < 0: VD_EPS_SAFE_DEFAULT */
	obs_usec_t max_age;  /* data older than this at `at` is stale (0: poll period + 2 s) */
	obs_usec_t now;      /* the real time (0: not known, no check): a poll of the zone stamped
			      * more than VD_FUTURE_TOLERANCE after it means a collector's wall
			      * clock runs ahead or was stepped, and the answer is unknown */
} vd_opts_t;

/* How far after `now` a poll may be stamped before it counts as a clock anomaly. */
#define VD_FUTURE_TOLERANCE (30 * OBS_USEC_PER_SEC)

/* The status document of zone at `at`: {zone, at, status, reasons[], glitches[] (predicted,
 * open at `at`), data_age, model_hash}. opts may be NULL (defaults).
 * Returns OBS_EOK, OBS_ENOENT (zone not in the database), OBS_ESQL, OBS_ENOMEM, OBS_ELIMIT.
 * *out is owned by the caller (json_decref). */
int vd_status(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, const vd_opts_t *opts,
	      json_t **out, char *err, size_t errlen);

/* Answer a whatif request {"zone", "at" (optional, RFC 3339; default: now), "steps": [...]}
 * (DESIGN.md §10 step objects) with the verdict document {zone, at, steps, verdict,
 * earliest_safe, earliest_safe_m2, policy_earliest, by_profile, blocking[], status,
 * model_hash, valid_until, data_age}. A malformed request or step gives OBS_ESYNTAX with the
 * reason in err (for an HTTP 400); an unknown zone OBS_ENOENT (404).
 * *out is owned by the caller. */
int vd_whatif(an_db_t *db, sigv_t *sv, const json_t *request, obs_usec_t now, const vd_opts_t *opts,
	      json_t **out, char *err, size_t errlen);

/* Parse CLI steps (argv: "OP ARG... [+ OP ARG...]", DESIGN.md §10) into the JSON request
 * {"zone", "at", "steps"}. Returns OBS_EOK or OBS_ESYNTAX (reason in err). */
int vd_steps_from_argv(int argc, char **argv, const char *zone, obs_usec_t at, json_t **out,
		       char *err, size_t errlen);

/* The predicted glitch windows of zone up to `at` (Algorithm A, default profile, every tier):
 * {zone, at, model_hash, data_age, predicted: [{id, tier, severity, a, b, server, windows:
 * [{lo, hi}], reason}]} (schemas/predicted.schema.json). */
int vd_predicted(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, json_t **out, char *err,
		 size_t errlen);
