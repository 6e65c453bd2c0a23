/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "obs_err.h"

typedef struct wc_entry {
	char *key; /* NULL: free slot */
	char *body;
	size_t len;
	uint64_t gen;
	obs_usec_t built;
	uint64_t used; /* LRU tick */
	char tag[16];
} wc_entry_t;

struct wc {
	wc_entry_t e[WC_SLOTS];
	size_t bytes;
	uint64_t tick;
	wc_stats_t st;
};

int wc_new(wc_t **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? OBS_EOK : OBS_ENOMEM;
}

static void drop(wc_t *c, wc_entry_t *e)
{
	if (e->key == NULL)
		return;
	c->bytes -= e->len;
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

void wc_free(wc_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < WC_SLOTS; i++)
		drop(c, &c->e[i]);
	free(c);
}

static wc_entry_t *find(wc_t *c, const char *key)
{
	for (size_t i = 0; i < WC_SLOTS; i++)
		if (c->e[i].key && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

const char *wc_get(wc_t *c, const char *key, uint64_t gen, obs_usec_t now, size_t *len,
		   obs_usec_t *built, const char **tag)
{
	wc_entry_t *e = find(c, key);
	if (e && (e->gen != gen || now - e->built >= WC_MAX_AGE || now < e->built)) {
		drop(c, e);
		e = NULL;
	}
	if (e == NULL) {
		c->st.misses++;
		return NULL;
	}
	c->st.hits++;
	e->used = ++c->tick;
	*len = e->len;
	*built = e->built;
	*tag = e->tag;
	return e->body;
}

/* The least recently used entry, or NULL when the cache is empty; with free_first, a free
 * slot when there is one. */
static wc_entry_t *victim(wc_t *c, bool free_first)
{
	wc_entry_t *v = NULL;
	for (size_t i = 0; i < WC_SLOTS; i++) {
		if (c->e[i].key == NULL) {
			if (free_first)
				return &c->e[i];
			continue;
		}
		if (v == NULL || c->e[i].used < v->used)
			v = &c->e[i];
	}
	return v;
}

void wc_put(wc_t *c, const char *key, uint64_t gen, obs_usec_t now, const char *body, size_t len,
	    const char *tag)
{
	size_t klen = strlen(key);
	if (klen > WC_MAX_KEY || len > WC_MAX_BYTES / 4)
		return;
	wc_entry_t *old = find(c, key);
	if (old)
		drop(c, old);
	wc_entry_t *v;
	while (c->bytes + len > WC_MAX_BYTES && (v = victim(c, false)) != NULL) {
		drop(c, v);
		c->st.evictions++;
	}
	wc_entry_t *e = victim(c, true);
	if (e->key) {
		drop(c, e);
		c->st.evictions++;
	}
	char *k = malloc(klen + 1), *b = malloc(len ? len : 1);
	if (k == NULL || b == NULL) {
		free(k);
		free(b);
		return;
	}
	memcpy(k, key, klen + 1);
	memcpy(b, body, len);
	*e = (wc_entry_t){
	    .key = k, .body = b, .len = len, .gen = gen, .built = now, .used = ++c->tick};
	if (tag) {
		strncpy(e->tag, tag, sizeof(e->tag) - 1);
		e->tag[sizeof(e->tag) - 1] = '\0';
	}
	c->bytes += len;
	c->st.stores++;
}

void wc_stats(const wc_t *c, wc_stats_t *out)
{
	*out = c->st;
	out->entries = 0;
	for (size_t i = 0; i < WC_SLOTS; i++)
		out->entries += c->e[i].key != NULL;
	out->bytes = c->bytes;
}
