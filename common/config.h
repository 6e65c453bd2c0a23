/* SPDX-License-Identifier: MIT */
/* The observatory's configuration file (YAML, Knot-style), parsed by libyaml and driven by
 * key tables (config.c) that also produce `--help`-style key documentation.
 *
 * All names are stored canonical: lower case, absolute (trailing dot). The whole tree is
 * owned by the obs_config_t and freed with obs_config_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "clock.h"

typedef struct obs_cfg_rrkey {
	char *name;    /* owner name */
	uint16_t type; /* RR type */
} obs_cfg_rrkey_t;

typedef struct obs_cfg_provider {
	char *name;
	char **ns; /* NS host names that map to this provider exactly */
	size_t ns_n;
	char **suffix; /* NS host names under one of these map to it too */
	size_t suffix_n;
} obs_cfg_provider_t;

typedef struct obs_cfg_nsaddr {
	char *ns; /* NS host name given explicit addresses (no resolution needed) */
	obs_addr_t *addrs;
	size_t addrs_n;
} obs_cfg_nsaddr_t;

typedef struct obs_cfg_timing {
	obs_usec_t poll;    /* period between two rounds at a target */
	obs_usec_t timeout; /* per attempt */
	uint64_t retries;   /* extra attempts after a timeout */
	uint64_t rate;      /* queries per second per server (token bucket) */
	uint64_t jitter;    /* percent of the poll period */
} obs_cfg_timing_t;

typedef struct obs_cfg_zone {
	char *name;
	obs_addr_t *parents;
	size_t parents_n;
	obs_cfg_provider_t *providers;
	size_t providers_n;
	obs_cfg_rrkey_t *canaries;
	size_t canaries_n;
	char *nx_canary;       /* a name that does not exist (NXDOMAIN canary) */
	obs_cfg_rrkey_t bogus; /* known-bad canary; name NULL when not configured */
	obs_cfg_nsaddr_t *nsaddrs;
	size_t nsaddrs_n;
	obs_cfg_timing_t timing;
	int line;
} obs_cfg_zone_t;

typedef struct obs_cfg_resolver {
	char *name;
	obs_addr_t addr;
	char *pinned; /* provider name or NULL */
	int line;
} obs_cfg_resolver_t;

typedef struct obs_config {
	char *file;
	char *name; /* the collector's name */
	char *db;
	obs_usec_t stats_interval;
	uint64_t max_inflight;
	char *address_resolver; /* resolver used to resolve NS host names; NULL = first unpinned */
	uint64_t udp_offload;   /* 1: UDP segmentation offload for equal-sized queries (engine) */
	obs_cfg_timing_t defaults;
	obs_cfg_zone_t *zones;
	size_t zones_n;
	obs_cfg_resolver_t *resolvers;
	size_t resolvers_n;
} obs_config_t;

/* Receives every problem found: file, 1-based line, key path ("zones[0].providers.a.ns"). */
typedef void (*obs_cfg_report_fn)(void *arg, const char *file, int line, const char *key,
				  const char *problem);

/* Load and validate `path`. Every problem goes to report (may be NULL). Returns OBS_EOK and
 * sets *out (caller frees with obs_config_free), or OBS_ECONFIG / -errno and leaves *out NULL. */
int obs_config_load(const char *path, obs_cfg_report_fn report, void *arg, obs_config_t **out);

/* Same, from a string; `name` stands for the file name in reports. */
int obs_config_load_string(const char *text, size_t len, const char *name, obs_cfg_report_fn report,
			   void *arg, obs_config_t **out);

void obs_config_free(obs_config_t *cfg);

/* The provider an NS host name maps to (exact name first, then suffixes), or NULL. */
const obs_cfg_provider_t *obs_config_provider_of(const obs_cfg_zone_t *z, const char *ns);

/* Write the documentation of every key (key, type, default, range, meaning). */
void obs_config_print_keys(FILE *out);

/* RR type from its mnemonic ("DNSKEY", "TYPE65280"); 0 when unknown. */
uint16_t obs_rrtype_from_str(const char *s);

/* Canonicalise a domain name into buf (lower case, trailing dot). OBS_ESYNTAX when invalid. */
int obs_dname_canon(const char *in, char *buf, size_t len);
