/* SPDX-License-Identifier: MIT */
/* Audit (T-3, reference §3.3 and §5.6): every change a recorded history shows taken before it
 * was safe. A change is a version appearing at an origin; it was early when it opened a
 * predicted M0/M1 ERROR window (certain, not only allowed by the polls' uncertainty) with a
 * version resolvers could still hold: the change was safe from the window's end, so it was
 * early by (window end - change). The vantages whose observed glitches (oglitch.h) start
 * inside [change, window end + hold) are named as having paid for it. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "an_db.h"
#include "clock.h"
#include "sigv.h"

/* The audit document of zone up to `at`: {zone, at, hold, audit: [{change, origin, role,
 * changed_at, safe_from, early_by, ids[], tiers[], with[], vantages[]}]} (schemas/audit.schema
 * .json). hold: how long a vantage may keep failing after a window (bad-cache time; 0: 60 s).
 * Returns OBS_EOK, OBS_ENOENT, OBS_ESQL, OBS_ENOMEM, OBS_ELIMIT; *out owned by the caller. */
int au_audit(an_db_t *db, sigv_t *sv, const char *zone, obs_usec_t at, obs_usec_t hold,
	     json_t **out, char *err, size_t errlen);
