# Two commands on a fresh machine (see README):
#   make run    install into .venv, ingest the bundled corpus, answer a question, start the UI
#   make test   install into .venv (with test tools and Chromium), run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
QUESTION ?= Combien de territoires d'industrie compte le Grand Est ?

.PHONY: install run ask test test-fast eval-gate eval-heldout eval-unseen reader chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tia ingest --bundled
	$(BIN)/tia ask "$(QUESTION)"
	@echo "Starting the web UI on http://$(HOST):$(PORT) (Ctrl-C to stop)"
	$(BIN)/tia serve --host $(HOST) --port $(PORT)

ask: install
	$(BIN)/tia ask "$(QUESTION)"

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The quality gate: the dev set must keep at least the targets of issue 4 (answer quality), and its
# measured figures less a margin of a few records where those are higher: retrieval varies slightly
# from one ingest to the next (evals/README.md, "Current figures").
EVAL_GATE ?= --fail-under fact_recall=0.97 --fail-under all_facts=0.95 --fail-under citation_hit=0.97 \
	--fail-under citation_precision=0.93 --fail-under abstention_accuracy=0.90 --fail-under mrr=0.92 \
	--fail-over false_abstention=0.03 --fail-over fact_recall_gap=0.05 --fail-over length_median=300 \
	--fail-over length_max=1200 --fail-over latency_total_p95=300

test: install chromium
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory eval-gate

# dev2 and dev3 were written blind and tuned on afterwards (evals/README.md): their gates hold their
# measured figures less a margin. heldout.jsonl is never tuned on, so it is measured (make eval-heldout), not gated.
EVAL_GATE_DEV2 ?= --fail-under fact_recall=0.82 --fail-under all_facts=0.82 --fail-under citation_hit=0.85 \
	--fail-under abstention_accuracy=0.65 --fail-over false_abstention=0.05 --fail-over length_max=1200 \
	--fail-over latency_total_p95=300
EVAL_GATE_DEV3 ?= --fail-under fact_recall=0.70 --fail-under all_facts=0.66 --fail-under citation_hit=0.84 \
	--fail-under abstention_accuracy=0.70 --fail-over false_abstention=0.05 --fail-over length_max=1200 \
	--fail-over latency_total_p95=300

eval-gate: install
	@tmp=$$(mktemp -d) && export TIA_DATA_DIR=$$tmp/data && \
		$(BIN)/tia eval --bundled evals/datasets/dev.jsonl --out .eval-out/ci --quiet $(EVAL_GATE) && \
		$(BIN)/tia eval evals/datasets/dev2.jsonl --out .eval-out/ci-dev2 --quiet $(EVAL_GATE_DEV2) && \
		$(BIN)/tia eval evals/datasets/dev3.jsonl --out .eval-out/ci-dev3 --quiet $(EVAL_GATE_DEV3); \
		status=$$?; rm -rf $$tmp; exit $$status

# The held-out set: how well answers generalise to questions nobody tuned on (reported, not gated).
eval-heldout: install
	@tmp=$$(mktemp -d) && TIA_DATA_DIR=$$tmp/data $(BIN)/tia eval --bundled evals/datasets/heldout.jsonl \
		--out .eval-out/heldout --quiet; status=$$?; rm -rf $$tmp; exit $$status

# The unseen documents (evals/unseen/: 12 synthetic documents about other programmes) and their blind sets.
eval-unseen: install
	@tmp=$$(mktemp -d) && export TIA_DATA_DIR=$$tmp/data && $(BIN)/tia ingest evals/unseen/corpus >/dev/null && \
		$(BIN)/tia eval evals/unseen/unseen.jsonl --out .eval-out/unseen --quiet && \
		$(BIN)/tia eval evals/unseen/frozen_unseen.jsonl --out .eval-out/frozen-unseen --quiet; \
		status=$$?; rm -rf $$tmp; exit $$status

# Refit the extractive reader (assistant/reader.json) on the training sets, with the leave-one-set-out table.
reader: install
	$(BIN)/python -m evals.reader

# The quick loop: no real-model, server or browser tests.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not server and not browser"

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts .eval-out
