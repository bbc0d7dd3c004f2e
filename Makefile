# The two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BURNISH := $(VENV)/bin/burnish
STAMP := $(VENV)/.installed
DEMO_IN := examples/demo_mix.flac
DEMO_OUT ?= demo-out

.PHONY: demo test install system-deps lint typecheck bench clean

# Debian packages the tests use as independent tools: ffmpeg/ffprobe (loudness, codecs),
# cuetools (CUE sheet parsing).
system-deps:
	@if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1 \
	    || ! command -v cueprint >/dev/null 2>&1; then \
	  echo "installing ffmpeg and cuetools (Debian packages) ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg cuetools >/dev/null; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[report,dev,bench]'
	@touch $(STAMP)

install: system-deps $(STAMP)
	@# Compile and cache the numba kernels once, so no command pays for it later.
	@$(PY) -m burnish.warmup

demo: install
	$(BURNISH) master $(DEMO_IN) -o $(DEMO_OUT) --target spotify --report

lint: install
	$(VENV)/bin/ruff check burnish tests bench

typecheck: install
	$(VENV)/bin/mypy

# Two workers: the machines have two cores. Files stay whole on one worker (module fixtures).
test: install lint typecheck
	$(PY) -m pytest -n 2 --dist loadfile

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .mypy_cache
