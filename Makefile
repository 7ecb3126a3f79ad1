# The two commands of the README. Both install whatever is missing first.
.PHONY: dev test setup release bench bench-tabs bench-scale footprint

dev:
	./scripts/dev.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

# The production site: release server, client bundle with brotli and gzip copies (best levels),
# and the bundle's bytes over the wire.
release:
	./scripts/release.sh

# Requests/s and p99 of the main paths beside a bare axum route (release builds, wrk; medians
# of 3 rounds): ./scripts/bench.sh [SECONDS] [ROUNDS]
bench:
	./scripts/bench.sh

# Database statements per request and server CPU under 5,000 idle tabs polling their status.
bench-tabs:
	./scripts/bench-tabs.sh

# 1,000,000 stored sessions: one user's list, and a sweep of 100,000 expiring sessions under
# traffic (p99 latencies, wrk): ./scripts/bench-scale.sh sqlite|postgres
bench-scale:
	./scripts/bench-scale.sh sqlite
	./scripts/bench-scale.sh postgres

# Start-up time to the first answer (empty database; 1,000,000 stored sessions) and resident
# memory with 100,000 live sessions cached: ./scripts/footprint.sh [SESSIONS]
footprint:
	./scripts/footprint.sh
