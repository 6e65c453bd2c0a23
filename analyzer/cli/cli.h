/* SPDX-License-Identifier: MIT */
/* obs-analyzer's subcommands: one file each (cli_<verb>.c), one table in main.c. A command
 * gets the parsed common options and the remaining arguments, prints its result on stdout
 * (text, or JSON with --json) and returns an OBS_E* code; main prints the error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "an_db.h"
#include "clock.h"

typedef struct cli_ctx {
	const char *dbpath;
	an_db_t *db;      /* opened read-only, or writable for commands that write */
	const char *zone; /* --zone, NULL: every zone */
	obs_usec_t now;   /* the real time */
	obs_usec_t at;    /* --at (default: now) */
	bool json;
	bool predicted;           /* --predicted (glitches) */
	const struct vd_opts *vd; /* verdict options (--eps-safe, --max-age) */
	const char *format;       /* --format (report: text|json|html; export: csv|jsonl) */
	const char *out;          /* -o FILE (report), NULL: stdout */
	const char *what;         /* --what (export: versions|transitions|glitches) */
	const char *from_s;       /* --from (see cli_period) */
	const char *to_s;         /* --to */
	bool progress;            /* --progress: progress on stderr even when not a tty */
	int argc;                 /* operands after the verb */
	char **argv;
	char *err; /* a message for main to print (may stay "") */
	size_t errlen;
} cli_ctx_t;

typedef struct cli_cmd {
	const char *name;
	bool writes;   /* opens the analysis database writable */
	bool operands; /* needs at least one operand */
	int (*run)(cli_ctx_t *c);
	const char *usage; /* one line after "obs-analyzer " */
} cli_cmd_t;

/* Each zone of the database (or only c->zone) in order; fn is called once per zone and the
 * first error stops the loop. */
int cli_each_zone(cli_ctx_t *c, int (*fn)(cli_ctx_t *c, const char *zone, void *arg), void *arg);

/* Print a JSON document on stdout (indented, sorted keys), then a newline. */
void cli_print_json(const void *doc);

int cli_ingest(cli_ctx_t *c);
int cli_findings(cli_ctx_t *c);
int cli_glitches(cli_ctx_t *c);
int cli_status(cli_ctx_t *c);
int cli_whatif(cli_ctx_t *c);
int cli_audit(cli_ctx_t *c);
int cli_fetches(cli_ctx_t *c);
int cli_transitions(cli_ctx_t *c);
int cli_report(cli_ctx_t *c);
int cli_export(cli_ctx_t *c);

/* --from / --to as times (RFC 3339 or +/-SECONDS relative to now); INT64_MIN / INT64_MAX when
 * absent. Returns OBS_EOK or OBS_ESYNTAX (with a message in c->err). */
int cli_period(cli_ctx_t *c, obs_usec_t *from, obs_usec_t *to);
