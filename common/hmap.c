/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "obs_err.h"

int obs_hmap_init(obs_hmap_t *m, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->cap = 1024;
	m->max = max;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	return m->slots ? OBS_EOK : OBS_ENOMEM;
}

void obs_hmap_free(obs_hmap_t *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static size_t slot_of(const uint8_t *key, size_t cap)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)h & (cap - 1);
}

obs_hmap_entry_t *obs_hmap_get(const obs_hmap_t *m, const uint8_t *key)
{
	for (size_t i = slot_of(key, m->cap), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
		obs_hmap_entry_t *e = &m->slots[i];
		if (!e->used)
			return NULL;
		if (memcmp(e->key, key, OBS_HMAP_KEY) == 0)
			return e;
	}
	return NULL;
}

static int grow(obs_hmap_t *m)
{
	size_t ncap = m->cap * 2;
	obs_hmap_entry_t *ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return OBS_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		size_t j = slot_of(m->slots[i].key, ncap);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return OBS_EOK;
}

obs_hmap_entry_t *obs_hmap_put(obs_hmap_t *m, const uint8_t *key, bool *cleared)
{
	if (cleared)
		*cleared = false;
	if (m->max && m->n >= m->max) {
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
		m->n = 0;
		if (cleared)
			*cleared = true;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m) != OBS_EOK)
		return NULL;
	size_t i = slot_of(key, m->cap);
	while (m->slots[i].used)
		i = (i + 1) & (m->cap - 1);
	obs_hmap_entry_t *e = &m->slots[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, OBS_HMAP_KEY);
	e->used = 1;
	m->n++;
	return e;
}
