# The two commands: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BURNISH := $(VENV)/bin/burnish
STAMP := $(VENV)/.installed
DEMO_IN := examples/demo_mix.flac
DEMO_OUT ?= demo-out

.PHONY: demo test install system-deps lint typecheck bench clean

system-deps:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  echo "installing ffmpeg (Debian package) ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg cuetools >/dev/null; }

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

test: install lint typecheck
	$(PY) -m pytest

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .mypy_cache
