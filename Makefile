# The two commands a fresh machine needs (see README.md):
#   make run   installs everything and starts the web explorer on the embedded store
#   make test  installs everything (including Debian's chromium for browser tests) and runs the tests
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install install-browser install-ocr install-lab run test lint bench

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'

# Browser tests drive Debian's chromium (never a downloaded browser build).
install-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium missing and not root: browser tests will skip"; fi; \
	fi

# The archive OCRs scanned pages with Debian's tesseract (Russian, Chinese, English) and reads
# PDFs' pages with poppler; without them such pages are marked "needs OCR". Word 97-2003 files
# are read by antiword; without it they are recorded as failed ("antiword not installed").
OCR_PACKAGES := tesseract-ocr tesseract-ocr-rus tesseract-ocr-chi-sim tesseract-ocr-eng poppler-utils antiword
install-ocr:
	@if [ ! -x /usr/bin/tesseract ] || [ ! -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] || [ ! -x /usr/bin/pdftoppm ] || [ ! -x /usr/bin/antiword ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PACKAGES) >/dev/null; \
		else echo "tesseract missing and not root: scanned pages will be marked 'needs OCR' (apt-get install $(OCR_PACKAGES))"; fi; \
	fi

# The lab's per-source drops and rejects use iptables, its throttling case tc (iproute2), and the
# probe's Tor and OpenVPN tests run Debian's tor, obfs4proxy and openvpn (as root; else those skip).
LAB_PACKAGES := iptables iproute2 tor obfs4proxy openvpn
install-lab:
	@if ! command -v iptables >/dev/null && [ ! -x /usr/sbin/iptables ] || [ ! -x /usr/sbin/tc ] || \
		[ ! -x /usr/sbin/tor ] || [ ! -x /usr/bin/obfs4proxy ] || [ ! -x /usr/sbin/openvpn ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(LAB_PACKAGES) >/dev/null; \
		else echo "lab packages missing and not root: their tests will skip (apt-get install $(LAB_PACKAGES))"; fi; \
	fi

run: install install-ocr
	$(VENV)/bin/censorwatch serve --listen $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

test: install install-browser install-ocr install-lab
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# The benchmarks a user runs; the other bench/ modules are their phases and helpers (run by
# them as children, with arguments). bench_archive indexes a million documents: hours on 2 cores.
BENCHES := bench_ingest bench_rerun bench_collector bench_probe bench_probe_tests bench_registry bench_store_memory bench_web \
	bench_events bench_events_accuracy bench_archive
bench: install
	for b in $(BENCHES); do $(PY) bench/$$b.py || exit 1; done
