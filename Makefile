# Two commands on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    set up, then run the whole tiny workflow (figures, tables, numbers, paper PDF)
#   make test   set up, lint (make lint), then run the test suite
# Set-up is idempotent: a stamp file skips it when requirements.lock and pyproject.toml are unchanged.

PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
# CPU-only torch; on machines whose pip does not already see a CPU wheel, add
# TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEX_STAMP := $(VENV)/.tex-installed

.PHONY: run test lint setup tex report dryrun clean reference-venvs env-venvs rehearsal chromium

setup: $(STAMP) $(TEX_STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# latexmk and a TeX Live subset for the paper PDF (Debian package names).
$(TEX_STAMP):
	@if command -v latexmk >/dev/null && kpsewhich booktabs.sty >/dev/null; then :; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended >/dev/null; fi
	mkdir -p $(VENV) && touch $@

# Headless Chromium (Debian's package), which the report test opens `snakemake --report` in.
chromium:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium >/dev/null; }

# The venv's bin first on PATH: the notebook rule runs jupyter from there.
export PATH := $(abspath $(BIN)):$(PATH)

run: setup
	snakemake --cores $(CORES) --rerun-incomplete

report: run
	snakemake --cores $(CORES) --report results/report.html

dryrun: $(STAMP)
	snakemake --dry-run --quiet rules

# Seconds: Snakemake's linter, snakefmt and ruff (configured in pyproject.toml); any finding fails.
lint: $(STAMP)
	snakemake --lint
	snakefmt --check .
	ruff check .

# The reference implementation (inspect_evals + inspect_ai), one venv per scorer version, for the
# parity tests (tests/test_reference_parity.py): their pins clash with each other, not with ours.
REFERENCE_VERSIONS := current paper-era
REFERENCE_STAMPS := $(foreach version,$(REFERENCE_VERSIONS),.venv-ref-$(version)/.installed)

reference-venvs: $(REFERENCE_STAMPS)

.venv-ref-%/.installed: tests/reference/requirements-%.txt
	rm -rf .venv-ref-$*
	$(PYTHON) -m venv .venv-ref-$*
	.venv-ref-$*/bin/pip install --quiet --no-deps -r $<
	touch $@

# Every rule env (envs/*.yaml) as a venv of exactly its packages, without conda (tests/envcheck.py;
# envs/README.md maps the conda-only dependencies). vllm.yaml needs CUDA wheels: resolved, not built.
ENV_NAMES := $(filter-out vllm,$(basename $(notdir $(wildcard envs/*.yaml))))
ENV_STAMPS := $(foreach env,$(ENV_NAMES),.venv-env-$(env)/.installed)

env-venvs: $(ENV_STAMPS)

.venv-env-%/.installed: envs/%.yaml $(STAMP)
	$(BIN)/python tests/envcheck.py build $<

# The rehearsal world (config/rehearsal.yaml) with its local hub and judge server.
rehearsal: setup
	$(BIN)/value-retention rehearse --workdir . -- --rerun-incomplete

# -rfEsp: the summary names every failed, erroring, skipped and passed test (the parity tests too).
test: setup lint reference-venvs env-venvs chromium
	python -m pytest -q -rfEsp

clean:
	rm -rf results resources .snakemake
