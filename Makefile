# Two commands for a fresh clone: `make run` (app on the bundled sample) and
# `make test` (the test suite). Both create the virtual environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.semi-iin-installed

.PHONY: run test test-slow bench setup clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/setup-venv.sh
	bash .ci/setup-venv.sh "$(VENV)"

run: $(STAMP)
	$(PY) main.py --sample

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m slow

bench: $(STAMP)
	$(PY) -m bench

clean-venv:
	rm -rf "$(VENV)"
