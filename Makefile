# Two commands on a fresh machine: `make up` runs the system, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PACKAGES := shared services/intake services/sla services/notify services/query services/portal devstack
PYPROJECTS := $(foreach p,$(PACKAGES),$(wildcard $(p)/pyproject.toml))
LOCK := requirements/dev.txt
INSTALLED := $(VENV)/.installed
PIP := $(VPY) -m pip --disable-pip-version-check --no-input
# The suite runs in parallel workers, one test file per worker at a time (module-scoped stacks
# stay in one process); each worker has its own PostgreSQL, NATS and port range. TEST_WORKERS=0
# runs it in this process. The 30 slowest tests are listed at the end.
TEST_WORKERS ?= 3
PYTEST_ARGS ?=
PYTEST_PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: up test bench lock clean check-python chromium

up: $(INSTALLED)
	$(VENV)/bin/helpdesk-dev up

test: $(INSTALLED) chromium
	$(VPY) -m pytest $(PYTEST_PARALLEL) --durations=30 $(PYTEST_ARGS)

# The portal's browser tests drive Debian's Chromium through Playwright (which cannot fetch its own
# browser here). Installed when missing and we are root; otherwise say what to do.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@[ -x "$(CHROMIUM)" ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the portal's browser tests (apt-get install chromium)..."; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
			|| { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; \
		else \
			echo "error: the portal's browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium'" >&2; \
			echo "       (or point CHROMIUM=/path/to/chromium at one; HELPDESK_TEST_CHROMIUM for pytest)" >&2; exit 1; \
		fi; }

bench: $(INSTALLED)
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

# Every third-party package comes from the lock, pinned and hash-checked; our own packages are
# installed editable on top, without resolving anything (so nothing unlocked slips in), and
# `pip check` proves the lock satisfies them. Reinstalls only when the lock or a pyproject changes.
$(INSTALLED): $(VPY) $(LOCK) $(PYPROJECTS)
	@echo "Installing the locked dependencies into $(VENV) (a minute or two the first time)..."
	$(PIP) install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation $(foreach p,$(PACKAGES),-e $(p))
	$(PIP) check
	touch $@

# Re-resolve the lock files from the pyproject.toml files and requirements-dev.txt, taking the newest
# releases that fit (UPGRADE=msgspec upgrades one package only; without it, pins move only where
# a declared range forces them). Review the diff and run `make test` before committing.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	$(foreach p,shared intake sla notify query portal devstack,--no-emit-package helpdesk-$(p)) \
	$(if $(UPGRADE),--upgrade-package $(UPGRADE))
lock: $(INSTALLED)
	$(UV_COMPILE) requirements/runtime.in -o requirements/runtime.txt
	$(UV_COMPILE) requirements/dev.in -o requirements/dev.txt
