/* SPDX-License-Identifier: MIT */
/* obs-analyzer status and whatif: the verdict documents of verdict.h, as JSON (--json) or as
 * a few lines of text. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "obs_err.h"
#include "audit.h"
#include "verdict.h"

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static void print_list(const json_t *arr, const char *prefix)
{
	size_t i;
	const json_t *x;
	json_array_foreach(arr, i, x)
	{
		if (json_is_string(x)) {
			printf("%s%s\n", prefix, json_string_value(x));
			continue;
		}
		printf("%s%s %s %s until %s: %s\n", prefix, str(x, "id"), str(x, "tier"),
		       str(x, "severity"), str(x, "until"), str(x, "reason"));
	}
}

static int one_status(cli_ctx_t *c, const char *zone, void *arg)
{
	json_t *doc = NULL;
	int ret = vd_status(c->db, arg, zone, c->at, c->vd, &doc, c->err, c->errlen);
	if (ret)
		return ret;
	if (c->json) {
		cli_print_json(doc);
	} else {
		printf("%s %s (data age %.1f s)\n", zone, str(doc, "status"),
		       json_number_value(json_object_get(doc, "data_age")));
		print_list(json_object_get(doc, "reasons"), "  reason: ");
		size_t i;
		const json_t *g;
		json_array_foreach(json_object_get(doc, "glitches"), i, g)
		    printf("  open: %s %s %s [%s, %s): %s\n", str(g, "id"), str(g, "tier"),
			   str(g, "severity"), str(g, "lo"), str(g, "hi"), str(g, "reason"));
	}
	json_decref(doc);
	return OBS_EOK;
}

int cli_status(cli_ctx_t *c)
{
	sigv_t *sv = NULL;
	int ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = cli_each_zone(c, one_status, sv);
	sigv_free(sv);
	return ret;
}

int cli_whatif(cli_ctx_t *c)
{
	json_t *req = NULL, *doc = NULL;
	sigv_t *sv = NULL;
	int ret = vd_steps_from_argv(c->argc, c->argv, c->zone, c->at, &req, c->err, c->errlen);
	if (ret == OBS_EOK)
		ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = vd_whatif(c->db, sv, req, c->now, c->vd, &doc, c->err, c->errlen);
	if (ret == OBS_EOK && c->json) {
		cli_print_json(doc);
	} else if (ret == OBS_EOK) {
		printf("%s: %s", str(doc, "zone"), str(doc, "verdict"));
		if (!strcmp(str(doc, "verdict"), "wait"))
			printf(" until %s", str(doc, "earliest_safe"));
		printf(" (M2 %s, policy %s, status %s)\n", str(doc, "earliest_safe_m2"),
		       str(doc, "policy_earliest"), str(doc, "status"));
		print_list(json_object_get(doc, "reasons"), "  reason: ");
		print_list(json_object_get(doc, "blocking"), "  blocking: ");
	}
	json_decref(req);
	json_decref(doc);
	sigv_free(sv);
	return ret;
}

static int one_audit(cli_ctx_t *c, const char *zone, void *arg)
{
	json_t *doc = NULL;
	int ret = au_audit(c->db, arg, zone, c->at, 0, &doc, c->err, c->errlen);
	if (ret == OBS_EOK && c->json) {
		cli_print_json(doc);
	} else if (ret == OBS_EOK) {
		size_t i;
		const json_t *x;
		json_array_foreach(json_object_get(doc, "audit"), i, x)
		{
			printf("%s: %s changed %zu RRset(s) at %s, safe from %s: early by %.1f s (",
			       zone, str(x, "origin"),
			       json_array_size(json_object_get(x, "rrsets")), str(x, "changed_at"),
			       str(x, "safe_from"),
			       json_number_value(json_object_get(x, "early_by")));
			size_t j;
			const json_t *y;
			json_array_foreach(json_object_get(x, "ids"), j, y)
			    printf("%s%s", j ? " " : "", json_string_value(y));
			printf(")");
			json_array_foreach(json_object_get(x, "vantages"), j, y)
			    printf("%s%s", j ? ", " : "; failed: ", json_string_value(y));
			printf("\n");
		}
	}
	json_decref(doc);
	return ret;
}

int cli_audit(cli_ctx_t *c)
{
	sigv_t *sv = NULL;
	int ret = sigv_new(c->db, false, &sv);
	if (ret == OBS_EOK)
		ret = cli_each_zone(c, one_audit, sv);
	sigv_free(sv);
	return ret;
}
