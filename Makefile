# The two commands of the README. Both install whatever is missing first.
.PHONY: dev test setup bench bench-tabs

dev:
	./scripts/dev.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

# Requests/s and p99 of the main paths beside a bare axum route (release builds, wrk).
bench:
	./scripts/bench.sh

# Database statements per request and server CPU under 5,000 idle tabs polling their status.
bench-tabs:
	./scripts/bench-tabs.sh
