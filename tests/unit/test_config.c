/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "obs_err.h"

struct sink {
	char text[4096];
	int n;
};

static void collect(void *arg, const char *file, int line, const char *key, const char *problem)
{
	struct sink *s = arg;
	size_t off = strlen(s->text);
	snprintf(s->text + off, sizeof(s->text) - off, "%s:%d:%s: %s\n", file, line, key, problem);
	s->n++;
}

#define GOOD                                                                                       \
	"collector: { name: v1, db: /tmp/x.db }\n"                                                 \
	"defaults: { poll: 1s, timeout: 800ms, retries: 1, rate-per-server: 50 }\n"                \
	"zones:\n"                                                                                 \
	"  - name: Example.LAB\n"                                                                  \
	"    parent-servers: [127.0.0.10, '127.0.0.9@5353']\n"                                     \
	"    providers:\n"                                                                         \
	"      a: { ns: [ns.prova.lab.] }\n"                                                       \
	"      b: { ns: [ns.provb.lab.], suffix: [provb.net.] }\n"                                 \
	"    canaries: [www.example.lab./A, who.example.lab./TXT]\n"                               \
	"    poll: 2s\n"                                                                           \
	"    ns-addresses: { ns.prova.lab.: [127.0.0.11] }\n"                                      \
	"resolvers:\n"                                                                             \
	"  - { name: unbound, address: 127.0.0.21 }\n"                                             \
	"  - { name: pinned-a, address: 127.0.0.31, pinned: a }\n"

Test(config, good_file_parses_with_defaults_and_overrides)
{
	struct sink s = {0};
	obs_config_t *cfg = NULL;
	cr_assert_eq(obs_config_load_string(GOOD, strlen(GOOD), "t.yaml", collect, &s, &cfg),
		     OBS_EOK, "%s", s.text);
	cr_assert_str_eq(cfg->name, "v1");
	cr_assert_eq(cfg->zones_n, 1);
	const obs_cfg_zone_t *z = &cfg->zones[0];
	cr_assert_str_eq(z->name, "example.lab.");
	cr_assert_eq(z->parents_n, 2);
	cr_assert_eq(z->timing.poll, 2000000);
	cr_assert_eq(z->timing.timeout, 800000);
	cr_assert_str_eq(z->nx_canary, "obs-nx.example.lab.");
	cr_assert_eq(z->canaries[1].type, 16);
	cr_assert_str_eq(obs_config_provider_of(z, "ns.provb.lab.")->name, "b");
	cr_assert_str_eq(obs_config_provider_of(z, "x.provb.net.")->name, "b");
	cr_assert_null(obs_config_provider_of(z, "ns.other.lab."));
	cr_assert_null(obs_config_provider_of(z, "xprovb.net."));
	cr_assert_str_eq(cfg->resolvers[1].pinned, "a");
	cr_assert_eq(cfg->max_inflight, 1000);
	obs_config_free(cfg);
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *expect; /* substring of the report, "line:key: problem" */
};

Test(config, malformed_table)
{
	static const struct bad_case cases[] = {
	    {"unknown top key", "zonez: []\n", "1:zonez: unknown key"},
	    {"no zones", "collector: { name: x }\n", ":zones: missing"},
	    {"yaml syntax", "zones: [\n", "YAML syntax"},
	    {"bad address",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3]\n   providers: { a: "
	     "{ ns: [x.] } }\n",
	     "3:zones[0].parent-servers: '1.2.3': not an IP address"},
	    {"port 0",
	     "zones:\n - name: a.\n   parent-servers: ['1.2.3.4@0']\n   providers: { a: "
	     "{ ns: [x.] } }\n",
	     "zones[0].parent-servers: '1.2.3.4@0'"},
	    {"port 65536",
	     "zones:\n - name: a.\n   parent-servers: ['1.2.3.4@65536']\n   "
	     "providers: { a: { ns: [x.] } }\n",
	     "'1.2.3.4@65536'"},
	    {"bad duration", "defaults: { poll: soon }\nzones: []\n",
	     "1:defaults.poll: 'soon': not a duration"},
	    {"poll below 1s", "defaults: { poll: 100ms }\nzones: []\n", "duration out of range"},
	    {"huge timeout", "defaults: { timeout: 1h }\nzones: []\n", "defaults.timeout"},
	    {"negative retries", "defaults: { retries: -1 }\nzones: []\n", "defaults.retries"},
	    {"missing name",
	     "zones:\n - parent-servers: [1.2.3.4]\n   providers: { a: { ns: "
	     "[x.] } }\n",
	     "missing required key 'name'"},
	    {"bad zone name",
	     "zones:\n - name: 'a b.'\n   parent-servers: [1.2.3.4]\n   "
	     "providers: { a: { ns: [x.] } }\n",
	     "zones[0].name: 'a b.': not a valid domain name"},
	    {"provider without ns",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   "
	     "providers: { a: {} }\n",
	     "needs at least one ns"},
	    {"two providers same ns",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   "
	     "providers: { a: { ns: [x.] }, b: { ns: [x.] } }\n",
	     "listed by providers"},
	    {"pinned to unknown",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   "
	     "providers: { a: { ns: [x.] } }\nresolvers:\n - { name: r, "
	     "address: 127.0.0.1, pinned: zz }\n",
	     "6:resolvers[0].pinned: no zone has a provider named 'zz'"},
	    {"bad canary",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   providers: { a: "
	     "{ ns: [x.] } }\n   canaries: [www.a./NOPE]\n",
	     "zones[0].canaries: 'www.a./NOPE'"},
	    {"unknown zone key",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   "
	     "providers: { a: { ns: [x.] } }\n   colour: blue\n",
	     "5:zones[0].colour: unknown key"},
	    {"duplicate zone",
	     "zones:\n - { name: a., parent-servers: [1.2.3.4], providers: { a: "
	     "{ ns: [x.] } } }\n - { name: a., parent-servers: [1.2.3.4], "
	     "providers: { a: { ns: [x.] } } }\n",
	     "configured twice"},
	    {"duplicate resolver",
	     "zones: []\nresolvers:\n - { name: r, address: 127.0.0.1 }\n - "
	     "{ name: r, address: 127.0.0.2 }\n",
	     "used twice"},
	    {"control bytes never echoed",
	     "zones:\n - name: \"a\\x1b[31m.\"\n   parent-servers: "
	     "[1.2.3.4]\n   providers: { a: { ns: [x.] } }\n",
	     "'a?[31m.': not a valid domain name"},
	    {"ldns E3 text as a canary",
	     "zones:\n - name: a.\n   parent-servers: [1.2.3.4]\n   providers: { a: { ns: [x.] "
	     "} }\n   canaries: [\"w\\n.le(Tx.&\\xe07w.exaTx\\x01\\n.le(Tx.&/A\"]\n",
	     "zones[0].canaries"},
	    {"retries times timeout over poll",
	     "defaults: { poll: 1s, timeout: 900ms, retries: 2 }\nzones: []\n",
	     "retries x timeout is longer than the poll period"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink s = {0};
		obs_config_t *cfg = NULL;
		int r = obs_config_load_string(cases[i].yaml, strlen(cases[i].yaml), "bad.yaml",
					       collect, &s, &cfg);
		cr_assert_eq(r, OBS_ECONFIG, "case %s: accepted", cases[i].name);
		cr_assert_null(cfg);
		cr_assert(strstr(s.text, cases[i].expect) != NULL, "case %s: report was:\n%s",
			  cases[i].name, s.text);
		cr_assert(strncmp(s.text, "bad.yaml:", 9) == 0, "case %s: %s", cases[i].name,
			  s.text);
	}
}

Test(config, example_file_is_valid)
{
	obs_config_t *cfg = NULL;
	struct sink s = {0};
	cr_assert_eq(obs_config_load("collector/example.yaml", collect, &s, &cfg), OBS_EOK, "%s",
		     s.text);
	obs_config_free(cfg);
}

Test(config, unreadable_file)
{
	obs_config_t *cfg = NULL;
	struct sink s = {0};
	cr_assert_lt(obs_config_load("/nonexistent/obs.yaml", collect, &s, &cfg), 0);
	cr_assert_lt(obs_config_load("/tmp", collect, &s, &cfg), 0);
}
