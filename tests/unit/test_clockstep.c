/* SPDX-License-Identifier: MIT */
/* Wall-clock step detection (reliability target E4, C10): the detector alone, the collector
 * with both clocks injected (log, counter, clock_step row) and the collector migration. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clockstep.h"
#include "collector.h"
#include "config.h"
#include "obs_err.h"

#define S OBS_USEC_PER_SEC

/* one check: how far each clock advanced since the previous one, and the step expected */
struct tick {
	obs_usec_t dreal, dmono;
	bool step;
	obs_usec_t size; /* expected step_us when step */
};

static const struct {
	const char *name;
	struct tick ticks[6];
	size_t n;
} cases[] = {
    {"steady", {{S, S, false, 0}, {S, S, false, 0}, {30 * S, 30 * S, false, 0}}, 3},
    {"forward 5 min", {{S, S, false, 0}, {301 * S, S, true, 300 * S}, {S, S, false, 0}}, 3},
    {"back 1 h", {{S, S, false, 0}, {S - 3600 * S, S, true, -3600 * S}, {S, S, false, 0}}, 3},
    {"forward 1 day", {{86400 * S + 2 * S, 2 * S, true, 86400 * S}}, 1},
    {"jitter under 1 s is no step",
     {{S + S / 2, S, false, 0},
      {S - S * 9 / 10, S, false, 0},
      {S, S + S * 99 / 100, false, 0},
      {S + S, S, false, 0}},
     4},
    {"just over 1 s is a step", {{2 * S + 1, S, true, S + 1}, {1, S + 2, true, -S - 1}}, 2},
};

Test(clockstep, detector_table)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		cstep_t st = {0};
		obs_usec_t real = 1800000000 * S, mono = 5 * S;
		cstep_event_t ev;
		cr_assert_not(cstep_check(&st, real, mono, &ev), "%s: the first check primes",
			      cases[c].name);
		for (size_t i = 0; i < cases[c].n; i++) {
			const struct tick *t = &cases[c].ticks[i];
			obs_usec_t r0 = real, m0 = mono;
			real += t->dreal;
			mono += t->dmono;
			memset(&ev, 0, sizeof(ev));
			bool got = cstep_check(&st, real, mono, &ev);
			cr_assert_eq(got, t->step, "%s, check %zu: step %d, want %d", cases[c].name,
				     i, got, t->step);
			if (!got)
				continue;
			cr_assert_eq(ev.step, t->size, "%s, check %zu: size %lld, want %lld",
				     cases[c].name, i, (long long)ev.step, (long long)t->size);
			cr_assert(ev.t_before == r0 && ev.t_after == real && ev.mono_before == m0 &&
				      ev.mono_after == mono,
				  "%s, check %zu: readings", cases[c].name, i);
		}
	}
}

Test(clockstep, extreme_readings_do_not_overflow)
{
	cstep_t st = {0};
	cstep_event_t ev;
	cstep_check(&st, INT64_MIN, INT64_MAX, &ev);
	cr_assert(cstep_check(&st, INT64_MAX, INT64_MIN, &ev));
	cr_assert_gt(ev.step, 0);
}

/* ---- the collector, both clocks injected ---- */

#define CFG                                                                                        \
	"collector: { name: cs1, db: /tmp/unused.db }\n"                                           \
	"zones:\n"                                                                                 \
	"  - name: example.lab.\n"                                                                 \
	"    parent-servers: [127.0.0.10]\n"                                                       \
	"    providers:\n"                                                                         \
	"      a: { ns: [ns.prova.lab.] }\n"                                                       \
	"    ns-addresses: { ns.prova.lab.: [127.0.0.11] }\n"

static int64_t qint(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

Test(clockstep, collector_records_logs_and_counts_steps)
{
	char path[64], logpath[64];
	snprintf(path, sizeof(path), "/tmp/obs-cs-%d.db", getpid());
	snprintf(logpath, sizeof(logpath), "/tmp/obs-cs-%d.log", getpid());
	unlink(path);
	obs_config_t *cfg = NULL;
	cr_assert_eq(obs_config_load_string(CFG, strlen(CFG), "t.yaml", NULL, NULL, &cfg), OBS_EOK);
	obs_usec_t real = 1800000000 * S, mono = 100 * S;
	obs_clock_t rc = obs_clock_manual(&real), mc = obs_clock_manual(&mono);
	FILE *lf = fopen(logpath, "w+");
	cr_assert_not_null(lf);
	obs_log_t log = {.level = OBS_LOG_WARN, .out = lf};
	struct event_base *base = event_base_new();
	coll_opts_t opts = {.db = path, .mono = &mc};
	coll_t *c = NULL;
	cr_assert_eq(coll_new(cfg, &opts, base, &rc, &log, &c), OBS_EOK);
	/* forward 5 min, jitter, back 1 h; each advances the monotonic clock by 2 s */
	const struct {
		obs_usec_t dreal;
		bool step;
	} seq[] = {{0, false},
		   {2 * S, false},
		   {302 * S, true},
		   {2 * S + S / 2, false},
		   {2 * S - 3600 * S, true},
		   {2 * S, false}};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		real += seq[i].dreal;
		mono += i ? 2 * S : 0;
		cr_assert_eq(coll_clock_check(c), seq[i].step, "check %zu", i);
	}
	coll_free(c);
	event_base_free(base);
	obs_config_free(cfg);
	cr_assert_eq(qint(path, "SELECT count(*) FROM clock_step"), 2);
	cr_assert_eq(qint(path, "SELECT step_us FROM clock_step ORDER BY id LIMIT 1"), 300 * S);
	cr_assert_eq(qint(path, "SELECT step_us FROM clock_step ORDER BY id DESC LIMIT 1"),
		     -3600 * S);
	cr_assert_eq(qint(path, "SELECT t_after - t_before FROM clock_step ORDER BY id LIMIT 1"),
		     302 * S);
	cr_assert_eq(
	    qint(path, "SELECT mono_after - mono_before FROM clock_step WHERE step_us < 0"), 2 * S);
	/* the stats tick at coll_free's final commit is not run here: the counter is checked by
	 * the log and the row count; the log names each step once with its size */
	fflush(lf);
	rewind(lf);
	char line[512];
	int fwd = 0, back = 0;
	while (fgets(line, sizeof(line), lf)) {
		fwd += strstr(line, "stepped forward by 300.000 s") != NULL;
		back += strstr(line, "stepped back by 3600.000 s") != NULL;
	}
	fclose(lf);
	cr_assert_eq(fwd, 1, "forward step logged %d times", fwd);
	cr_assert_eq(back, 1, "backward step logged %d times", back);
	unlink(path);
	unlink(logpath);
}

/* a version 3 database (before clock_step) is upgraded in place by the collector */
Test(clockstep, migration_adds_the_table_to_an_old_database)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/obs-csm-%d.db", getpid());
	unlink(path);
	obs_store_t *s = NULL;
	char err[256];
	cr_assert_eq(store_open(path, "v1", 1, &s, err, sizeof(err)), OBS_EOK, "%s", err);
	store_close(s);
	cr_assert_eq(qint(path, "SELECT max(version) FROM schema_version"), 4);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(db, "DROP TABLE clock_step; DELETE FROM schema_version WHERE version = 4",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(store_open(path, "v1", 2, &s, err, sizeof(err)), OBS_EOK, "%s", err);
	cstep_event_t ev = {10 * S, 5 * S, 1 * S, 2 * S, -6 * S};
	cr_assert_eq(store_clock_step(s, &ev), OBS_EOK);
	store_close(s);
	cr_assert_eq(qint(path, "SELECT max(version) FROM schema_version"), 4);
	cr_assert_eq(qint(path, "SELECT step_us FROM clock_step"), -6 * S);
	unlink(path);
}
