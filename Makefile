# Two commands on a fresh machine: `make up` runs the system, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PACKAGES := shared services/intake services/sla services/notify services/query devstack
PYPROJECTS := $(foreach p,$(PACKAGES),$(wildcard $(p)/pyproject.toml))
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.dev-installed
PIP := $(VPY) -m pip --disable-pip-version-check --no-input
PYTEST_ARGS ?=

.PHONY: up test bench clean check-python

up: $(INSTALLED)
	$(VENV)/bin/helpdesk-dev up

test: $(DEV_INSTALLED)
	$(VPY) -m pytest $(PYTEST_ARGS)

bench: $(DEV_INSTALLED)
	@set -e; found=; for script in bench/*.py; do \
		[ -f "$$script" ] || continue; found=1; \
		echo "== $$script"; $(VPY) "$$script"; \
	done; [ -n "$$found" ] || echo "no bench/*.py scripts yet"

clean:
	rm -rf .helpdesk

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
		echo "error: this project needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "       run e.g. 'make $(MAKECMDGOALS) PYTHON=python3.12'" >&2; exit 1; }

$(VPY): | check-python
	$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; rm -rf $(VENV); exit 1; }

# Reinstall only when a pyproject.toml changed (editable installs pick up code changes by themselves).
$(INSTALLED): $(VPY) $(PYPROJECTS)
	@echo "Installing the helpdesk packages into $(VENV) (a minute or two the first time)..."
	$(PIP) install --quiet $(foreach p,$(PACKAGES),-e $(p))
	touch $@

$(DEV_INSTALLED): $(INSTALLED) requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@
