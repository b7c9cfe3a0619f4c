# The two commands of the README use these targets.
.PHONY: install quickstart quickstart-digits test

install:
	@bash scripts/install.sh

quickstart: install
	@bash scripts/quickstart.sh

quickstart-digits: install
	@bash scripts/quickstart_digits.sh

test: install
	@.venv/bin/python -m pytest -q tests
