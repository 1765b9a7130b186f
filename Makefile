# spatialdrop-edu: build the course website, test everything, re-execute notebooks, benchmark.
#
#   make book      create .venv, install, build the website into _build/html (warnings are errors)
#   make test      unit tests, every notebook under nbval (strict), and the book build
#   make execute   re-execute every notebook in place; the only way outputs enter the notebooks
#   make bench     our layers against torch.nn.functional.dropout1d/2d/3d (forward + backward)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where no torch is installed, this CPU wheel is installed first (a CUDA build: see README).
TORCH_PIN ?= torch==2.13.0
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
STAMP := $(VENV)/.installed
export KERAS_BACKEND := torch
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup book test unit notebooks execute bench clean

help:
	@sed -n '3,7p' Makefile

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "Python >= 3.10 is needed; run: make PYTHON=python3.11 ..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c 'import torch' 2>/dev/null || $(PY) -m pip install "$(TORCH_PIN)"
	$(PY) -m pip install -r requirements.txt -r requirements-dev.txt
	touch $@

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

unit: $(STAMP)
	$(PY) -m pytest tests --doctest-modules spatialdrop_edu

notebooks: $(STAMP)
	$(if $(NOTEBOOKS),$(PY) -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-current-env $(NOTEBOOKS),@echo "no notebooks yet")

test: unit notebooks book

execute: $(STAMP)
	$(PY) -m spatialdrop_edu execute $(NOTEBOOKS)

bench: $(STAMP)
	$(PY) benchmarks/bench_dropout.py

clean:
	rm -rf _build
