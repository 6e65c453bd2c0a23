-- SPDX-License-Identifier: MIT
-- Collector database, migration 4: wall-clock steps (reliability targets E4, C10). Observation
-- times are CLOCK_REALTIME readings, which NTP or an operator may step; the collector compares
-- the realtime delta with the CLOCK_MONOTONIC delta between consecutive checks (every polling
-- round and stats tick) and records each disagreement over 1 s here, one row per step, so the
-- analyzer can refuse verdicts whose evidence straddles one.
--   t_before: realtime (us since the epoch) at the previous check, before the step;
--   t_after: realtime at the check that saw the step, after it; realtime instants between
--     min(t_before, t_after) and max(t_before, t_after) are ambiguous (observations stamped
--     there may come from either side of the step);
--   mono_before, mono_after: CLOCK_MONOTONIC (us, arbitrary origin) at those two checks;
--   step_us: the size of the step, (t_after - t_before) - (mono_after - mono_before):
--     positive when the wall clock jumped forward, negative when it went back.
CREATE TABLE clock_step (
	id INTEGER PRIMARY KEY,
	t_before INTEGER NOT NULL,
	t_after INTEGER NOT NULL,
	mono_before INTEGER NOT NULL,
	mono_after INTEGER NOT NULL,
	step_us INTEGER NOT NULL
) STRICT;
