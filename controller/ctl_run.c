/* SPDX-License-Identifier: MIT */
/* The gate loop of obs-controller: before each step ask whatif; go: apply it; wait: sleep
 * until earliest_safe and ask again; stop or unknown (or no answer): ask again every poll,
 * for at most max_blocked, then halt with the reason. A verdict counts only once it rests on
 * an observation made a poll after the previous step was served (otherwise the observatory
 * has not yet seen that step and would judge the next one against an older world). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "obs_err.h"
#include "timefmt.h"

/* What the controller learnt about one step. */
typedef struct step_rec {
	obs_usec_t t_ready;    /* the previous step was served (or the run began) */
	obs_usec_t t_go;       /* the verdict it proceeded on */
	obs_usec_t t_served;   /* the apply command returned */
	obs_usec_t earliest;   /* the last earliest_safe of a wait verdict; 0: none */
	obs_usec_t first_safe; /* the first earliest_safe of a wait verdict; 0: none */
	unsigned asks;
	unsigned n[5];    /* go wait stop unknown error */
	char last[16];    /* the last verdict */
	json_t *verdicts; /* [{t, verdict, earliest_safe, data_age, why}] on every change */
} step_rec_t;

enum { V_GO, V_WAIT, V_STOP, V_UNKNOWN, V_ERROR };
static const char *const vname[] = {"go", "wait", "stop", "unknown", "error"};

static obs_usec_t now_us(void)
{
	obs_clock_t c = obs_clock_real();
	return obs_clock_now(&c);
}

static void sleep_until(obs_usec_t t)
{
	obs_usec_t d = t - now_us();
	if (d <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)(d / OBS_USEC_PER_SEC),
			      .tv_nsec = (long)(d % OBS_USEC_PER_SEC) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double secs(obs_usec_t d)
{
	return (double)d / 1e6;
}

static obs_usec_t json_time(const json_t *v)
{
	obs_usec_t t = 0;
	if (!json_is_string(v) || obs_time_parse(json_string_value(v), 0, &t) != OBS_EOK)
		return 0;
	return t;
}

/* The first reason a blocked verdict gives (reasons[0], else the first gating blocking[]). */
static void why_of(const json_t *doc, char *buf, size_t len)
{
	buf[0] = '\0';
	const json_t *r = json_array_get(json_object_get(doc, "reasons"), 0);
	if (json_is_string(r)) {
		snprintf(buf, len, "%s", json_string_value(r));
		return;
	}
	const json_t *b;
	size_t i;
	json_array_foreach(json_object_get(doc, "blocking"), i, b)
	{
		if (!json_is_true(json_object_get(b, "gating")))
			continue;
		snprintf(buf, len, "%s %s: %s", json_string_value(json_object_get(b, "id")),
			 json_string_value(json_object_get(b, "tier")),
			 json_string_value(json_object_get(b, "reason")));
		return;
	}
}

/* Ask whatif about step s. *v is the verdict (V_ERROR when there is none: no answer, an HTTP
 * error, a document without a verdict); *doc the document or an {"error": ...} object. */
static int ask(ctl_http_t *h, const char *path, const ctl_opts_t *o, const ctl_step_t *s, int *v,
	       json_t **doc, char *err, size_t errlen)
{
	*doc = NULL;
	*v = V_ERROR;
	json_t *req = json_pack("{s:s, s:O}", "zone", o->zone, "steps", s->steps);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL)
		return OBS_ENOMEM;
	int status = 0;
	char *resp = NULL;
	int ret = ctl_http_post(h, path, o->token, body, &status, &resp, err, errlen);
	free(body);
	if (ret == OBS_ENOMEM)
		return ret;
	if (ret) { /* no answer: counts as blocked, the run decides for how long */
		*doc = json_pack("{s:s}", "error", err);
		return *doc ? OBS_EOK : OBS_ENOMEM;
	}
	json_error_t je;
	json_t *d = json_loads(resp, 0, &je);
	if (status != 200 || !json_is_object(d)) {
		snprintf(err, errlen, "HTTP %d: %.300s", status, resp);
		json_decref(d);
		free(resp);
		if (status == 401 || status == 403 || status == 400 || status == 404 ||
		    status == 415)
			return OBS_EINVAL; /* asking again will not help */
		*doc = json_pack("{s:s}", "error", err);
		return *doc ? OBS_EOK : OBS_ENOMEM;
	}
	free(resp);
	*doc = d;
	const char *w = json_string_value(json_object_get(d, "verdict"));
	for (int i = V_GO; w && i < V_ERROR; i++)
		if (strcmp(w, vname[i]) == 0)
			*v = i;
	return OBS_EOK;
}

/* Run the apply command: argv prefix + step name + step words. */
static int apply(const ctl_opts_t *o, const ctl_step_t *s, char *err, size_t errlen)
{
	size_t np = 0;
	while (o->apply[np])
		np++;
	char **argv = calloc(np + (size_t)s->nwords + 2, sizeof(*argv));
	if (argv == NULL)
		return OBS_ENOMEM;
	for (size_t i = 0; i < np; i++)
		argv[i] = (char *)o->apply[i];
	argv[np] = s->name;
	for (int i = 0; i < s->nwords; i++)
		argv[np + 1 + (size_t)i] = s->words[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "obs-controller: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(argv);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return OBS_ERROR;
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "%s %s exited with %d", o->apply[0], s->name,
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return OBS_ERROR;
	}
	return OBS_EOK;
}

/* One line of the live timeline: "  +12.3 s  NAME  text". */
static void tl(const ctl_opts_t *o, obs_usec_t t0, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void tl(const ctl_opts_t *o, obs_usec_t t0, const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(o->tty, "  %+7.1f s  %-16s ", secs(now_us() - t0), name);
	va_start(ap, fmt);
	vfprintf(o->tty, fmt, ap);
	va_end(ap);
	fputc('\n', o->tty);
	fflush(o->tty);
}

static void note_verdict(step_rec_t *r, obs_usec_t t, int v, const json_t *doc, const char *why)
{
	r->asks++;
	r->n[v]++;
	if (strcmp(r->last, vname[v]) == 0)
		return;
	snprintf(r->last, sizeof(r->last), "%s", vname[v]);
	char ts[OBS_TIME_STRLEN];
	json_t *e =
	    json_pack("{s:s, s:s, s:O?, s:O?, s:s}", "t", obs_time_format(t, ts, sizeof(ts)),
		      "verdict", vname[v], "earliest_safe", json_object_get(doc, "earliest_safe"),
		      "data_age", json_object_get(doc, "data_age"), "why", why);
	if (e)
		json_array_append_new(r->verdicts, e);
}

static void record_step(const ctl_opts_t *o, const ctl_step_t *s, const step_rec_t *r,
			const char *outcome, const json_t *last)
{
	if (o->record == NULL)
		return;
	char a[OBS_TIME_STRLEN], b[OBS_TIME_STRLEN], c[OBS_TIME_STRLEN], d[OBS_TIME_STRLEN],
	    e[OBS_TIME_STRLEN];
	json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:b, s:s, s:s?, s:s?, s:s?, s:o, s:s?, s:i, s:O, s:o, s:o, s:o}",
	    "run", o->label ? o->label : "", "step", s->name, "whatif", s->text, "gated", o->gate,
	    "t_ready", obs_time_format(r->t_ready, a, sizeof(a)), "t_go",
	    r->t_go ? obs_time_format(r->t_go, b, sizeof(b)) : NULL, "t_served",
	    r->t_served ? obs_time_format(r->t_served, c, sizeof(c)) : NULL, "earliest_safe",
	    r->earliest ? obs_time_format(r->earliest, d, sizeof(d)) : NULL, "waited",
	    r->t_go ? json_real(secs(r->t_go - r->t_ready)) : json_null(), "first_earliest_safe",
	    r->first_safe ? obs_time_format(r->first_safe, e, sizeof(e)) : NULL, "asks",
	    (int)r->asks, "verdicts", r->verdicts, "late_by",
	    r->earliest && r->t_go ? json_real(secs(r->t_go - r->earliest)) : json_null(),
	    "outcome", json_string(outcome), "last", last ? json_deep_copy(last) : json_null());
	if (j) {
		json_dumpf(j, o->record, JSON_COMPACT);
		fputc('\n', o->record);
		fflush(o->record);
		json_decref(j);
	}
}

/* Wait at step s until the gate opens (or, ungated, the fixed wait is over). Returns OBS_EOK
 * to apply, OBS_ELIMIT to halt (*last: the last document), OBS_EINVAL/OBS_ENOMEM. */
static int gate(ctl_http_t *h, const char *path, const ctl_opts_t *o, const ctl_step_t *s,
		const char *prev_name, obs_usec_t t0, step_rec_t *r, json_t **last)
{
	char err[512], why[400], ts[OBS_TIME_STRLEN];
	obs_usec_t blocked_since = 0;
	for (;;) {
		int v;
		json_t *doc = NULL;
		err[0] = '\0';
		int ret = ask(h, path, o, s, &v, &doc, err, sizeof(err));
		if (ret) {
			obs_log_fmt(&o->log, OBS_LOG_ERR, o->zone, "step %s: whatif at %s: %s",
				    s->name, o->url, err);
			return ret;
		}
		json_decref(*last);
		*last = doc;
		obs_usec_t t = now_us();
		why_of(doc, why, sizeof(why));
		const char *e = json_string_value(json_object_get(doc, "error"));
		if (v == V_ERROR)
			snprintf(why, sizeof(why), "%s", e ? e : "no verdict in the document");
		const char *prev = r->last;
		bool changed = strcmp(prev, vname[v]) != 0;
		note_verdict(r, t, v, doc, why);
		obs_usec_t es = json_time(json_object_get(doc, "earliest_safe"));
		const json_t *age = json_object_get(doc, "data_age");
		obs_usec_t seen = json_time(json_object_get(doc, "at")) -
				  (obs_usec_t)(json_number_value(age) * 1e6);
		bool fresh = json_is_number(age) && seen >= r->t_ready + o->settle;
		if (!o->gate) { /* ungated: report the verdict, then keep the fixed wait */
			tl(o, t0, s->name, "%-7s %s%s%s  (gating off: proceeding after %.1f s)",
			   vname[v], v == V_WAIT ? "earliest_safe " : "",
			   v == V_WAIT ? obs_time_format(es, ts, sizeof(ts)) : "",
			   v != V_WAIT && why[0] ? why : "", secs(o->fixed_wait));
			if (v == V_WAIT)
				r->earliest = r->first_safe = es;
			sleep_until(r->t_ready + o->fixed_wait);
			return OBS_EOK;
		}
		if (v == V_GO && fresh)
			return OBS_EOK;
		if (t - r->t_ready > o->max_step) {
			tl(o, t0, s->name, "HALT: no go within %.0f s", secs(o->max_step));
			return OBS_ELIMIT;
		}
		if (v == V_WAIT && es > 0) {
			blocked_since = 0;
			if (r->first_safe == 0)
				r->first_safe = es;
			if (changed || es != r->earliest)
				tl(o, t0, s->name, "wait    until %s (%+.1f s)%s%s",
				   obs_time_format(es, ts, sizeof(ts)), secs(es - t),
				   why[0] ? ": " : "", why);
			r->earliest = es;
			/* sleep until earliest_safe, at least until the data is fresh */
			obs_usec_t until = es > t ? es : t + o->poll / 5;
			sleep_until(until);
			continue;
		}
		if (v == V_GO) { /* not yet fresh: the observatory has not seen the last step */
			if (changed)
				tl(o, t0, s->name,
				   "go      (on data from before %s was seen: asking again)",
				   prev_name);
			sleep_until(t + o->poll / 2);
			continue;
		}
		/* stop, unknown, or no answer: ask again each poll, for a bounded time */
		if (blocked_since == 0)
			blocked_since = t;
		if (changed)
			tl(o, t0, s->name, "%-7s %s", vname[v], why);
		if (t - blocked_since > o->max_blocked) {
			char *js = json_dumps(doc, JSON_COMPACT);
			tl(o, t0, s->name, "HALT: %s for %.0f s: %s", vname[v],
			   secs(t - blocked_since), why);
			obs_log_fmt(&o->log, OBS_LOG_ERR, o->zone,
				    "step %s halted: verdict %s for %.0f s; last document: %s",
				    s->name, vname[v], secs(t - blocked_since), js ? js : "?");
			free(js);
			return OBS_ELIMIT;
		}
		sleep_until(t + o->poll);
	}
}

static void summary(const ctl_plan_t *plan, const step_rec_t *rec, size_t done, const ctl_opts_t *o,
		    obs_usec_t t0)
{
	FILE *f = o->tty;
	fprintf(f, "\n  %-16s %-8s %9s %9s %9s %9s  %s\n", "step", "went on", "waited", "safe in",
		"late by", "apply", "verdicts (asks)");
	obs_usec_t total = 0;
	for (size_t i = 0; i < plan->n && i < done + 1; i++) {
		const step_rec_t *r = &rec[i];
		char vs[160] = "", safe[32] = "-", late[32] = "-", ap[32] = "-", waited[32] = "-";
		size_t len = 0;
		for (int v = V_GO; v <= V_ERROR; v++)
			if (r->n[v])
				len += (size_t)snprintf(vs + len, sizeof(vs) - len, "%s%s %u",
							len ? ", " : "", vname[v], r->n[v]);
		if (r->first_safe)
			snprintf(safe, sizeof(safe), "%.1f s", secs(r->first_safe - r->t_ready));
		if (r->earliest && r->t_go)
			snprintf(late, sizeof(late), "%+.1f s", secs(r->t_go - r->earliest));
		if (r->t_go) {
			snprintf(waited, sizeof(waited), "%.1f s", secs(r->t_go - r->t_ready));
			total += r->t_go - r->t_ready;
		}
		if (r->t_served)
			snprintf(ap, sizeof(ap), "%.2f s", secs(r->t_served - r->t_go));
		fprintf(f, "  %-16s %-8s %9s %9s %9s %9s  %s\n", plan->step[i].name,
			r->t_served ? r->last : "HALTED", waited, safe, late, ap, vs);
	}
	fprintf(f, "  %s: %zu of %zu steps in %.1f s (%.1f s waiting for the gate)%s\n",
		o->label ? o->label : "run", done, plan->n, secs(now_us() - t0), secs(total),
		o->gate ? "" : "; gating OFF: verdicts ignored");
	fflush(f);
}

int ctl_run(const ctl_plan_t *plan, const ctl_opts_t *o)
{
	char path[512], zone[256], err[512];
	snprintf(zone, sizeof(zone), "%s", o->zone);
	size_t zl = strlen(zone);
	if (zl > 1 && zone[zl - 1] == '.')
		zone[zl - 1] = '\0';
	snprintf(path, sizeof(path), "/api/v1/zones/%s/whatif", zone);
	ctl_http_t *h = NULL;
	int ret = ctl_http_new(o->url, o->timeout, &h, err, sizeof(err));
	if (ret) {
		obs_log_fmt(&o->log, OBS_LOG_ERR, o->zone, "%s", err);
		return ret;
	}
	step_rec_t *rec = calloc(plan->n, sizeof(*rec));
	if (rec == NULL) {
		ctl_http_free(h);
		return OBS_ENOMEM;
	}
	obs_usec_t t0 = now_us(), ready = t0;
	char ts[OBS_TIME_STRLEN];
	fprintf(o->tty, "%s: %zu steps on %s, whatif at %s, %s\n", o->label ? o->label : "run",
		plan->n, o->zone, o->url,
		o->gate ? "gated on the verdicts" : "gating OFF (fixed waits)");
	size_t done = 0;
	for (size_t i = 0; i < plan->n && ret == OBS_EOK; i++) {
		const ctl_step_t *s = &plan->step[i];
		step_rec_t *r = &rec[i];
		r->t_ready = ready;
		r->verdicts = json_array();
		json_t *last = NULL;
		tl(o, t0, s->name, "ask     %s", s->text);
		ret =
		    gate(h, path, o, s, i ? plan->step[i - 1].name : "the run began", t0, r, &last);
		if (ret == OBS_EOK) {
			r->t_go = now_us();
			tl(o, t0, s->name, "%-7s waited %.1f s%s%s", o->gate ? "go" : "apply",
			   secs(r->t_go - r->t_ready), r->earliest ? ", earliest_safe " : "",
			   r->earliest ? obs_time_format(r->earliest, ts, sizeof(ts)) : "");
			err[0] = '\0';
			ret = apply(o, s, err, sizeof(err));
			if (ret) {
				obs_log_fmt(&o->log, OBS_LOG_ERR, o->zone, "step %s: apply: %s",
					    s->name, err);
			} else {
				r->t_served = ready = now_us();
				done++;
				tl(o, t0, s->name, "served  in %.2f s",
				   secs(r->t_served - r->t_go));
			}
		}
		record_step(o, s, r,
			    ret == OBS_EOK      ? "applied"
			    : ret == OBS_ELIMIT ? "halted"
						: "error",
			    last);
		json_decref(last);
	}
	summary(plan, rec, done, o, t0);
	for (size_t i = 0; i < plan->n; i++)
		json_decref(rec[i].verdicts);
	free(rec);
	ctl_http_free(h);
	return ret;
}
