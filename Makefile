# spatialdrop-edu: build the course website, test everything, re-execute notebooks, benchmark.
# `make help` lists the targets: every target followed by a `## ` comment.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where no torch is installed, this CPU wheel is installed first (a CUDA build: see README).
TORCH_PIN ?= torch==2.13.0
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.fetched
VENDOR_STAMP := _vendor/.installed
export KERAS_BACKEND := torch
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# The reproducible mode (README, "Reproducible outputs"): every target runs under the pinned CPU instruction set and
# thread count of this file, which spatialdrop_edu.reproducible reads too; a value set in the environment wins.
REPRO_ENV := spatialdrop_edu/reproducible.env
include $(REPRO_ENV)
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\) *?=.*/\1/p' $(REPRO_ENV))
# A second instruction set for `make notebooks-lax`: ATen's portable kernels, oneDNN at SSE4.1, MKL's own choice (AUTO).
OTHER_ISA := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_CBWR=AUTO \
  NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR"

.PHONY: help setup vendor book test unit lint format notebooks notebooks-lax browser-test publish execute bench mutate lab lock repro-env fingerprint fingerprint-check clean

help:  ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24

setup: $(STAMP) $(VENDOR_STAMP)

# requirements-lock.txt: the exact versions that produced the stored outputs, installed as constraints (`make lock`).
LOCK := requirements-lock.txt

$(STAMP): pyproject.toml requirements.txt requirements-dev.txt $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "Python >= 3.10 is needed; run: make PYTHON=python3.11 ..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c 'import torch' 2>/dev/null || $(PY) -m pip install "$(TORCH_PIN)"
	$(PY) -m pip install -c $(LOCK) -r requirements.txt -r requirements-dev.txt
	touch $@

repro-env:  ## print the reproducible mode's variables as the targets' processes see them
	@$(PY) -c 'from spatialdrop_edu.reproducible import pins_in_effect; [print(f"{k}={v}") for k, v in pins_in_effect().items()]'

# The kernels themselves: one digest per operation the course computes with (spatialdrop_edu/kernel_fingerprint.py),
# so that two machines can be compared line by line. `make execute` stores the executing machine's fingerprint beside
# reproducible.env; `make test` checks this machine against it before comparing any notebook.
FINGERPRINT := spatialdrop_edu/reproducible.fingerprint
fingerprint: $(STAMP)  ## print one digest per operation the course computes with, under the reproducible mode
	@$(PY) -m spatialdrop_edu fingerprint

fingerprint-check: $(STAMP)  ## one line: which operations compute other bits here than on the machine that executed the stored outputs
	@$(PY) -m spatialdrop_edu fingerprint --check $(FINGERPRINT)

lock:  ## re-resolve the requirements and rewrite requirements-lock.txt (then re-run make execute)
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) tools/lock.py --torch "$(TORCH_PIN)"


# Browser assets the website serves itself (MathJax 3, require.js, the ipywidgets HTML manager, and axe-core for
# the browser tests): npm packages at the exact versions and sha512 hashes of package-lock.json, fetched from the
# npm registry by tools/fetch_npm.py (Python alone, no Node.js needed), copied into _vendor/ (gitignored, never
# edited by hand); book/_ext/sde_site.py publishes it as <html>/_vendor/ and _config.yml points pages at it.
HTML_MANAGER := node_modules/@jupyter-widgets/html-manager/dist

$(NODE_STAMP): package.json package-lock.json
	$(PYTHON) tools/fetch_npm.py
	touch $@

$(VENDOR_STAMP): $(NODE_STAMP)
	rm -rf _vendor && mkdir -p _vendor/html-manager
	cp -R node_modules/mathjax/es5 _vendor/mathjax && cp node_modules/mathjax/LICENSE _vendor/mathjax/
	cp node_modules/requirejs/require.js _vendor/require.js
	cp $(HTML_MANAGER)/embed-amd.js $(HTML_MANAGER)/*.woff $(HTML_MANAGER)/*.woff2 $(HTML_MANAGER)/*.ttf \
	  $(HTML_MANAGER)/*.eot $(HTML_MANAGER)/*.svg _vendor/html-manager/
	touch $@

vendor: $(VENDOR_STAMP)

# EDITION=student: `release --book` writes student notebooks and a _config.yml on the student branch into
# _build/student/src (see spatialdrop_edu/course/edition/release.py); that copy is built from scratch, so nothing stale
# remains.
EDITION ?= instructor
STUDENT_SRC := _build/student/src

# What a website is built from: the book's files, its configuration and the package (its API pages, the student
# edition's staging). An edition is rebuilt when one of them is newer than its index.html, so `make test` builds each
# edition once and hands it to the tests (SITE_HTML, STUDENT_HTML), and `make publish` publishes what was built and
# tested. `make clean` forces a rebuild. Outside a git checkout, find lists the sources.
BOOK_SOURCES := $(wildcard $(shell git ls-files -co --exclude-standard -- book spatialdrop_edu _config.yml _toc.yml \
  2>/dev/null || find book spatialdrop_edu _config.yml _toc.yml -type f -not -path '*/__pycache__/*'))
SITE_INDEX := _build/html/index.html
STUDENT_INDEX := _build/student/html/index.html
SITES := SITE_HTML=$(dir $(SITE_INDEX)) STUDENT_HTML=$(dir $(STUDENT_INDEX))
# A failed build leaves no index.html behind that make would take for a finished one.
.DELETE_ON_ERROR:

$(SITE_INDEX): $(BOOK_SOURCES) | $(STAMP) $(VENDOR_STAMP)
	rm -rf _build/html  # no stale page of an earlier build may survive into the site
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

$(STUDENT_INDEX): $(BOOK_SOURCES) | $(STAMP) $(VENDOR_STAMP)
	rm -rf _build/student
	$(PY) -m spatialdrop_edu release --book --out $(STUDENT_SRC)
	$(VENV)/bin/jupyter-book build $(STUDENT_SRC) -W -n --keep-going
	mv $(STUDENT_SRC)/_build/html _build/student/html

EDITION_INDEX := $(if $(filter student,$(EDITION)),$(STUDENT_INDEX),$(SITE_INDEX))
book: $(EDITION_INDEX)  ## create .venv, install, build the website into _build/html (EDITION=student: the student edition)

# Tests side by side (pytest-xdist): JOBS worker processes, by default one per core (at most 4). The sandbox tests
# share the sandbox's user ids and cgroups and run in one worker (tests/conftest.py); the notebooks are handed out a
# file at a time.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))
XDIST = $(if $(filter-out 0 1,$(1)),-n $(1) --dist $(2))

# The unit tests read both editions of the website as make built them (tests/sites.py): nothing is built twice.
unit: $(SITE_INDEX) $(STUDENT_INDEX) | $(STAMP) $(VENDOR_STAMP)  ## the unit tests and doctests alone (every group: slow, sandbox, site)
	command -v bwrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }
	$(SITES) $(PY) -m pytest tests --ignore=tests/browser --doctest-modules spatialdrop_edu $(call XDIST,$(JOBS),loadgroup)

# The notebooks' code at 80 columns (book/ruff.toml): what fits a code block of the website. `make format` applies
# the formatter; a line it cannot shorten (a long string or comment) is split by hand.
LINTED := spatialdrop_edu tests tools benchmarks book
lint: $(STAMP)  ## ruff over the package, tests, tools and notebooks: lint rules, then the formatter's layout
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)

format: $(STAMP)  ## apply ruff's formatter and its safe fixes (pyproject.toml; notebooks: book/ruff.toml)
	$(PY) -m ruff check --fix $(LINTED)
	$(PY) -m ruff format $(LINTED)

# Stored outputs are made and checked from scratch: the small studies' run cache (spatialdrop_edu.training.results,
# which lets a learner's restarted kernel resume) starts empty for every execute and nbval run.
FRESH_CACHE = SPATIALDROP_CACHE=$$(mktemp -d)
NBVAL := -m pytest -p no:cacheprovider --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-current-env

# The strict run keeps the mode's two threads per kernel, so by default it runs one notebook at a time (NB_JOBS=2 runs
# two side by side: the same outputs, as the thread count is fixed). Two notebooks of two threads each on two cores
# slow each other badly (COURSE.md, "Two kernels side by side"); `make test` runs the lax run beside it instead.
NB_JOBS ?= 1
notebooks: $(STAMP)  ## every notebook re-run in the reproducible mode and compared with its stored outputs (nbval, strict)
	$(FRESH_CACHE) $(PY) $(NBVAL) --nbval $(call XDIST,$(NB_JOBS),loadfile) $(NOTEBOOKS)

# The claims under other kernels: every hidden assertion of the prose must hold on any CPU, not only under the pins.
# Each kernel runs one thread (another thread count than the mode's, as on a learner's machine), JOBS notebooks
# side by side.
notebooks-lax: $(STAMP)  ## every notebook re-run under a second instruction set and one thread; its assertions must hold (nbval, lax)
	env $(OTHER_ISA) OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(FRESH_CACHE) \
	  $(PY) $(NBVAL) --nbval-lax $(call XDIST,$(JOBS),loadfile) $(NOTEBOOKS)

# The built websites in headless Chromium (tests/browser): JOBS pytest-xdist workers, each with one Chromium for both
# editions' pages (JupyterLab's tests in one of them); EDITION=instructor or EDITION=student tests that one alone.
# Debian's chromium is installed when missing (CI runs as root with registry access).
CHROMIUM ?= /usr/bin/chromium
BROWSER_EDITIONS = $(if $(filter command line environment,$(origin EDITION)),$(EDITION),instructor student)
BROWSER_SITES = $(if $(filter instructor,$(BROWSER_EDITIONS)),SITE_HTML=$(dir $(SITE_INDEX))) \
  $(if $(filter student,$(BROWSER_EDITIONS)),STUDENT_HTML=$(dir $(STUDENT_INDEX)))

browser-test: $(if $(filter instructor,$(BROWSER_EDITIONS)),$(SITE_INDEX)) \
  $(if $(filter student,$(BROWSER_EDITIONS)),$(STUDENT_INDEX)) $(NODE_STAMP)  ## both built websites (EDITION=...: one) and JupyterLab in headless Chromium
	test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	rm -rf _build/browser-failures
	CHROMIUM=$(CHROMIUM) $(BROWSER_SITES) $(PY) -m pytest -p no:cacheprovider tests/browser $(call XDIST,$(JOBS),loadgroup)

# Everything CI runs, each step timed (tools/make_test.py prints the table at the end): lint beside both builds of
# the website; the unit tests; then the fingerprint, the strict notebooks and the browser one after another, with
# the lax notebooks beside them at the lowest priority, on what the strict run leaves of the cores.
test: $(STAMP) $(VENDOR_STAMP) $(NODE_STAMP)  ## everything CI runs: lint, both websites, unit, fingerprint, notebooks (two instruction sets), Chromium; a timing table
	$(PY) tools/make_test.py

# Manual publishing to a gh-pages branch (a repository whose Pages source is that branch); the recommended route
# is the GitHub Actions workflow .github/workflows/pages.yml, which builds and deploys on every push to main.
publish: book  ## push the website to the gh-pages branch (built first unless current)
	$(VENV)/bin/ghp-import --no-jekyll --push --force $(dir $(EDITION_INDEX))

# The learner's JupyterLab (spatialdrop_edu/course/lab/start.py). By default the student edition (solutions replaced by
# stubs, mark schemes out) in a working copy, LAB_DIR (lab/student/, ignored by git), with the chapters' results/:
# made once and never overwritten, so the learner's work survives; LAB_REFRESH=1 moves it aside to
# LAB_DIR.backup-<date>-<time>/ and makes a fresh one. EDITION=instructor opens book/ itself, solutions included.
# Notebooks are trusted when they are copied (so saved widgets render before anything runs); JupyterLab runs with the
# course's settings (widget state saved with the notebook) and renders MyST (jupyterlab-myst). LAB_ARGS passes options
# to JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port 8899"; as root (containers, CI) --allow-root is added.
LAB_EDITION = $(if $(filter command line environment,$(origin EDITION)),$(EDITION),student)
LAB_DIR ?= lab/student
LAB_ARGS ?=
lab: $(STAMP)  ## open the course in JupyterLab: the student edition in lab/student/ (EDITION=instructor: book/)
	$(PY) -m spatialdrop_edu lab --edition $(LAB_EDITION) --dir "$(LAB_DIR)" $(if $(LAB_REFRESH),--refresh) -- $(LAB_ARGS)

execute: $(STAMP)  ## re-execute every notebook in place (the only way outputs enter the notebooks); store this machine's kernel fingerprint
	$(FRESH_CACHE) $(PY) -m spatialdrop_edu execute $(NOTEBOOKS)
	$(PY) -m spatialdrop_edu fingerprint > $(FINGERPRINT)

# A training chapter's full study (its SCALE run) into the package's shipped results, spatialdrop_edu/results/<chapter>/:
# it resumes from the runs already there (delete study.jsonl to start over), WORKERS runs side by side. It refuses to
# start from uncommitted changes to the code, so that every run's provenance names the code that made it
# (ALLOW_DIRTY=1 starts anyway; the runs then record dirty: true).
CHAPTER ?=
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
.PHONY: study
study: $(STAMP)  ## a chapter's full study into the shipped results: make study CHAPTER=06 WORKERS=2
	$(if $(wildcard book/$(CHAPTER)_*.ipynb),,$(error CHAPTER must name a training chapter, e.g. make study CHAPTER=06))
	$(PY) -m spatialdrop_edu study $(wildcard book/$(CHAPTER)_*.ipynb) --workers $(WORKERS) --results spatialdrop_edu/results \
	  $(if $(ALLOW_DIRTY),--allow-dirty)

bench: $(STAMP)  ## every layer against PyTorch's and the references: time, memory, torch.compile
	$(PY) benchmarks/bench_dropout.py --compile

# Mutation testing of the library room (spatialdrop_edu/layers): mutmut plants one small mistake at a time and runs
# the library's tests; a mutant that survives is a mistake no test would catch. Slow (tens of minutes): not in CI.
mutate: $(STAMP)  ## mutation testing of the library (mutmut); prints the score
	$(PY) -m pip install -q "mutmut>=3.2"
	$(PY) tools/mutate.py

clean:  ## remove _build
	rm -rf _build
