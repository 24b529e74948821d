# Two entry points, both safe on a fresh machine:
#   make demo   set up .venv and run the main job on the embedded defaults
#   make test   set up .venv and run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup browser lint bench clean

# The stamp is the only proof of a whole install: it goes before pip runs and comes back after every
# package is in and imports. A setup stopped halfway (Ctrl-C during pip) leaves no stamp, and the next
# run starts the venv afresh (--clear) rather than trusting a half-installed pip or package; a venv
# with its stamp (dependencies changed since) is upgraded in place.
$(STAMP): pyproject.toml requirements.lock
	@if [ -f $(STAMP) ]; then rm -f $(STAMP) && $(PYTHON) -m venv $(VENV); \
	else echo "setting up $(VENV) from scratch"; $(PYTHON) -m venv --clear $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -c "import ordersync.cli, pytest"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/ordersync demo $(ARGS)

# The dashboard's browser test drives Debian's Chromium (never a browser Playwright downloads).
# Installed when missing and we are root (CI); otherwise that test says why it skips.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the dashboard's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and cannot be installed here (not root): the browser test will skip"; fi

test: $(STAMP) browser
	$(BIN)/python -m pytest $(ARGS)

# ruff (style, complexity), import-linter (the layering in pyproject's [tool.importlinter]), mypy.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
