/* SPDX-License-Identifier: MIT */
/* obs-controller: the reference controller. It takes the steps of an operation (a plan) one at
 * a time, asks the whatif API of a running obs-web before each (DESIGN.md §10: go, wait,
 * stop, unknown), and applies a step only on go, through an outside command (the testbed's
 * `tb apply`). Modules: ctl_plan (the plan file), ctl_http (one POST over libevent's evhttp
 * client), ctl_run (the gate loop, the timeline, the record). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"

/* ---- the plan: "NAME OP ARG... [+ OP ARG...]" per line (tb plan NAME prints one) ---- */

typedef struct ctl_step {
	char *name;    /* step name, e.g. "ns-add-c" */
	char **words;  /* the step in the obs-analyzer whatif grammar, "+" between parts */
	int nwords;    /* at least 1 */
	char *text;    /* the words joined by spaces, for output */
	json_t *steps; /* the JSON step objects of the whatif request (owned) */
} ctl_step_t;

typedef struct ctl_plan {
	ctl_step_t *step;
	size_t n;
} ctl_plan_t;

/* Read the plan at path ("-": standard input). Lines may use a tab or spaces between the name
 * and the step; blank lines and lines starting with '#' are skipped. Every step is parsed
 * with the analyzer's own grammar (vd_steps_from_argv). Returns OBS_EOK, OBS_ESYNTAX (err
 * names file:line), OBS_ENOENT, OBS_ETOOBIG (more than CTL_PLAN_MAX steps), OBS_ENOMEM.
 * *out is owned by the caller (ctl_plan_free). */
#define CTL_PLAN_MAX 256
int ctl_plan_read(const char *path, const char *zone, ctl_plan_t *out, char *err, size_t errlen);
void ctl_plan_free(ctl_plan_t *p);

/* ---- one HTTP client (evhttp) ---- */

typedef struct ctl_http ctl_http_t;

/* url: http://HOST:PORT (no path). timeout: per request. Returns OBS_EOK, OBS_ESYNTAX (not an
 * http URL), OBS_ENOMEM. *out is owned by the caller (ctl_http_free). */
int ctl_http_new(const char *url, obs_usec_t timeout, ctl_http_t **out, char *err, size_t errlen);
void ctl_http_free(ctl_http_t *h);

/* POST body (application/json) to path with "Authorization: Bearer token". On OBS_EOK,
 * *status is the HTTP status and *resp the response body (NUL-terminated, owned by the
 * caller: free). OBS_ENET when there is no response (refused, timeout; reason in err),
 * OBS_ETOOBIG for a response over 1 MiB. */
int ctl_http_post(ctl_http_t *h, const char *path, const char *token, const char *body, int *status,
		  char **resp, char *err, size_t errlen);

/* ---- the run ---- */

typedef struct ctl_opts {
	const char *url;        /* obs-web, http://127.0.0.1:8053 */
	const char *zone;       /* example.lab. */
	const char *token;      /* the bearer token (not a path) */
	const char **apply;     /* the apply command's argv prefix; NULL-terminated */
	const char *label;      /* a name for this run in the output ("gated", ...) */
	obs_usec_t poll;        /* the observatory's poll period: re-ask interval (1 s) */
	obs_usec_t settle;      /* a verdict counts once its newest observation is this much
				   after the previous step was served (poll + 0.2 s) */
	obs_usec_t max_blocked; /* stop/unknown (or no answer) this long: halt (120 s) */
	obs_usec_t max_step;    /* any step waiting this long in all: halt (600 s) */
	obs_usec_t fixed_wait;  /* ungated: wait this long after the previous step was served */
	obs_usec_t timeout;     /* per HTTP request (5 s) */
	bool gate;              /* false: ask, print, ignore the verdict (violating runs) */
	FILE *tty;              /* the live timeline (stdout); never NULL */
	FILE *record;           /* JSON lines, one per step and a summary; may be NULL */
	obs_log_t log;
} ctl_opts_t;

/* Run the plan. Returns OBS_EOK when every step was applied; OBS_ELIMIT when the controller
 * halted (blocked too long: the reason and the last document are printed and recorded);
 * OBS_ERROR when the apply command failed; OBS_ENOMEM, OBS_ESYNTAX (bad URL). */
int ctl_run(const ctl_plan_t *plan, const ctl_opts_t *o);
