# Two commands for a fresh machine: `make study` runs the default study, `make test` runs the tests.
VENV ?= .venv
CORES ?= 8
ARCHIVE ?= study.tar.gz
# pytest-xdist workers for make test; a module's tests stay on one, the smoke study is shared (tests/conftest.py)
TEST_WORKERS ?= 2
PYTHON ?= python3
BIN := $(VENV)/bin
FMNIST_SYSTEM_COPY := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: study test test-fast report archive restore setup fmnist lint benchmark clean

study: setup fmnist
	$(BIN)/snakemake --cores $(CORES) all

test: setup fmnist
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The inner loop: every test that neither trains a model nor runs the workflow (pytest -m "not slow").
test-fast: setup fmnist
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# The report of a finished study: a .zip (an HTML report of the default study embeds ~34 MB), open report/report.html.
# For a study of one's own, name its config: make report CONFIG=my.yaml (the report needs the study's DAG); with the
# label-noise overlay, CONFIG="config.yaml configs/label_noise.yaml".
report: setup
	$(BIN)/snakemake --report report.zip $(if $(CONFIG),--configfile $(CONFIG))

# A finished study to $(ARCHIVE), and back in another clone with nothing left to run (docs/running.md). A study of
# one's own: make archive CONFIG=my.yaml.
archive: setup
	PYTHONPATH=src:$$PYTHONPATH $(BIN)/python -m pdepth.workflow.archive archive $(ARCHIVE) $(if $(CONFIG),--configfile $(CONFIG))

restore: setup
	PYTHONPATH=src:$$PYTHONPATH $(BIN)/python -m pdepth.workflow.archive restore $(ARCHIVE)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Fashion-MNIST without network: Debian's dataset-fashion-mnist, when apt-get is there and we are root.
# The workflow itself also looks at data.data_dir and downloads as a last resort.
fmnist:
	@if [ -f $(FMNIST_SYSTEM_COPY) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist; }; \
	else \
		echo "Fashion-MNIST: no system copy. Install Debian's dataset-fashion-mnist (as root), or pre-stage the four"; \
		echo "IDX .gz files and set data.data_dir in config.yaml; otherwise the workflow downloads them."; \
	fi

lint: setup
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs .snakemake
