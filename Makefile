# Setup, tests and demos. Everything installs into .venv; `make test` works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Pinned here so a fresh machine gets the CPU build; pyproject.toml keeps a range for users.
TORCH_PIN := torch==2.13.0
# Typer 0.29 imports pydantic on every call (about 0.1 s); 0.28 is the newest without it.
TYPER_PIN := typer==0.28.0
# zarr 3.2 and later need Python 3.12; 3.1.6 is the newest for the 3.11 the Makefile uses.
ZARR_PIN := zarr==3.1.6
STAMP := $(VENV)/.installed
# The editable install as a plain path in a .pth file ("compat"): setuptools' default finder
# imports pathlib, re and more at every Python start-up, 8 ms of each served call.

.PHONY: install browser gdal test test-quick demo bench gpu-check lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_PIN)" "$(TYPER_PIN)" "$(ZARR_PIN)"
	$(PY) -m pip install -q -e ".[test]" --config-settings editable_mode=compat
	touch $(STAMP)

# Debian's Chromium for the tests of the --viz FILE.html page (Playwright drives it; no
# browser download). Installed only when missing; needs root, as on CI.
CHROMIUM := /usr/bin/chromium

browser:
	test -x $(CHROMIUM) || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# GDAL's command-line programs are the oracle of --nodata (tests/engine/test_gdal_oracle.py).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
gdal:
	@command -v gdalwarp >/dev/null && command -v gdal_translate >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends gdal-bin; } || \
	  echo "make gdal: could not install gdal-bin; tests/engine/test_gdal_oracle.py will fail"

test: install browser gdal
	$(PY) -m pytest -q

# Everything but the tests that start real processes: for the edit-test loop (under a minute).
test-quick: install gdal
	$(PY) -m pytest -q -m "not slow"

demo: install
	mkdir -p demo-out
	$(VENV)/bin/poolcli max sample_data/seed_4x4.npy -k 2
	$(VENV)/bin/poolcli avg sample_data/seed_4x4.npy -k 2
	$(VENV)/bin/poolcli median sample_data/gradient.png -k 3 -s 1 -p same
	$(VENV)/bin/poolcli max sample_data/photo.png -k 2 -o demo-out/photo_max2.png
	$(VENV)/bin/poolcli mode sample_data/labels.png -k 4 -o demo-out/labels_mode4.png
	$(VENV)/bin/poolcli avg sample_data/photo.png -k 4 --viz demo-out/photo_avg4_viz.png -q -o demo-out/photo_avg4.png

bench: install
	$(PY) benchmarks/bench_core.py

# CUDA tests and a short GPU benchmark (under 5 minutes); fails at once without a GPU.
gpu-check: install
	$(PY) benchmarks/gpu_check.py

lint: install
	$(VENV)/bin/ruff check poolcli tests benchmarks
	$(VENV)/bin/ruff format --check poolcli tests benchmarks

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis
