/* SPDX-License-Identifier: MIT */
#include "clockstep.h"

bool cstep_check(cstep_t *s, obs_usec_t real, obs_usec_t mono, cstep_event_t *ev)
{
	bool step = false;
	if (s->primed) {
		/* saturating differences: readings are untrusted by definition here */
		obs_usec_t dreal =
		    obs_usec_shift(real, s->real == INT64_MIN ? INT64_MAX : -s->real);
		obs_usec_t dmono =
		    obs_usec_shift(mono, s->mono == INT64_MIN ? INT64_MAX : -s->mono);
		obs_usec_t diff = obs_usec_shift(dreal, dmono == INT64_MIN ? INT64_MAX : -dmono);
		if (diff > CSTEP_THRESHOLD || diff < -CSTEP_THRESHOLD) {
			step = true;
			*ev = (cstep_event_t){.t_before = s->real,
					      .t_after = real,
					      .mono_before = s->mono,
					      .mono_after = mono,
					      .step = diff};
		}
	}
	s->real = real;
	s->mono = mono;
	s->primed = true;
	return step;
}
