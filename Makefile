# The knowledge base. `make` alone lists the targets.
# Every target sets up its own pinned environment (.venv) when it is missing
# or older than requirements.txt.

PYTHON     ?= $(shell command -v python3.11 || command -v python3)
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
BOOKS_STAMP := $(VENV)/.books-installed
BUILDDIR   := _build
PORT       ?= 8000
# -W: warnings are errors; -n: every reference must resolve; --keep-going:
# report every problem before failing; -j auto: read on all cores.
SPHINXOPTS ?= -W -n --keep-going -j auto
SPHINX     := $(BIN)/sphinx-build $(SPHINXOPTS)

.DEFAULT_GOAL := help
.PHONY: help deps html html-drafts serve preview-site test test-fast test-upstream check due pdf epub publish post bench lint clean

help:  ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

deps:  ## Install the system packages the tests need (Debian; as root or with sudo)
	bash .ci/install-deps

# Builds into _build/stage/html and replaces _build/html with it only when the
# build succeeded (kb/staging.py): a failed build publishes nothing and ends
# with "N problems; first: file:line: message". The environment (which knows
# the held posts) stays in _build/doctrees, out of the published folder.
html: $(STAMP)  ## Build the published site into _build/html (strict; a failed build leaves the last good one)
	$(BIN)/python -m kb.staging $(SPHINXOPTS)

html-drafts: $(STAMP)  ## Build a preview with drafts and scheduled posts into _build/drafts
	KB_DRAFTS=1 $(SPHINX) -b html -d $(BUILDDIR)/doctrees-drafts . $(BUILDDIR)/drafts

# One rebuild per save: each --ignore is resolved against this folder. Each
# previewed page starts with its problems (kb/problems.py). kb.preview builds
# in processes forked from one that has Sphinx and the site's code loaded
# (kb/warm.py), serves and reloads as sphinx-autobuild does, and brings search
# up to date from an index it keeps in memory, once each build has written its
# post pages. The first build reads on all cores; a rebuild after a save
# is faster in one process (PERFORMANCE.md).
serve: $(STAMP)  ## Live preview with drafts and each page's problems on http://127.0.0.1:8000
	KB_DRAFTS=1 $(BIN)/python -m kb.preview --host 127.0.0.1 --port $(PORT) \
	  --ignore $(BUILDDIR) --ignore $(VENV) --ignore tests --ignore .git \
	  --re-ignore '(__pycache__|\.pyc$$|~$$|\.sw[px]$$|/\.?#[^/]*$$)' \
	  --doctrees $(BUILDDIR)/doctrees-serve . $(BUILDDIR)/serve

# The published build as readers get it; search needs http, so no file:// here.
PORT ?= 8000
preview-site: html  ## Build, then serve the published site on http://127.0.0.1:8000 (PORT=... to change)
	@echo "Serving $(BUILDDIR)/html on http://127.0.0.1:$(PORT)/ (Ctrl+C to stop)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory $(BUILDDIR)/html $(PORT)

# The suite covers the books too, so it installs what they need.
test: $(STAMP) $(BOOKS_STAMP)  ## Run the whole test suite
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## Run the tests that build no site (seconds; make test runs them all)
	$(BIN)/python -m pytest -m "not slow" -q

# The canary: a second environment, made afresh each time, with the newest
# release of every direct dependency (requirements.in) that the package index
# serves (in _build, which the site never reads), then the whole suite in it.
# A kb.upstream warning in a failure names the workaround that no longer fits
# (kb/upstream/README.md says what to do).
UPSTREAM_VENV := $(BUILDDIR)/venv-upstream
test-upstream:  ## Run the tests with the newest releases of the direct dependencies
	rm -rf $(UPSTREAM_VENV)
	$(PYTHON) -m venv $(UPSTREAM_VENV)
	$(UPSTREAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  --upgrade --upgrade-strategy eager -r requirements.in
	@echo "Releases other than the pinned ones (requirements.txt, requirements-books.txt):"
	@$(UPSTREAM_VENV)/bin/python -m pip freeze | grep -i -v -x -F -f requirements.txt -f requirements-books.txt || echo "  (none)"
	$(UPSTREAM_VENV)/bin/python -m pytest

# HINTS=1 also lists the glossary terms posts mention but never link (information only).
check: $(STAMP)  ## Check every post, author, series and the vocabulary (no build; HINTS=1 for unlinked terms)
	$(BIN)/python -m kb check $(if $(HINTS),--hints)

due: $(STAMP)  ## List the posts due for review, by owner (information: exits 0)
	$(BIN)/python -m kb due

# The values reach the command through the environment ("$$TITLE"), so that
# quotes and backquotes in a title stay text; empty ones are asked for.
post: $(STAMP)  ## Start a post: make post TITLE="..." AUTHOR=MR TAGS="GMP, Training"
	$(BIN)/python -m kb new --title "$$TITLE" --author "$$AUTHOR" --tags "$$TAGS" \
	  --practice "$$PRACTICE" --series "$$SERIES" --part "$$PART" --date "$$DATE" --draft "$$DRAFT"

# The books need WeasyPrint and EbookLib (requirements-books.txt); the site does not.
$(BOOKS_STAMP): requirements-books.txt requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-books.txt
	@touch $@

pdf: html $(BOOKS_STAMP)  ## One PDF per series into _build/pdf (SERIES=key for one)
	$(BIN)/python -m kb.books pdf --out $(BUILDDIR)/pdf $(if $(SERIES),--series $(SERIES))

epub: html $(BOOKS_STAMP)  ## One EPUB per series into _build/epub (SERIES=key for one)
	$(BIN)/python -m kb.books epub --out $(BUILDDIR)/epub $(if $(SERIES),--series $(SERIES))

# The site, then its books from it, then the site again linking them: a page
# links a book only in a build that has it (KB_BOOKS=1 copies them in). As with
# make html, _build/html is replaced only by a build that succeeded.
publish: pdf epub  ## The site with every series as PDF and EPUB, linked from the series pages
	KB_BOOKS=1 $(BIN)/python -m kb.staging $(SPHINXOPTS)

bench: $(STAMP)  ## Measure build times at 100, 1000 and 2000 posts (N="100 500" to choose)
	$(BIN)/python -m kb.bench $(N)

lint: $(STAMP)  ## Lint and spell-check the code and content
	$(BIN)/ruff check kb tests conf.py
	$(BIN)/ruff format --check kb tests conf.py
	$(BIN)/codespell kb tests posts authors series README.md PERFORMANCE.md

clean:  ## Remove the build output (keeps .venv)
	rm -rf $(BUILDDIR)

# axe-core for the accessibility tests, pinned by tests/browser/package-lock.json.
AXE := tests/browser/node_modules/axe-core/axe.min.js
test test-upstream: $(AXE)
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility tests will be skipped (CI fails instead)"; fi
