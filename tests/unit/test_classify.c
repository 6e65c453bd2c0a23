/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "answer.h"
#include "classify.h"

struct class_case {
	const char *name;
	class_obs_t cd0, cd1;
	enum store_outcome want;
};

Test(classify, outcome_table)
{
	static const struct class_case cases[] = {
	    {"validated", {ST_ANSWERED, 0, ANS_F_AD}, {ST_ANSWERED, 0, 0}, OUT_SECURE},
	    {"validated nxdomain", {ST_ANSWERED, 3, ANS_F_AD}, {ST_ANSWERED, 3, 0}, OUT_SECURE},
	    {"no AD", {ST_ANSWERED, 0, 0}, {ST_ANSWERED, 0, 0}, OUT_INSECURE},
	    {"servfail, data with cd", {ST_ANSWERED, 2, 0}, {ST_ANSWERED, 0, 0}, OUT_BOGUS},
	    {"servfail, nxdomain with cd", {ST_ANSWERED, 2, 0}, {ST_ANSWERED, 3, 0}, OUT_BOGUS},
	    {"servfail both", {ST_ANSWERED, 2, 0}, {ST_ANSWERED, 2, 0}, OUT_LOST},
	    {"servfail, cd timeout", {ST_ANSWERED, 2, 0}, {ST_TIMEOUT, 0, 0}, OUT_LOST},
	    {"timeout", {ST_TIMEOUT, 0, 0}, {ST_ANSWERED, 0, 0}, OUT_LOST},
	    {"refused", {ST_ANSWERED, 5, 0}, {ST_ANSWERED, 5, 0}, OUT_LOST},
	    {"malformed", {ST_MALFORMED, 0, 0}, {ST_ANSWERED, 0, 0}, OUT_LOST},
	    {"truncated only", {ST_TRUNCATED, 0, 0}, {ST_ANSWERED, 0, 0}, OUT_LOST},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(class_outcome(&cases[i].cd0, &cases[i].cd1), cases[i].want, "case %s",
			     cases[i].name);
}
