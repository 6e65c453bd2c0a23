/* SPDX-License-Identifier: MIT */
/* obs-web's document cache: served only for the same data generation and within WC_MAX_AGE,
 * least recently used evicted first, bounded in entries and bytes, oversized bodies and keys
 * refused, tags kept. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../web/cache.h"

static wc_t *c;
static void setup(void)
{
	cr_assert_eq(wc_new(&c), 0);
}
static void teardown(void)
{
	wc_free(c);
}

TestSuite(web_cache, .init = setup, .fini = teardown);

static const char *get(const char *key, uint64_t gen, obs_usec_t now, size_t *len)
{
	obs_usec_t built;
	const char *tag;
	return wc_get(c, key, gen, now, len, &built, &tag);
}

Test(web_cache, hit_same_generation_within_age)
{
	size_t len = 0;
	cr_assert_null(get("/a", 1, 1000, &len));
	wc_put(c, "/a", 1, 1000, "{\"x\":1}", 7, "ok");
	const char *b = get("/a", 1, 1000 + WC_MAX_AGE - 1, &len);
	cr_assert_not_null(b);
	cr_assert_eq(len, 7);
	cr_assert_eq(memcmp(b, "{\"x\":1}", 7), 0);
	obs_usec_t built;
	const char *tag;
	cr_assert_not_null(wc_get(c, "/a", 1, 2000, &len, &built, &tag));
	cr_assert_str_eq(tag, "ok");
	cr_assert_eq(built, 1000);
	wc_stats_t st;
	wc_stats(c, &st);
	cr_assert_eq(st.hits, 2);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.bytes, 7);
}

Test(web_cache, new_generation_or_age_or_clock_step_back_misses)
{
	size_t len;
	wc_put(c, "/a", 1, 1000, "aa", 2, NULL);
	cr_assert_null(get("/a", 2, 1001, &len), "new data: the document is rebuilt");
	wc_put(c, "/a", 2, 1000, "bb", 2, NULL);
	cr_assert_null(get("/a", 2, 1000 + WC_MAX_AGE, &len), "too old");
	wc_put(c, "/a", 2, 5000, "cc", 2, NULL);
	cr_assert_null(get("/a", 2, 4999, &len), "clock stepped back");
	wc_stats_t st;
	wc_stats(c, &st);
	cr_assert_eq(st.entries, 0, "stale entries are dropped when found");
	cr_assert_eq(st.bytes, 0);
}

Test(web_cache, replace_same_key)
{
	size_t len;
	wc_put(c, "/a", 1, 0, "one", 3, NULL);
	wc_put(c, "/a", 1, 10, "second", 6, NULL);
	const char *b = get("/a", 1, 20, &len);
	cr_assert_eq(len, 6);
	cr_assert_eq(memcmp(b, "second", 6), 0);
	wc_stats_t st;
	wc_stats(c, &st);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.bytes, 6);
}

Test(web_cache, lru_eviction_when_slots_are_full)
{
	char key[32];
	size_t len;
	for (int i = 0; i < WC_SLOTS; i++) {
		snprintf(key, sizeof(key), "/k%d", i);
		wc_put(c, key, 1, 0, "v", 1, NULL);
	}
	cr_assert_not_null(get("/k0", 1, 1, &len), "touch the oldest: now the most recent");
	wc_put(c, "/new", 1, 2, "v", 1, NULL);
	cr_assert_not_null(get("/k0", 1, 3, &len));
	cr_assert_null(get("/k1", 1, 3, &len), "the least recently used went");
	cr_assert_not_null(get("/new", 1, 3, &len));
	wc_stats_t st;
	wc_stats(c, &st);
	cr_assert_eq(st.evictions, 1);
	cr_assert_eq(st.entries, WC_SLOTS);
}

Test(web_cache, byte_bound_and_oversized)
{
	static char big[WC_MAX_BYTES / 4 + 1];
	size_t len;
	memset(big, 'x', sizeof(big));
	wc_put(c, "/huge", 1, 0, big, sizeof(big), NULL);
	cr_assert_null(get("/huge", 1, 1, &len), "a body over a quarter of the bound is not kept");
	for (int i = 0; i < 5; i++) {
		char key[16];
		snprintf(key, sizeof(key), "/q%d", i);
		wc_put(c, key, 1, i, big, WC_MAX_BYTES / 4, NULL);
	}
	wc_stats_t st;
	wc_stats(c, &st);
	cr_assert_leq(st.bytes, WC_MAX_BYTES);
	cr_assert_eq(st.entries, 4);
	cr_assert_null(get("/q0", 1, 10, &len), "the oldest made room");
	cr_assert_not_null(get("/q4", 1, 10, &len));
	static char longkey[WC_MAX_KEY + 2];
	memset(longkey, 'k', WC_MAX_KEY + 1);
	wc_put(c, longkey, 1, 0, "v", 1, NULL);
	cr_assert_null(get(longkey, 1, 1, &len));
}
