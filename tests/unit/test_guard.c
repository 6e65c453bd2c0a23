/* SPDX-License-Identifier: MIT */
/* The guard and the parse path on hostile input: the ldns 1.8.3 reproducers, TXT bombs,
 * compression loops, bad lengths and counts. Every case gets a defined status. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "guard.h"
#include "obs_err.h"

#define FIX "tests/fixtures/ldns-repro/"

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* guard, then (if it passes) the same parse the engine runs: must not crash or leak */
static int guard_then_parse(const uint8_t *w, size_t len)
{
	int r = guard_check(w, len, NULL);
	if (r != OBS_EOK)
		return r;
	ans_summary_t s;
	r = ans_parse(w, len, "example.", 1, &s);
	ans_summary_clear(&s);
	return r == OBS_EOK ? OBS_EOK : OBS_EMALFORMED;
}

Test(guard, ldns183_edns_chain_is_parsed_never_printed)
{
	uint8_t buf[512];
	size_t n = slurp(FIX "ldns183_edns_chain_nullderef.bin", buf, sizeof(buf));
	cr_assert_eq(n, 57);
	/* ldns parses it; it crashes only in ldns_pkt2buffer_str, which we never call */
	int r = guard_then_parse(buf, n);
	cr_assert(r == OBS_EOK || r == OBS_EMALFORMED);
}

Test(guard, ldns183_multi_tsig_rejected_before_ldns)
{
	uint8_t buf[512];
	size_t n = slurp(FIX "ldns183_wire2pkt_multi_tsig_leak.bin", buf, sizeof(buf));
	cr_assert_neq(guard_check(buf, n, NULL), OBS_EOK);
}

/* header + question example./A */
static size_t header(uint8_t *w, uint16_t an, uint16_t ns, uint16_t ar)
{
	static const uint8_t hq[] = {0x12, 0x34, 0x81, 0x80, 0,   1,   0,   0, 0, 0, 0, 0, 7,
				     'e',  'x',  'a',  'm',  'p', 'l', 'e', 0, 0, 1, 0, 1};
	memcpy(w, hq, sizeof(hq));
	w[6] = (uint8_t)(an >> 8);
	w[7] = (uint8_t)an;
	w[8] = (uint8_t)(ns >> 8);
	w[9] = (uint8_t)ns;
	w[10] = (uint8_t)(ar >> 8);
	w[11] = (uint8_t)ar;
	return sizeof(hq);
}

static size_t rr(uint8_t *w, size_t o, const uint8_t *name, size_t nlen, uint16_t type,
		 uint16_t rdlen)
{
	memcpy(w + o, name, nlen);
	o += nlen;
	uint8_t f[10] = {(uint8_t)(type >> 8),  (uint8_t)type, 0, 1, 0, 0, 0, 60,
			 (uint8_t)(rdlen >> 8), (uint8_t)rdlen};
	memcpy(w + o, f, 10);
	return o + 10;
}

static const uint8_t PTR_Q[] = {0xc0, 12};
static const uint8_t ROOT[] = {0};

Test(guard, txt_bombs)
{
	static const size_t sizes[] = {1200, 16384, 65000};
	uint8_t *w = malloc(70000);
	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];
		size_t o = header(w, 1, 0, 0);
		o = rr(w, o, PTR_Q, 2, 16, (uint16_t)n);
		memset(w + o, 0, n); /* n empty character-strings */
		o += n;
		cr_assert_eq(guard_check(w, o, NULL), OBS_ETOOBIG, "N=%zu", n);
	}
	free(w);
}

struct bad_case {
	const char *name;
	uint8_t wire[64];
	size_t len;
	int want;
};

Test(guard, malformed_table)
{
	uint8_t w[128];
	size_t o;
	/* built cases */
	o = header(w, 1, 0, 0);
	w[o] = 0xc0; /* self pointer */
	w[o + 1] = (uint8_t)o;
	o += 2;
	o = rr(w, o, ROOT, 0, 1, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "self pointer");

	o = header(w, 1, 0, 0);
	w[o] = 0xc0; /* forward pointer */
	w[o + 1] = 100;
	o += 2;
	o = rr(w, o, ROOT, 0, 1, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "forward pointer");

	o = header(w, 1, 0, 0);
	w[o] = 0xc0; /* pointer into the header */
	w[o + 1] = 2;
	o += 2;
	o = rr(w, o, ROOT, 0, 1, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "pointer below 12");

	o = header(w, 1, 0, 0);
	w[o++] = 0x40; /* extended label type (label length > 63) */
	o = rr(w, o, ROOT, 1, 1, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "label > 63");

	o = header(w, 1, 0, 0);
	o = rr(w, o, PTR_Q, 2, 1, 40); /* RDLENGTH past the end */
	cr_assert_eq(guard_check(w, o + 4, NULL), OBS_EMALFORMED, "rdlength past end");

	o = header(w, 3, 0, 0); /* counts larger than the records */
	o = rr(w, o, PTR_Q, 2, 1, 4);
	o += 4;
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "counts > records");

	o = header(w, 0, 0, 2); /* duplicate OPT */
	o = rr(w, o, ROOT, 1, 41, 0);
	o = rr(w, o, ROOT, 1, 41, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "two OPT");

	o = header(w, 0, 0, 1); /* OPT not at the root */
	o = rr(w, o, PTR_Q, 2, 41, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "OPT not root");

	o = header(w, 1, 0, 0); /* OPT in the answer section */
	o = rr(w, o, ROOT, 1, 41, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "OPT in answer");

	o = header(w, 0, 0, 2); /* two TSIG */
	o = rr(w, o, ROOT, 1, 250, 0);
	o = rr(w, o, ROOT, 1, 250, 0);
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "two TSIG");

	cr_assert_eq(guard_check(w, 11, NULL), OBS_EMALFORMED, "short header");
	cr_assert_eq(guard_check(w, 70000, NULL), OBS_ETOOBIG, "over 65535");

	o = header(w, 0, 0, 0);
	w[5] = 2; /* two questions */
	cr_assert_eq(guard_check(w, o, NULL), OBS_EMALFORMED, "qdcount 2");

	/* a name longer than 255 through labels */
	uint8_t *big = calloc(1, 2048);
	o = header(big, 1, 0, 0);
	for (int i = 0; i < 5; i++) {
		big[o++] = 63;
		memset(big + o, 'a', 63);
		o += 63;
	}
	big[o++] = 0;
	o = rr(big, o, ROOT, 0, 1, 0);
	cr_assert_eq(guard_check(big, o, NULL), OBS_EMALFORMED, "name > 255");
	free(big);

	/* a valid one passes, and reports its header */
	guard_info_t gi;
	o = header(w, 1, 0, 0);
	o = rr(w, o, PTR_Q, 2, 1, 4);
	memcpy(w + o, "\x7f\0\0\1", 4);
	o += 4;
	cr_assert_eq(guard_check(w, o, &gi), OBS_EOK);
	cr_assert_eq(gi.id, 0x1234);
	cr_assert_eq(gi.counts[1], 1);
	cr_assert_eq(guard_then_parse(w, o), OBS_EOK);
}

/* the E3 reproducer is presentation text: the config parser refuses it as a name without
 * handing it to ldns_rr_new_frm_str (which overflows on it) */
#include "config.h"
Test(guard, ldns183_rr_frm_str_text_refused_by_config)
{
	uint8_t buf[256];
	size_t n = slurp(FIX "ldns183_rr_frm_str_heap_overflow.txt", buf, sizeof(buf) - 1);
	buf[n] = 0;
	char canon[300];
	cr_assert_eq(obs_dname_canon((const char *)buf, canon, sizeof(canon)), OBS_ESYNTAX);
}
