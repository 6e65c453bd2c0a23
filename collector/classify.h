/* SPDX-License-Identifier: MIT */
/* Resolver outcome classes (DESIGN.md §5) from the CD=0 and CD=1 answers of one round. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

typedef struct class_obs {
	enum store_status status;
	uint8_t rcode;
	uint16_t flags; /* ANS_F_* */
} class_obs_t;

/* secure: CD=0 answered (NOERROR or NXDOMAIN) with AD=1; insecure: the same with AD=0;
 * bogus: SERVFAIL with CD=0 and an answer (NOERROR or NXDOMAIN) with CD=1;
 * lost: no usable answer either way (timeout, errors, SERVFAIL with CD=1, REFUSED, ...). */
enum store_outcome class_outcome(const class_obs_t *cd0, const class_obs_t *cd1);
