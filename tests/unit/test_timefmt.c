/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "obs_err.h"
#include "timefmt.h"

Test(timefmt, format_and_parse_round_trip)
{
	char buf[OBS_TIME_STRLEN];
	obs_usec_t t = INT64_C(1795817354123000); /* 2026-11-27T22:09:14.123Z */
	cr_assert_str_eq(obs_time_format(t, buf, sizeof(buf)), "2026-11-27T22:09:14.123Z");
	obs_usec_t back = 0;
	cr_assert_eq(obs_time_parse(buf, 0, &back), OBS_EOK);
	cr_assert_eq(back, t);
	cr_assert_eq(obs_time_parse("2026-11-27T23:09:14.123+01:00", 0, &back), OBS_EOK);
	cr_assert_eq(back, t);
	cr_assert_eq(obs_time_parse("+30", 1000, &back), OBS_EOK);
	cr_assert_eq(back, 1000 + 30 * OBS_USEC_PER_SEC);
	cr_assert_eq(obs_time_parse("-1.5", 0, &back), OBS_EOK);
	cr_assert_eq(back, -1500000);
}

Test(timefmt, bad_times)
{
	static const char *const bad[] = {
	    "",  "2026-13-01T00:00:00Z", "2026-11-27 22:09", "yesterday", "2026-11-27T22:09:14",
	    "+", "2026-11-27T22:09:14.Z"};
	obs_usec_t t;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(obs_time_parse(bad[i], 0, &t), OBS_ESYNTAX, "%s", bad[i]);
}

Test(timefmt, durations)
{
	static const struct {
		const char *s;
		obs_usec_t v;
		int ret;
	} cases[] = {{"1s", 1000000, OBS_EOK},    {"800ms", 800000, OBS_EOK},
		     {"2", 2000000, OBS_EOK},     {"1.5m", 90000000, OBS_EOK},
		     {"1h", 3600000000, OBS_EOK}, {"250us", 250, OBS_EOK},
		     {"-1s", 0, OBS_ERANGE},      {"1w", 0, OBS_ESYNTAX},
		     {"", 0, OBS_ESYNTAX},        {"s", 0, OBS_ESYNTAX}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		obs_usec_t v = 0;
		cr_assert_eq(obs_duration_parse(cases[i].s, &v), cases[i].ret, "%s", cases[i].s);
		if (cases[i].ret == OBS_EOK)
			cr_assert_eq(v, cases[i].v, "%s", cases[i].s);
	}
}
