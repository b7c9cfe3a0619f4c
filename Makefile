# The two commands of the README use these targets.
.PHONY: install quickstart test

install:
	@bash scripts/install.sh

quickstart: install
	@bash scripts/quickstart.sh

test: install
	@.venv/bin/python -m pytest -q tests
