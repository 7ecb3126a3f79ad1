# The two commands of the README. Both install whatever is missing first.
.PHONY: dev test setup bench

dev:
	./scripts/dev.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

# Requests/s and p99 of the main paths beside a bare axum route (release builds, wrk).
bench:
	./scripts/bench.sh
