/* SPDX-License-Identifier: MIT */
/* The plan file of obs-controller: one step per line, parsed with the analyzer's grammar. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "obs_err.h"
#include "verdict.h"

#define CTL_WORDS_MAX 64
#define CTL_LINE_MAX  4096

static void step_free(ctl_step_t *s)
{
	free(s->name);
	for (int i = 0; i < s->nwords; i++)
		free(s->words[i]);
	free(s->words);
	free(s->text);
	json_decref(s->steps);
	memset(s, 0, sizeof(*s));
}

void ctl_plan_free(ctl_plan_t *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		step_free(&p->step[i]);
	free(p->step);
	p->step = NULL;
	p->n = 0;
}

/* Split line (modified) into at most CTL_WORDS_MAX words; returns the count or -1. */
static int split(char *line, char **w)
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == CTL_WORDS_MAX)
			return -1;
		w[n++] = t;
	}
	return n;
}

static int parse_line(char *line, const char *zone, ctl_step_t *s, char *err, size_t errlen)
{
	char *w[CTL_WORDS_MAX];
	int n = split(line, w);
	if (n < 0) {
		snprintf(err, errlen, "more than %d words", CTL_WORDS_MAX);
		return OBS_ETOOBIG;
	}
	if (n < 2) {
		snprintf(err, errlen, "NAME OP ARG... [+ OP ARG...] expected");
		return OBS_ESYNTAX;
	}
	json_t *req = NULL;
	int ret = vd_steps_from_argv(n - 1, w + 1, zone, 0, &req, err, errlen);
	if (ret)
		return ret;
	s->steps = json_incref(json_object_get(req, "steps"));
	json_decref(req);
	s->name = strdup(w[0]);
	s->words = calloc((size_t)(n - 1), sizeof(*s->words));
	size_t len = 1;
	for (int i = 1; i < n; i++)
		len += strlen(w[i]) + 1;
	s->text = calloc(len, 1);
	if (s->name == NULL || s->words == NULL || s->text == NULL || s->steps == NULL)
		return OBS_ENOMEM;
	for (int i = 1; i < n; i++) {
		if ((s->words[i - 1] = strdup(w[i])) == NULL)
			return OBS_ENOMEM;
		s->nwords = i;
		if (i > 1)
			strcat(s->text, " ");
		strcat(s->text, w[i]);
	}
	return OBS_EOK;
}

int ctl_plan_read(const char *path, const char *zone, ctl_plan_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	bool std_in = strcmp(path, "-") == 0;
	FILE *f = std_in ? stdin : fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return OBS_ENOENT;
	}
	out->step = calloc(CTL_PLAN_MAX, sizeof(*out->step));
	int ret = out->step ? OBS_EOK : OBS_ENOMEM;
	char line[CTL_LINE_MAX], why[256];
	for (unsigned no = 1; ret == OBS_EOK && fgets(line, sizeof(line), f); no++) {
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", path, no);
			ret = OBS_ETOOBIG;
			break;
		}
		const char *p = line + strspn(line, " \t\r\n");
		if (*p == '\0' || *p == '#')
			continue;
		if (out->n == CTL_PLAN_MAX) {
			snprintf(err, errlen, "%s:%u: more than %d steps", path, no, CTL_PLAN_MAX);
			ret = OBS_ETOOBIG;
			break;
		}
		why[0] = '\0';
		ret = parse_line(line, zone, &out->step[out->n], why, sizeof(why));
		out->n++;
		if (ret)
			snprintf(err, errlen, "%s:%u: %s", path, no,
				 why[0] ? why : obs_strerror(ret));
	}
	if (ret == OBS_EOK && out->n == 0) {
		snprintf(err, errlen, "%s: no steps", path);
		ret = OBS_ESYNTAX;
	}
	if (!std_in)
		fclose(f);
	if (ret)
		ctl_plan_free(out);
	return ret;
}
