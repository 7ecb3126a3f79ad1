-- end_with_last_tab (SPEC §3): the last thing a browser session's tabs said (visible, hidden,
-- closed) and when. NULL: its tabs never spoke (no WebAssembly, a script), and the rule leaves
-- it alone. The partial index lets the sweep find the sessions whose tabs closed or went
-- silent without reading the others.
ALTER TABLE sessions ADD COLUMN tabs_signal TEXT;
ALTER TABLE sessions ADD COLUMN tabs_at INTEGER;
CREATE INDEX sessions_live_tabs ON sessions (kind, remember, tabs_signal, tabs_at)
    WHERE ended_at IS NULL AND tabs_signal IS NOT NULL;
