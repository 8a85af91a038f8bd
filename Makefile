# The two commands of the README:
#   make book   - set up .venv, build the site (_build/html) and the slides (_build/html/slides)
#   make test   - the same set-up and build, lint, then the unit tests, nbval over every notebook (quick
#                 mode) and the full-mode smoke run
# Also: make execute [NB=chapters/01_tensors.ipynb]  - re-run notebooks in quick mode and store outputs;
#       make lint; make test-numerics (nbval of the training chapters under other instruction sets and
#       thread counts); make release (one offline archive of site + slides + PDFs).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
NB     ?= chapters/*.ipynb

# Real offline data beside the project (MNIST subset, CIFAR-10 JPEG) is used when present.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export BOOK_DATA_DIR ?= $(SHARED_DATA)
endif


.PHONY: book site slides test unit nbval execute vendor sysdeps clean lint test-numerics release

# The venv: the pinned requirements, then the book itself as an editable package (`import book` works
# from any folder: notebooks, tests, tools, benchmarks, torchrun workers).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "Need Python 3.11 ($(PYTHON)); set PYTHON=..."; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

vendor: $(STAMP)
	$(BIN)/python tools/vendor.py

site: $(STAMP) vendor
	$(BIN)/jupyter-book build . --warningiserror --keep-going

slides: $(STAMP) vendor
	$(BIN)/python tools/slides.py _build/html/slides

book: site slides
	@echo
	@echo "Site:   $(CURDIR)/_build/html/index.html"
	@echo "Slides: $(CURDIR)/_build/html/slides/  (e.g. 00_intro.slides.html; open in a browser, works offline)"

sysdeps:
	@bash tools/ensure_system_deps.sh

unit: $(STAMP)
	BOOK_MODE=quick $(BIN)/python -m pytest -q tests

nbval: $(STAMP)
	BOOK_MODE=quick \
	  $(BIN)/python -m pytest -q --nbval $(NB) --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

# ruff (lint + format) over the code and the notebooks' code cells; actionlint over the CI workflow.
lint: $(STAMP)
	$(BIN)/ruff check book tools tests benchmarks chapters conftest.py
	$(BIN)/ruff format --check book tools tests benchmarks chapters conftest.py
	$(BIN)/actionlint .github/workflows/*.yml

test: book sysdeps lint
	BOOK_MODE=quick $(BIN)/python -m pytest -q tests $(NB) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

# The stored outputs must validate on other CPUs too: re-run the chapters that train under another
# instruction set and thread count (the tolerances in their cells' metadata must absorb the difference).
NUMERICS_NB ?= chapters/02_first_networks.ipynb chapters/04_autodiff.ipynb chapters/05_lenet.ipynb chapters/06_resnet.ipynb chapters/07_distributed.ipynb
test-numerics: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 BOOK_MODE=quick \
	  $(BIN)/python -m pytest -q $(NUMERICS_NB) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

execute: $(STAMP)
	BOOK_MODE=quick $(BIN)/python tools/execute.py $(NB)

# One archive (site + slides + PDFs) that an instructor can serve with no network: dist/*.zip
release: book
	$(BIN)/python tools/release.py dist

clean:
	rm -rf _build dist
