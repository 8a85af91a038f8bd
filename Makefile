# The two commands of the README:
#   make book   - set up .venv, build the site (_build/html) and the slides (_build/html/slides)
#   make test   - the same set-up and build, lint, then the unit tests, nbval over every notebook (quick
#                 mode) and the full-mode smoke run
# Also: make execute [NB=chapters/01_tensors.ipynb]  - re-run notebooks in quick mode and store outputs;
#       make lint; make test-numerics (nbval of the training chapters under other instruction sets and
#       thread counts); make release (one offline archive of site + slides + PDFs);
#       make data (fetch and verify the offline data set); make data-bundle (pack it for a release).

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


.PHONY: book site slides slides-check test unit nbval execute vendor sysdeps clean lint test-numerics calibrate release

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

# Slides: one 1280x720 reveal.js deck per chapter, its speaker notes, and a PDF handout
# beside it (NN_name.pdf, rendered by the system Chromium: sysdeps installs it). The rules that decide
# what goes on a slide are documented at the top of tools/slides.py; `make slides-check` lists any
# slide that does not fit the frame (tests/test_slides.py fails on it).
slides: $(STAMP) vendor sysdeps
	$(BIN)/python tools/slides.py _build/html/slides

slides-check: $(STAMP)
	$(BIN)/python tools/slides.py --check _build/html/slides

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
	$(BIN)/ruff check book tools tests benchmarks chapters conftest.py setup.py _ext
	$(BIN)/ruff format --check book tools tests benchmarks chapters conftest.py setup.py _ext
	$(BIN)/actionlint .github/workflows/*.yml

# Unit tests and every notebook, TEST_WORKERS pytest-xdist workers of one thread each: a notebook's cells
# and a test module's tests stay together on one worker (--dist loadscope), the notebooks first so that the
# longest ones do not start last. Then the full-mode smoke runs, each a whole notebook in a kernel of its
# own, spread one by one over the workers (--dist load). The stored outputs were written with the
# machine's own instruction set and 2 threads, so this already checks them under another thread count.
# The offline data set comes first (`make data`: fetched once, then only verified).
TEST_WORKERS ?= 2
SMOKE := tests/test_fullmode_smoke.py
PYTEST_N = OMP_NUM_THREADS=1 BOOK_MODE=quick BOOK_DATA_DIR=$(DATA_DIR) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) -p no:cacheprovider
test: book sysdeps lint data
	$(PYTEST_N) --dist loadscope $(NB) tests --ignore=$(SMOKE) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg
	$(PYTEST_N) --dist load $(SMOKE)

# The stored outputs must validate on other machines too: re-run the chapters whose outputs come from
# float arithmetic under another kernel set and thread count AND a relative noise of 1e-6 on every model's
# initial weights (BOOK_PERTURB, book/perturb.py: what another CPU's summation order does to training).
# The tolerances in their cells' metadata were measured by tools/calibrate.py (records in
# chapters/calibration/) under other seeds than this one.
NUMERICS_NB ?= chapters/01_tensors.ipynb chapters/02_first_networks.ipynb chapters/04_autodiff.ipynb chapters/05_lenet.ipynb chapters/05b_framework.ipynb chapters/06_resnet.ipynb chapters/07_distributed.ipynb
test-numerics: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=2 BOOK_PERTURB=7 BOOK_MODE=quick \
	  $(BIN)/python -m pytest -q $(NUMERICS_NB) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

# Measure how far each printed number moves under those disturbances and set the tolerances from it
# (writes chapters/calibration/*.json and the cells' metadata; about three runs of each notebook).
calibrate: $(STAMP)
	$(BIN)/python tools/calibrate.py --write $(NUMERICS_NB)

execute: $(STAMP)
	BOOK_MODE=quick $(BIN)/python tools/execute.py $(NB)

# The offline data set the stored outputs were computed from (tools/check_data.py lists its files).
# `make data` downloads the release asset that pyproject.toml [tool.book.data] names (the one place),
# refuses it unless its sha256 matches, and unpacks it atomically to $BOOK_DATA_DIR, else ../shared/data.
# `make data-bundle` packs ../shared/data into dist/book-data.tar.gz and prints the sha256 to declare.
DATA_DIR = $(or $(BOOK_DATA_DIR),$(SHARED_DATA))
data: $(STAMP)
	$(BIN)/python tools/data_bundle.py fetch $(DATA_DIR)
	$(BIN)/python tools/check_data.py $(DATA_DIR)

data-bundle: $(STAMP)
	$(BIN)/python tools/data_bundle.py build $(SHARED_DATA) dist/book-data.tar.gz

# One archive (site + slides + PDFs) that an instructor can serve with no network: dist/*.zip
release: book
	$(BIN)/python tools/release.py dist

# ---------------------------------------------------------------------------- full-mode results
# `make results` on ONE GPU runs every full-mode workload that feeds a chapter; each sub-step is its own
# command (at most 9 minutes each, cut at 540 s; about 25 minutes in all on an H100) and writes
# results/<name>.json with provenance through book.results. It uses the interpreter it finds (the venv's,
# else python3: a GPU machine with torch and no venv works) and needs no install (PYTHONPATH is the repo).
# `make -k results` goes on past a failed step. `make results-smoke`: every path at tiny sizes on the CPU,
# written to a temporary folder (never results/). `make timings`: seconds of nbval per notebook.
RESULTS_PY ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
RESULTS_ENV = cd $(CURDIR) && PYTHONPATH=$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}
RESULTS_RUN = $(RESULTS_ENV) BOOK_MODE=full timeout 540 $(RESULTS_PY)

.PHONY: results results-cuda results-mnist results-cifar results-fast results-dist results-smoke timings

results: results-cuda results-mnist results-cifar results-fast results-dist
	@ls -l results/*.json

results-cuda:
	$(RESULTS_RUN) benchmarks/bench_cuda.py

results-mnist:
	$(RESULTS_RUN) benchmarks/bench_cnn.py mnist

results-cifar:
	$(RESULTS_RUN) benchmarks/bench_cnn.py cifar10_cnn

results-fast:
	$(RESULTS_RUN) benchmarks/bench_cnn.py cifar10_fast

results-dist:
	$(RESULTS_RUN) benchmarks/bench_dist.py

results-smoke:
	@tmp=$$(mktemp -d -t book_results_smoke_XXXX) && \
	$(RESULTS_ENV) BOOK_RESULTS_DIR=$$tmp BOOK_MODE=full BOOK_SMOKE=1 $(RESULTS_PY) benchmarks/bench_cnn.py --smoke all && \
	$(RESULTS_ENV) BOOK_RESULTS_DIR=$$tmp BOOK_MODE=full BOOK_SMOKE=1 $(RESULTS_PY) benchmarks/bench_dist.py && \
	$(RESULTS_ENV) BOOK_RESULTS_DIR=$$tmp BOOK_SMOKE=1 $(RESULTS_PY) benchmarks/bench_cuda.py --smoke && \
	echo "smoke results (meaningless numbers) in $$tmp; the CUDA part ran on the emulator"

timings: $(STAMP)
	BOOK_MODE=quick $(BIN)/python tools/nb_timings.py $(NB)

clean:
	rm -rf _build dist
