# The two commands of the README:
#   make book   - set up .venv, build the site (_build/html) and the slides (_build/html/slides)
#   make test   - the same set-up and build, then the unit tests and nbval over every notebook (quick mode)
# Also: make execute [NB=chapters/01_tensors.ipynb]  - re-run notebooks in quick mode and store outputs.

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

# Bit-for-bit reproducible CPU numbers (the stored outputs that nbval compares): fix the thread count and
# cap the instruction set of PyTorch's kernels (ATen, oneDNN) and of MKL at AVX2, which every x86-64 CI
# machine has. Without the cap, a CPU with AVX-512 sums in another order and a CNN's loss differs in the
# 3rd digit after a few hundred steps. BOOK_PORTABLE_CPU=1 makes book.setup() turn oneDNN off, whose
# kernel choice also depends on the CPU model (see book/env.py). These only apply to make's commands,
# not to readers' notebooks.
export BOOK_PORTABLE_CPU ?= 1
export OMP_NUM_THREADS ?= 2
export ATEN_CPU_CAPABILITY ?= avx2
export ONEDNN_MAX_CPU_ISA ?= AVX2
export MKL_CBWR ?= AVX2,STRICT

.PHONY: book site slides test unit nbval execute vendor sysdeps clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "Need Python 3.11 ($(PYTHON)); set PYTHON=..."; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
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

test: book sysdeps
	BOOK_MODE=quick $(BIN)/python -m pytest -q tests $(NB) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

execute: $(STAMP)
	BOOK_MODE=quick $(BIN)/python tools/execute.py $(NB)

clean:
	rm -rf _build
