# Studio: `make run` starts everything on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
AZURITE_VERSION := 3.35.0
NODE_PREFIX := $(VENV)/node
AZURITE_STAMP := $(NODE_PREFIX)/.azurite-$(AZURITE_VERSION)
WHEELHOUSE := $(VENV)/wheelhouse
WHEELHOUSE_STAMP := $(WHEELHOUSE)/.downloaded

.PHONY: run test test-fast lint bench clean azurite

# uv installs everything (uv's own settings apply: UV_INDEX_URL, UV_FIND_LINKS, UV_CACHE_DIR...;
# pip's configuration does not). It is bootstrapped into the venv by the host's pip, or by the
# venv's own pip when the host has none; a venv made without pip starts in a fraction of the time.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
# Optional parts of the runtime: make run EXTRAS=parquet installs requirements-parquet.txt too.
EXTRAS ?=
EXTRA_STAMPS := $(foreach extra,$(EXTRAS),$(VENV)/.extra-$(extra))
KNOWN_EXTRAS := $(patsubst requirements-%.txt,%,$(filter-out requirements-dev.txt \
  requirements-wheelhouse.txt requirements-notebook.txt,$(wildcard requirements-*.txt)))
$(foreach extra,$(EXTRAS),$(if $(filter $(extra),$(KNOWN_EXTRAS)),,\
  $(error No extra named $(extra): the extras are $(KNOWN_EXTRAS))))

$(UV_STAMP):
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(PY) install -q uv==$(UV_VERSION) 2>/dev/null \
	  || { $(PY) -m ensurepip >/dev/null && $(PY) -m pip install -q uv==$(UV_VERSION); }
	$(UV) --version | grep -q '^uv $(UV_VERSION)'
	touch $(UV_STAMP)

# The runtime (make run), then the test tools on top of it (make test, make lint).
# One uv call: the project (which lists no dependencies) is built while the wheels download.
$(STAMP): requirements.txt pyproject.toml | $(UV_STAMP)
	$(UV) pip install -q --python $(PY) -r requirements.txt -e . --config-settings editable_mode=compat
	touch $(STAMP)

$(VENV)/.extra-%: requirements-%.txt $(STAMP)
	$(UV) pip install -q --python $(PY) -r $<
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt requirements-parquet.txt
	$(UV) pip install -q --python $(PY) -r requirements-dev.txt
	touch $(DEV_STAMP)

# Azurite (the Azure Blob emulator) for tests/integration/test_remote_datastores.py,
# installed with npm into .venv/node (node_modules/.bin/azurite-blob).
$(AZURITE_STAMP): | $(DEV_STAMP)
	npm install --prefix $(NODE_PREFIX) azurite@$(AZURITE_VERSION) --no-audit --no-fund
	test -x $(NODE_PREFIX)/node_modules/.bin/azurite-blob
	rm -f $(NODE_PREFIX)/.azurite-*
	touch $(AZURITE_STAMP)

azurite: $(AZURITE_STAMP)

# Wheels for the step environments the tests build (scikit-learn, pandas and pillow, as
# Microsoft's examples ask for them): downloaded once, so that the tests themselves ask no index.
$(WHEELHOUSE_STAMP): requirements-wheelhouse.txt requirements-notebook.txt | $(DEV_STAMP)
	$(PY) -m pip download -q --only-binary :all: --no-deps -d $(WHEELHOUSE) -r requirements-wheelhouse.txt
	touch $(WHEELHOUSE_STAMP)

# runstudio collects the static files (hashed and compressed) before it starts the web server.
run: $(STAMP) $(EXTRA_STAMPS)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runstudio

# Every test: those that need no server, worker or browser spread over the cores
# (pytest-xdist), then those that start them, one at a time (they time what they start).
# pytest's status 5 (PYTEST_ARGS selected no test of a kind) is no failure.
test: $(DEV_STAMP) $(AZURITE_STAMP) $(WHEELHOUSE_STAMP)
	$(PY) -m pytest -m "not integration and not browser" -n auto $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PY) -m pytest -m "integration or browser" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Everything that needs no server, worker or browser: in well under a minute.
test-fast: $(DEV_STAMP)
	STUDIO_TEST_BUDGET=fast $(PY) -m pytest -m "not integration and not browser" -n auto $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(DEV_STAMP)
	$(PY) bench/pipeline_overhead.py

clean:
	rm -rf $(VENV) var
