/* SPDX-License-Identifier: MIT */
/* Configuration: libyaml's document API, walked by key tables. Each table row is
 * {key, type, default, min, max, field offset, help}; the same rows drive parsing,
 * validation, defaults and obs_config_print_keys(). */
#include <ctype.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "obs_err.h"
#include "timefmt.h"

#define CFG_MAX_FILE (4u << 20) /* a config larger than 4 MiB is refused */
#define CFG_MAX_LIST 100000

enum cfg_type {
	CFG_STR,
	CFG_DNAME,
	CFG_DURATION,
	CFG_UINT,
	CFG_ADDR,
	CFG_ADDR_LIST,
	CFG_RRKEY,
	CFG_RRKEY_LIST,
	CFG_PROVIDERS,
	CFG_NSADDRS,
};

static const char *const cfg_type_names[] = {
    "string",          "domain name",
    "duration",        "integer",
    "address[@port]",  "list of address[@port]",
    "NAME/TYPE",       "list of NAME/TYPE",
    "map of provider", "map of name to addresses",
};

struct cfg_item {
	const char *key;
	enum cfg_type type;
	const char *def; /* default in the same syntax as the file; NULL = none */
	double min, max; /* for integers and durations (seconds) */
	size_t off;      /* field offset in the section's struct */
	size_t off_n;    /* offset of the element count for lists */
	bool required;
	const char *help;
};

struct cfg_ctx {
	yaml_document_t *doc;
	const char *file;
	obs_cfg_report_fn report;
	void *arg;
	int problems;
};

#define F(st, f) offsetof(st, f)

static const struct cfg_item collector_items[] = {
    {"name", CFG_STR, "collector", 0, 0, F(obs_config_t, name), 0, false,
     "the collector's name, stored with every observation"},
    {"db", CFG_STR, "obs-collector.db", 0, 0, F(obs_config_t, db), 0, false,
     "path of the collector's SQLite database (created when missing)"},
    {"stats-interval", CFG_DURATION, "10s", 0.1, 86400, F(obs_config_t, stats_interval), 0, false,
     "period of the stats line on stderr"},
    {"max-inflight", CFG_UINT, "1000", 1, 1000000, F(obs_config_t, max_inflight), 0, false,
     "bound on queries in flight; more wait in a queue"},
    {"address-resolver", CFG_STR, NULL, 0, 0, F(obs_config_t, address_resolver), 0, false,
     "name of the resolver used to resolve NS host names (default: first unpinned)"},
    {"udp-offload", CFG_UINT, "0", 0, 1, F(obs_config_t, udp_offload), 0, false,
     "1: equal-sized queries to one server leave as one UDP segmentation-offload send; 0 (the "
     "default): one by one (always with -i)"},
    {NULL},
};

static const struct cfg_item timing_items[] = {
    {"poll", CFG_DURATION, "10s", 1, 86400, F(obs_cfg_timing_t, poll), 0, false,
     "period of a polling round at every server and resolver (down to 1s)"},
    {"timeout", CFG_DURATION, "800ms", 0.01, 60, F(obs_cfg_timing_t, timeout), 0, false,
     "deadline of one query attempt"},
    {"retries", CFG_UINT, "1", 0, 10, F(obs_cfg_timing_t, retries), 0, false,
     "attempts after a timeout"},
    {"rate-per-server", CFG_UINT, "50", 1, 1000000, F(obs_cfg_timing_t, rate), 0, false,
     "queries per second to one server or resolver (token bucket)"},
    {"jitter", CFG_UINT, "10", 0, 50, F(obs_cfg_timing_t, jitter), 0, false,
     "random spread of round start times, in percent of the poll period"},
    {NULL},
};

static const struct cfg_item zone_items[] = {
    {"name", CFG_DNAME, NULL, 0, 0, F(obs_cfg_zone_t, name), 0, true, "the zone under watch"},
    {"parent-servers", CFG_ADDR_LIST, NULL, 0, 0, F(obs_cfg_zone_t, parents),
     F(obs_cfg_zone_t, parents_n), true, "addresses of the parent zone's servers"},
    {"providers", CFG_PROVIDERS, NULL, 0, 0, F(obs_cfg_zone_t, providers),
     F(obs_cfg_zone_t, providers_n), true,
     "provider name -> { ns: [host names], suffix: [name suffixes] }"},
    {"canaries", CFG_RRKEY_LIST, NULL, 0, 0, F(obs_cfg_zone_t, canaries),
     F(obs_cfg_zone_t, canaries_n), false, "data names polled everywhere, as NAME/TYPE"},
    {"nx-canary", CFG_DNAME, NULL, 0, 0, F(obs_cfg_zone_t, nx_canary), 0, false,
     "a name that does not exist (default obs-nx.<zone>)"},
    {"bogus-canary", CFG_RRKEY, NULL, 0, 0, F(obs_cfg_zone_t, bogus), 0, false,
     "a known-bad NAME/TYPE: tells validating resolvers from others"},
    {"ns-addresses", CFG_NSADDRS, NULL, 0, 0, F(obs_cfg_zone_t, nsaddrs),
     F(obs_cfg_zone_t, nsaddrs_n), false,
     "explicit addresses of NS host names: { ns.example.: [192.0.2.1] }"},
    {NULL},
};

static const struct cfg_item resolver_items[] = {
    {"name", CFG_STR, NULL, 0, 0, F(obs_cfg_resolver_t, name), 0, true,
     "the resolver's name (vantage)"},
    {"address", CFG_ADDR, NULL, 0, 0, F(obs_cfg_resolver_t, addr), 0, true,
     "the resolver's address[@port]"},
    {"pinned", CFG_STR, NULL, 0, 0, F(obs_cfg_resolver_t, pinned), 0, false,
     "the one provider this resolver can reach (a pinned vantage)"},
    {NULL},
};

static const struct cfg_item provider_items[] = {
    {"ns", CFG_STR, NULL, 0, 0, 0, 0, false, "NS host names of the provider"},
    {"suffix", CFG_STR, NULL, 0, 0, 0, 0, false, "NS host name suffixes of the provider"},
    {NULL},
};

static void cfg_problem(struct cfg_ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void cfg_problem(struct cfg_ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
			...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *m = msg; *m; m++) {
		if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
			*m = '?'; /* values may be hostile: never echo control bytes */
	}
	c->problems++;
	if (c->report)
		c->report(c->arg, c->file, n ? (int)n->start_mark.line + 1 : 0, key, msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int obs_dname_canon(const char *in, char *buf, size_t len)
{
	size_t n = strlen(in);
	if (n == 0 || n > 254 || len < n + 2)
		return OBS_ESYNTAX;
	if (strcmp(in, ".") == 0) {
		snprintf(buf, len, ".");
		return OBS_EOK;
	}
	size_t label = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '.') {
			if (label == 0)
				return OBS_ESYNTAX;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_' || ch == '*') {
			if (++label > 63)
				return OBS_ESYNTAX;
		} else {
			return OBS_ESYNTAX;
		}
		buf[o++] = (char)tolower(ch);
	}
	if (buf[o - 1] != '.')
		buf[o++] = '.';
	if (o > 254)
		return OBS_ESYNTAX;
	buf[o] = '\0';
	return OBS_EOK;
}

uint16_t obs_rrtype_from_str(const char *s)
{
	char up[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(up))
		return 0;
	for (size_t i = 0; i <= n; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	return (uint16_t)ldns_get_rr_type_by_name(up);
}

static int parse_rrkey(const char *s, obs_cfg_rrkey_t *out)
{
	const char *slash = strrchr(s, '/');
	if (slash == NULL || slash == s)
		return OBS_ESYNTAX;
	char name[256], canon[256];
	size_t nl = (size_t)(slash - s);
	if (nl >= sizeof(name))
		return OBS_ESYNTAX;
	memcpy(name, s, nl);
	name[nl] = '\0';
	uint16_t t = obs_rrtype_from_str(slash + 1);
	if (t == 0 || obs_dname_canon(name, canon, sizeof(canon)) != OBS_EOK)
		return OBS_ESYNTAX;
	out->name = strdup(canon);
	out->type = t;
	return out->name ? OBS_EOK : OBS_ENOMEM;
}

static void *grow(void *base, size_t *n, size_t elem)
{
	void *p = realloc(base, (*n + 1) * elem);
	if (p == NULL)
		return NULL;
	memset((char *)p + *n * elem, 0, elem);
	(*n)++;
	return p;
}

/* Parse one scalar value of `type` into dst. Returns a problem text or NULL. */
static const char *parse_value(const struct cfg_item *it, const char *v, void *dst)
{
	char canon[256];
	obs_usec_t d;
	switch (it->type) {
	case CFG_STR:
		if (*v == '\0')
			return "must not be empty";
		free(*(char **)dst);
		*(char **)dst = strdup(v);
		return NULL;
	case CFG_DNAME:
		if (obs_dname_canon(v, canon, sizeof(canon)) != OBS_EOK)
			return "not a valid domain name";
		free(*(char **)dst);
		*(char **)dst = strdup(canon);
		return NULL;
	case CFG_DURATION:
		if (obs_duration_parse(v, &d) != OBS_EOK)
			return "not a duration (e.g. 800ms, 1s, 5m)";
		if ((double)d < it->min * 1e6 || (double)d > it->max * 1e6)
			return "duration out of range";
		*(obs_usec_t *)dst = d;
		return NULL;
	case CFG_UINT: {
		char *end = NULL;
		errno = 0;
		unsigned long long u = strtoull(v, &end, 10);
		if (errno || end == v || *end != '\0' || *v == '-')
			return "not a non-negative integer";
		if ((double)u < it->min || (double)u > it->max)
			return "integer out of range";
		*(uint64_t *)dst = u;
		return NULL;
	}
	case CFG_ADDR:
		if (obs_addr_parse(v, 53, (obs_addr_t *)dst) != OBS_EOK)
			return "not an IP address[@port]";
		return NULL;
	case CFG_RRKEY:
		if (parse_rrkey(v, (obs_cfg_rrkey_t *)dst) != OBS_EOK)
			return "not NAME/TYPE (e.g. www.example.lab./A)";
		return NULL;
	default:
		return "internal: not a scalar type";
	}
}

static void parse_scalar_list(struct cfg_ctx *c, const struct cfg_item *it, yaml_node_t *n,
			      const char *path, void *base)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_problem(c, n, path, "expected a list of %s", cfg_type_names[it->type]);
		return;
	}
	void **arr = (void **)((char *)base + it->off);
	size_t *cnt = (size_t *)((char *)base + it->off_n);
	struct cfg_item one = *it;
	size_t elem = it->type == CFG_ADDR_LIST ? sizeof(obs_addr_t) : sizeof(obs_cfg_rrkey_t);
	one.type = it->type == CFG_ADDR_LIST ? CFG_ADDR : CFG_RRKEY;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *i);
		const char *v = scalar(e);
		if (v == NULL) {
			cfg_problem(c, e, path, "list element must be a scalar");
			continue;
		}
		if (*cnt >= CFG_MAX_LIST) {
			cfg_problem(c, e, path, "too many elements");
			return;
		}
		void *p = grow(*arr, cnt, elem);
		if (p == NULL) {
			cfg_problem(c, e, path, "out of memory");
			return;
		}
		*arr = p;
		const char *err = parse_value(&one, v, (char *)p + (*cnt - 1) * elem);
		if (err) {
			cfg_problem(c, e, path, "'%s': %s", v, err);
			(*cnt)--;
		}
	}
}

static void parse_name_list(struct cfg_ctx *c, yaml_node_t *n, const char *path, char ***arr,
			    size_t *cnt)
{
	if (n->type == YAML_SCALAR_NODE) {
		/* a single name is accepted for a list of one */
	} else if (n->type != YAML_SEQUENCE_NODE) {
		cfg_problem(c, n, path, "expected a list of domain names");
		return;
	}
	yaml_node_item_t single = 0;
	yaml_node_item_t *start = n->data.sequence.items.start, *top = n->data.sequence.items.top;
	if (n->type == YAML_SCALAR_NODE) {
		single = (yaml_node_item_t)(n - c->doc->nodes.start) + 1;
		start = &single;
		top = &single + 1;
	}
	for (yaml_node_item_t *i = start; i < top; i++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *i);
		const char *v = scalar(e);
		char canon[256];
		if (v == NULL || obs_dname_canon(v, canon, sizeof(canon)) != OBS_EOK) {
			cfg_problem(c, e, path, "'%s': not a valid domain name", v ? v : "?");
			continue;
		}
		char **p = grow(*arr, cnt, sizeof(char *));
		if (p == NULL)
			return;
		*arr = p;
		p[*cnt - 1] = strdup(canon);
	}
}

static void parse_providers(struct cfg_ctx *c, yaml_node_t *n, const char *path, obs_cfg_zone_t *z)
{
	if (n->type != YAML_MAPPING_NODE) {
		cfg_problem(c, n, path, "expected a map of provider name -> { ns: [...] }");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
		const char *pname = scalar(k);
		char sub[256];
		snprintf(sub, sizeof(sub), "%s.%s", path, pname ? pname : "?");
		if (pname == NULL || *pname == '\0') {
			cfg_problem(c, k, path, "provider name must be a scalar");
			continue;
		}
		for (size_t i = 0; i < z->providers_n; i++) {
			if (strcmp(z->providers[i].name, pname) == 0)
				cfg_problem(c, k, sub, "duplicate provider");
		}
		obs_cfg_provider_t *arr = grow(z->providers, &z->providers_n, sizeof(*arr));
		if (arr == NULL)
			return;
		z->providers = arr;
		obs_cfg_provider_t *pr = &arr[z->providers_n - 1];
		pr->name = strdup(pname);
		if (v->type != YAML_MAPPING_NODE) {
			cfg_problem(c, v, sub, "expected { ns: [host names] }");
			continue;
		}
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
		     q < v->data.mapping.pairs.top; q++) {
			const char *key = scalar(yaml_document_get_node(c->doc, q->key));
			yaml_node_t *val = yaml_document_get_node(c->doc, q->value);
			char leaf[300];
			snprintf(leaf, sizeof(leaf), "%s.%s", sub, key ? key : "?");
			if (key && strcmp(key, "ns") == 0)
				parse_name_list(c, val, leaf, &pr->ns, &pr->ns_n);
			else if (key && strcmp(key, "suffix") == 0)
				parse_name_list(c, val, leaf, &pr->suffix, &pr->suffix_n);
			else
				cfg_problem(c, yaml_document_get_node(c->doc, q->key), leaf,
					    "unknown key (expected ns or suffix)");
		}
		if (pr->ns_n == 0 && pr->suffix_n == 0)
			cfg_problem(c, v, sub, "a provider needs at least one ns or suffix");
	}
}

static void parse_nsaddrs(struct cfg_ctx *c, yaml_node_t *n, const char *path, obs_cfg_zone_t *z)
{
	if (n->type != YAML_MAPPING_NODE) {
		cfg_problem(c, n, path, "expected a map of NS host name -> [addresses]");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		const char *name = scalar(k);
		char canon[256], sub[300];
		snprintf(sub, sizeof(sub), "%s.%s", path, name ? name : "?");
		if (name == NULL || obs_dname_canon(name, canon, sizeof(canon)) != OBS_EOK) {
			cfg_problem(c, k, sub, "not a valid domain name");
			continue;
		}
		obs_cfg_nsaddr_t *arr = grow(z->nsaddrs, &z->nsaddrs_n, sizeof(*arr));
		if (arr == NULL)
			return;
		z->nsaddrs = arr;
		obs_cfg_nsaddr_t *na = &arr[z->nsaddrs_n - 1];
		na->ns = strdup(canon);
		struct cfg_item it = {"",
				      CFG_ADDR_LIST,
				      NULL,
				      0,
				      0,
				      F(obs_cfg_nsaddr_t, addrs),
				      F(obs_cfg_nsaddr_t, addrs_n),
				      false,
				      ""};
		parse_scalar_list(c, &it, yaml_document_get_node(c->doc, p->value), sub, na);
	}
}

static const struct cfg_item *find_item(const struct cfg_item *items, const char *key)
{
	for (const struct cfg_item *it = items; it->key; it++) {
		if (strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

static void apply_defaults(const struct cfg_item *items, void *base)
{
	for (const struct cfg_item *it = items; it->key; it++) {
		if (it->def)
			(void)parse_value(it, it->def, (char *)base + it->off);
	}
}

/* Walk a mapping against a table. `extra` lists keys handled by the caller (skipped here). */
static void parse_section(struct cfg_ctx *c, const struct cfg_item *items, yaml_node_t *n,
			  const char *path, void *base, const char *const *extra)
{
	if (n->type != YAML_MAPPING_NODE) {
		cfg_problem(c, n, path, "expected a map");
		return;
	}
	for (const struct cfg_item *it = items; it->key; it++) {
		bool found = false;
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(yaml_document_get_node(c->doc, p->key));
			if (k && strcmp(k, it->key) == 0)
				found = true;
		}
		if (it->required && !found)
			cfg_problem(c, n, path, "missing required key '%s'", it->key);
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const char *k = scalar(kn);
		char sub[300];
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k ? k : "?");
		if (k == NULL) {
			cfg_problem(c, kn, path, "keys must be scalars");
			continue;
		}
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
			const char *prev = scalar(yaml_document_get_node(c->doc, q->key));
			if (prev && strcmp(prev, k) == 0)
				cfg_problem(c, kn, sub, "duplicate key");
		}
		bool skip = false;
		for (const char *const *e = extra; e && *e; e++)
			skip = skip || strcmp(*e, k) == 0;
		if (skip)
			continue;
		const struct cfg_item *it = find_item(items, k);
		if (it == NULL) {
			cfg_problem(c, kn, sub, "unknown key");
			continue;
		}
		void *dst = (char *)base + it->off;
		switch (it->type) {
		case CFG_ADDR_LIST:
		case CFG_RRKEY_LIST:
			parse_scalar_list(c, it, vn, sub, base);
			break;
		case CFG_PROVIDERS:
			parse_providers(c, vn, sub, base);
			break;
		case CFG_NSADDRS:
			parse_nsaddrs(c, vn, sub, base);
			break;
		default: {
			const char *v = scalar(vn);
			const char *err = v ? parse_value(it, v, dst) : "expected a scalar value";
			if (err)
				cfg_problem(c, vn, sub, "'%s': %s", v ? v : "", err);
		}
		}
	}
}

static void check_timing(struct cfg_ctx *c, yaml_node_t *n, const char *path,
			 const obs_cfg_timing_t *t)
{
	if ((obs_usec_t)t->retries * t->timeout > t->poll)
		cfg_problem(
		    c, n, path,
		    "retries x timeout is longer than the poll period: rounds would overlap");
}

static void check_zone(struct cfg_ctx *c, yaml_node_t *n, const char *path, obs_cfg_zone_t *z,
		       const obs_config_t *cfg)
{
	if (z->name == NULL)
		return;
	if (z->nx_canary == NULL) {
		char buf[300];
		snprintf(buf, sizeof(buf), "obs-nx.%s", z->name);
		z->nx_canary = strdup(buf);
	}
	for (size_t i = 0; i < z->providers_n; i++) {
		for (size_t j = 0; j < z->providers[i].ns_n; j++) {
			const obs_cfg_provider_t *pr =
			    obs_config_provider_of(z, z->providers[i].ns[j]);
			if (pr != &z->providers[i])
				cfg_problem(c, n, path,
					    "NS name %s is listed by providers %s and %s",
					    z->providers[i].ns[j], pr->name, z->providers[i].name);
		}
	}
	for (size_t i = 0; i < cfg->zones_n; i++) {
		if (&cfg->zones[i] != z && cfg->zones[i].name &&
		    strcmp(cfg->zones[i].name, z->name) == 0)
			cfg_problem(c, n, path, "zone %s is configured twice", z->name);
	}
}

static void parse_zones(struct cfg_ctx *c, yaml_node_t *n, obs_config_t *cfg)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_problem(c, n, "zones", "expected a list of zones");
		return;
	}
	static const char *const zone_timing[] = {"poll",   "timeout", "retries", "rate-per-server",
						  "jitter", NULL};
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		yaml_node_t *zn = yaml_document_get_node(c->doc, *i);
		obs_cfg_zone_t *arr = grow(cfg->zones, &cfg->zones_n, sizeof(*arr));
		if (arr == NULL)
			return;
		cfg->zones = arr;
		obs_cfg_zone_t *z = &arr[cfg->zones_n - 1];
		char path[64];
		snprintf(path, sizeof(path), "zones[%zu]", cfg->zones_n - 1);
		z->line = (int)zn->start_mark.line + 1;
		z->timing = cfg->defaults;
		parse_section(c, zone_items, zn, path, z, zone_timing);
		/* per-zone overrides of the timing keys */
		if (zn->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = zn->data.mapping.pairs.start;
			     p < zn->data.mapping.pairs.top; p++) {
				const char *k = scalar(yaml_document_get_node(c->doc, p->key));
				const struct cfg_item *it = k ? find_item(timing_items, k) : NULL;
				if (it == NULL)
					continue;
				const char *v = scalar(yaml_document_get_node(c->doc, p->value));
				const char *err =
				    v ? parse_value(it, v, (char *)&z->timing + it->off)
				      : "expected a scalar value";
				if (err) {
					char kp[100];
					snprintf(kp, sizeof(kp), "%s.%s", path, k);
					cfg_problem(c, yaml_document_get_node(c->doc, p->value), kp,
						    "%s", err);
				}
			}
		}
		check_zone(c, zn, path, z, cfg);
		check_timing(c, zn, path, &z->timing);
	}
}

static void parse_resolvers(struct cfg_ctx *c, yaml_node_t *n, obs_config_t *cfg)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_problem(c, n, "resolvers", "expected a list of resolvers");
		return;
	}
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		yaml_node_t *rn = yaml_document_get_node(c->doc, *i);
		obs_cfg_resolver_t *arr = grow(cfg->resolvers, &cfg->resolvers_n, sizeof(*arr));
		if (arr == NULL)
			return;
		cfg->resolvers = arr;
		obs_cfg_resolver_t *r = &arr[cfg->resolvers_n - 1];
		char path[64];
		snprintf(path, sizeof(path), "resolvers[%zu]", cfg->resolvers_n - 1);
		r->line = (int)rn->start_mark.line + 1;
		parse_section(c, resolver_items, rn, path, r, NULL);
		for (size_t j = 0; j + 1 < cfg->resolvers_n && r->name; j++) {
			if (cfg->resolvers[j].name && strcmp(cfg->resolvers[j].name, r->name) == 0)
				cfg_problem(c, rn, path, "resolver name '%s' used twice", r->name);
		}
		if (r->pinned) {
			bool known = false;
			for (size_t z = 0; z < cfg->zones_n; z++) {
				for (size_t p = 0; p < cfg->zones[z].providers_n; p++)
					known = known || strcmp(cfg->zones[z].providers[p].name,
								r->pinned) == 0;
			}
			if (!known) {
				char kp[80];
				snprintf(kp, sizeof(kp), "%s.pinned", path);
				cfg_problem(c, rn, kp, "no zone has a provider named '%s'",
					    r->pinned);
			}
		}
	}
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

int obs_config_load_string(const char *text, size_t len, const char *name, obs_cfg_report_fn report,
			   void *arg, obs_config_t **out)
{
	*out = NULL;
	struct cfg_ctx c = {.file = name, .report = report, .arg = arg};
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return OBS_ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "YAML syntax: %s",
			 parser.problem ? parser.problem : "error");
		if (report)
			report(arg, name, (int)parser.problem_mark.line + 1, "", msg);
		yaml_parser_delete(&parser);
		return OBS_ECONFIG;
	}
	yaml_parser_delete(&parser);
	c.doc = &doc;

	obs_config_t *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		yaml_document_delete(&doc);
		return OBS_ENOMEM;
	}
	cfg->file = strdup(name);
	apply_defaults(collector_items, cfg);
	apply_defaults(timing_items, &cfg->defaults);

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		cfg_problem(&c, root, "",
			    "the file must be a map (collector, defaults, zones, "
			    "resolvers)");
	} else {
		static const char *const top[] = {"collector", "defaults", "zones", "resolvers",
						  NULL};
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
			const char *k = scalar(kn);
			bool ok = false;
			for (const char *const *t = top; *t; t++)
				ok = ok || (k && strcmp(k, *t) == 0);
			if (!ok)
				cfg_problem(&c, kn, k ? k : "?", "unknown key");
		}
		yaml_node_t *n;
		if ((n = map_get(&doc, root, "collector")))
			parse_section(&c, collector_items, n, "collector", cfg, NULL);
		if ((n = map_get(&doc, root, "defaults"))) {
			parse_section(&c, timing_items, n, "defaults", &cfg->defaults, NULL);
			check_timing(&c, n, "defaults", &cfg->defaults);
		}
		if ((n = map_get(&doc, root, "zones")))
			parse_zones(&c, n, cfg);
		else
			cfg_problem(&c, root, "zones", "missing: at least one zone is needed");
		if ((n = map_get(&doc, root, "resolvers")))
			parse_resolvers(&c, n, cfg);
		if (cfg->address_resolver) {
			bool known = false;
			for (size_t i = 0; i < cfg->resolvers_n; i++)
				known = known || (cfg->resolvers[i].name &&
						  strcmp(cfg->resolvers[i].name,
							 cfg->address_resolver) == 0);
			if (!known)
				cfg_problem(&c, map_get(&doc, root, "collector"),
					    "collector.address-resolver", "no resolver named '%s'",
					    cfg->address_resolver);
		}
	}
	yaml_document_delete(&doc);
	if (c.problems > 0) {
		obs_config_free(cfg);
		return OBS_ECONFIG;
	}
	*out = cfg;
	return OBS_EOK;
}

int obs_config_load(const char *path, obs_cfg_report_fn report, void *arg, obs_config_t **out)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	struct stat sb;
	if (f != NULL && (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (f == NULL) {
		int err = -errno;
		if (report)
			report(arg, path, 0, "",
			       err == -EISDIR ? "not a regular file" : strerror(-err));
		return err;
	}
	char *buf = malloc(CFG_MAX_FILE + 1);
	size_t n = buf ? fread(buf, 1, CFG_MAX_FILE + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return OBS_ENOMEM;
	if (n > CFG_MAX_FILE) {
		free(buf);
		if (report)
			report(arg, path, 0, "", "file larger than 4 MiB");
		return OBS_ETOOBIG;
	}
	int ret = obs_config_load_string(buf, n, path, report, arg, out);
	free(buf);
	return ret;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void obs_config_free(obs_config_t *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->zones_n; i++) {
		obs_cfg_zone_t *z = &cfg->zones[i];
		free(z->name);
		free(z->parents);
		for (size_t p = 0; p < z->providers_n; p++) {
			free(z->providers[p].name);
			free_names(z->providers[p].ns, z->providers[p].ns_n);
			free_names(z->providers[p].suffix, z->providers[p].suffix_n);
		}
		free(z->providers);
		for (size_t k = 0; k < z->canaries_n; k++)
			free(z->canaries[k].name);
		free(z->canaries);
		free(z->nx_canary);
		free(z->bogus.name);
		for (size_t k = 0; k < z->nsaddrs_n; k++) {
			free(z->nsaddrs[k].ns);
			free(z->nsaddrs[k].addrs);
		}
		free(z->nsaddrs);
	}
	free(cfg->zones);
	for (size_t i = 0; i < cfg->resolvers_n; i++) {
		free(cfg->resolvers[i].name);
		free(cfg->resolvers[i].pinned);
	}
	free(cfg->resolvers);
	free(cfg->file);
	free(cfg->name);
	free(cfg->db);
	free(cfg->address_resolver);
	free(cfg);
}

static bool name_under(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	if (s > n)
		return false;
	if (strcmp(name + n - s, suffix) != 0)
		return false;
	return s == n || strcmp(suffix, ".") == 0 || name[n - s - 1] == '.';
}

const obs_cfg_provider_t *obs_config_provider_of(const obs_cfg_zone_t *z, const char *ns)
{
	for (size_t i = 0; i < z->providers_n; i++) {
		for (size_t j = 0; j < z->providers[i].ns_n; j++) {
			if (strcmp(z->providers[i].ns[j], ns) == 0)
				return &z->providers[i];
		}
	}
	for (size_t i = 0; i < z->providers_n; i++) {
		for (size_t j = 0; j < z->providers[i].suffix_n; j++) {
			if (name_under(ns, z->providers[i].suffix[j]))
				return &z->providers[i];
		}
	}
	return NULL;
}

static void print_table(FILE *out, const char *section, const struct cfg_item *items)
{
	for (const struct cfg_item *it = items; it->key; it++) {
		fprintf(out, "  %s.%-18s %-24s", section, it->key, cfg_type_names[it->type]);
		if (it->def)
			fprintf(out, " default %s", it->def);
		if (it->required)
			fprintf(out, " (required)");
		if (it->type == CFG_UINT)
			fprintf(out, " [%.0f..%.0f]", it->min, it->max);
		fprintf(out, "\n      %s\n", it->help);
	}
}

void obs_config_print_keys(FILE *out)
{
	fprintf(out, "Configuration keys (YAML):\n");
	print_table(out, "collector", collector_items);
	print_table(out, "defaults", timing_items);
	print_table(out, "zones[]", zone_items);
	fprintf(out, "  zones[] also accept the defaults keys to override them per zone.\n");
	print_table(out, "zones[].providers.NAME", provider_items);
	print_table(out, "resolvers[]", resolver_items);
}
