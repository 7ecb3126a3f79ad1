# The two commands of the README. Both install whatever is missing first.
.PHONY: dev test setup

dev:
	./scripts/dev.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh
