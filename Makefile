# sovtrain: `make smoke` runs the main job, `make test` the whole suite. Both set up .venv first.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-complete
SMOKE_RECIPE ?= recipes/pretrain/finance-smoke.yaml
SFT_RECIPE ?= recipes/finetune/finance-sft-smoke.yaml
SFT_RUN ?= runs/finance-sft-smoke
# torch is pinned to the CPU wheel on disk; deepspeed builds against it without isolation.
TORCH_PIN := torch==2.13.0
DEEPSPEED_PIN := deepspeed==0.19.8
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# torchao beside the venv, not in it: the fp8 converter's CPU test puts it on its own
# subprocess's path (installed in the venv, transformers would import it in every process).
TORCHAO_PIN := torchao==0.18.0
FP8_TEST_LIB := $(VENV)/extras
# Debian packages the tests need: chromium renders the compliance report; slurm-wlm + munge
# run the real two-node test cluster (tests/integration/slurm_cluster.py).
SYSTEM_PACKAGES := chromium slurm-wlm munge

.PHONY: setup system-deps smoke test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install "$(TORCH_PIN)" setuptools wheel
	$(PIP) install --no-build-isolation "$(DEEPSPEED_PIN)"
	$(PIP) install -e ".[dev]"
	$(PIP) install --no-deps --target $(FP8_TEST_LIB) "$(TORCHAO_PIN)"
	@touch $@
	@echo "setup complete: $(BIN)/sovtrain"

# Installs what is missing (a package counts as present if dpkg has it or a command of that
# name exists), only as root; otherwise it says what to install and the tests that need it fail.
system-deps:
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" \
			|| command -v $$pkg >/dev/null || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "WARNING: missing system packages:$$missing (run: sudo apt-get install -y$$missing)"; \
	fi

# The whole workflow on CPU: pre-train -> fine-tune (SFT) -> eval -> export -> lm-eval tasks
# on the export (into its model card) -> ask, in English
# and in Chinese, from the exported Hugging Face directory. The system message is in the
# answer's language, as in the generated SFT set (see recipes/finetune/finance-sft-smoke.yaml).
smoke: setup
	$(BIN)/sovtrain train $(SMOKE_RECIPE) --nproc 2
	$(BIN)/sovtrain train $(SFT_RECIPE) --nproc 2
	$(BIN)/sovtrain eval $(SFT_RECIPE)
	$(BIN)/sovtrain export $(SFT_RUN) $(SFT_RUN)/export --format hf
	$(BIN)/sovtrain eval $(SFT_RUN)/export --tasks hkfin_mc
	$(BIN)/sovtrain ask $(SFT_RUN)/export --system "You are a bilingual finance assistant." \
		$$'Translate into English:\n不允許分批裝運。'
	$(BIN)/sovtrain ask $(SFT_RUN)/export --system "你是一位雙語金融助理。" \
		$$'請譯成繁體中文：\nPartial shipments are not allowed.'

test: setup system-deps
	$(BIN)/python -m pytest tests

test-fast: setup
	$(BIN)/python -m pytest tests -m "not slow"

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/step_time.py
	$(BIN)/python bench/data_throughput.py

clean:
	rm -rf runs .pytest_cache
