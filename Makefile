# Two commands a newcomer needs: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := examples/stp_2017/demo.db

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check dsl interpreter audit tierlang tests benchmarks

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/tierlang fmt --check methodologies/*.tier
	$(BIN)/pytest

demo: $(STAMP)
	rm -f $(DEMO_DB)
	$(BIN)/tierlang check methodologies/*.tier
	$(BIN)/tierlang run methodologies/stp_dashboard_2017.tier --data examples/stp_2017/stp_2017.csv \
	    --data organisation=examples/stp_2017/organisations.csv --audit $(DEMO_DB)
	$(BIN)/tierlang explain Dorset --audit $(DEMO_DB)
	$(BIN)/tierlang report --audit $(DEMO_DB) --out examples/stp_2017/report.html
	$(BIN)/tierlang test methodologies/*.tier

bench: $(STAMP)
	$(BIN)/python benchmarks/all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(DEMO_DB) tierlang.db examples/stp_2017/report.html
