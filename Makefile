# Two entry points that do all set-up on a fresh machine (Python 3.11+):
#   make demo   - create .venv, install tlsstate, run the main job
#   make test   - create .venv, install tlsstate with test extras, run the whole suite
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

.PHONY: demo test lint venv
venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tlsstate demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check tlsstate tests
	$(VENV)/bin/mypy
