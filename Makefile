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

# The runtime (make run), then the test tools on top of it (make test, make lint).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(DEV_STAMP)

# Azurite (the Azure Blob emulator) for tests/integration/test_remote_datastores.py,
# installed with npm into .venv/node (node_modules/.bin/azurite-blob).
$(AZURITE_STAMP): | $(DEV_STAMP)
	npm install --prefix $(NODE_PREFIX) azurite@$(AZURITE_VERSION) --no-audit --no-fund
	test -x $(NODE_PREFIX)/node_modules/.bin/azurite-blob
	rm -f $(NODE_PREFIX)/.azurite-*
	touch $(AZURITE_STAMP)

azurite: $(AZURITE_STAMP)

# Wheels for the step environments the tests build (scikit-learn and pandas, as Microsoft's
# examples ask for them): downloaded once, so that the tests themselves ask no index.
$(WHEELHOUSE_STAMP): requirements-wheelhouse.txt | $(STAMP)
	$(PY) -m pip download -q --only-binary :all: --no-deps -d $(WHEELHOUSE) -r requirements-wheelhouse.txt
	touch $(WHEELHOUSE_STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runstudio

test: $(DEV_STAMP) $(AZURITE_STAMP) $(WHEELHOUSE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

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
