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
# _build/student/src (see spatialdrop_edu/course/release.py); that copy is built from scratch, so nothing stale
# remains.
EDITION ?= instructor
STUDENT_SRC := _build/student/src

book: $(STAMP) $(VENDOR_STAMP)  ## create .venv, install, build the website into _build/html (EDITION=student: the student edition)
ifeq ($(EDITION),student)
	rm -rf _build/student
	$(PY) -m spatialdrop_edu release --book --out $(STUDENT_SRC)
	$(VENV)/bin/jupyter-book build $(STUDENT_SRC) -W -n --keep-going
	mv $(STUDENT_SRC)/_build/html _build/student/html
else
	rm -rf _build/html  # no stale page of an earlier build may survive into the site
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
endif

# $(VENDOR_STAMP): tests/course/test_release.py and tests/course/test_instructor_guide.py build the website (student
# edition).
unit: $(STAMP) $(VENDOR_STAMP)  ## the unit tests and doctests alone
	command -v bwrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }
	$(PY) -m pytest tests --ignore=tests/browser --doctest-modules spatialdrop_edu

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

notebooks: $(STAMP)  ## every notebook re-run in the reproducible mode and compared with its stored outputs (nbval, strict)
	$(FRESH_CACHE) $(PY) $(NBVAL) --nbval $(NOTEBOOKS)

# The claims under other kernels: every hidden assertion of the prose must hold on any CPU, not only under the pins.
notebooks-lax: $(STAMP)  ## every notebook re-run under a second instruction set; its assertions must hold (nbval, lax)
	env $(OTHER_ISA) $(FRESH_CACHE) $(PY) $(NBVAL) --nbval-lax $(NOTEBOOKS)

# The built site in headless Chromium (tests/browser): runs after `book` and tests what it built. Debian's chromium
# is installed when missing (CI runs as root with registry access).
CHROMIUM ?= /usr/bin/chromium
SITE_HTML := $(if $(filter student,$(EDITION)),_build/student/html,_build/html)

browser-test: book $(NODE_STAMP)  ## the built website in headless Chromium
	test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	rm -rf _build/browser-failures
	CHROMIUM=$(CHROMIUM) SITE_HTML=$(SITE_HTML) $(PY) -m pytest -p no:cacheprovider tests/browser

# Both editions are checked in the browser: the student website is what instructors publish.
test: lint unit fingerprint-check notebooks notebooks-lax book browser-test  ## everything CI runs: lint, unit, notebooks (two instruction sets), the book, both editions in Chromium
	$(if $(filter student,$(EDITION)),,$(MAKE) --no-print-directory browser-test EDITION=student)

# Manual publishing to a gh-pages branch (a repository whose Pages source is that branch); the recommended route
# is the GitHub Actions workflow .github/workflows/pages.yml, which builds and deploys on every push to main.
publish: book  ## build, then push the website to the gh-pages branch
	$(VENV)/bin/ghp-import --no-jekyll --push --force $(SITE_HTML)

# The learner's JupyterLab (spatialdrop_edu/course/lab.py). By default the student edition (solutions replaced by
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
