-- SPDX-License-Identifier: MIT
-- Analysis database, migration 10: the collectors' wall-clock steps (collector migration 4;
-- reliability targets E4, C10), copied above a per-collector high-water mark (hwm.tbl
-- 'clock_step', on the collector's row id). One row per step a collector detected by comparing
-- its realtime and monotonic clocks:
--   collector_id, src_id: the collector and its clock_step row id;
--   t_before, t_after: that collector's realtime just before and just after the step (as
--     observation.t, in that collector's clock); its polls stamped between min(t_before,
--     t_after) and max(t_before, t_after) may come from either side of the step;
--   mono_before, mono_after: its monotonic clock at the two checks;
--   step_us: (t_after - t_before) - (mono_after - mono_before), > 0 forward, < 0 back.
-- A status or whatif whose evidence window (the freshness period and the largest TTL of the
-- zone's versions before `at`) overlaps that span for a collector with targets in the zone is
-- `unknown` (analyzer/verdict.c).
CREATE TABLE clock_step (
	id INTEGER PRIMARY KEY,
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	t_before INTEGER NOT NULL,
	t_after INTEGER NOT NULL,
	mono_before INTEGER NOT NULL,
	mono_after INTEGER NOT NULL,
	step_us INTEGER NOT NULL,
	UNIQUE (collector_id, src_id)
) STRICT;
