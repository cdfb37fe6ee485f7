# amelipro — the two commands: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
CHROMIUM ?= $(or $(AMELIPRO_CHROMIUM),/usr/bin/chromium)

.PHONY: install run test test-sqlite test-postgresql bench lint setup clean chromium

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Migrate, load reference data, demo accounts and patients, demo PKI (each step is idempotent).
setup: install
	$(BIN)/amelipro db upgrade
	$(BIN)/amelipro reference import
	$(BIN)/amelipro demo seed
	$(BIN)/amelipro beneficiaries demo
	$(BIN)/amelipro pki init-demo

run: setup
	@echo ""
	@echo "amelipro : http://127.0.0.1:$(PORT)"
	@echo "Connexion : medecin.demo / demo-medecin-2026 (aussi pharmacien.demo / demo-pharmacien-2026,"
	@echo "            infirmier.demo / demo-infirmier-2026, operateur.demo / demo-operateur-2026,"
	@echo "            caisse.demo / demo-caisse-2026)"
	@echo ""
	$(BIN)/amelipro serve --port $(PORT)

test: test-sqlite test-postgresql

# The browser tests drive the Debian Chromium: installed here when missing (as .ci/run does),
# so that `make test` on a fresh machine runs them instead of failing or skipping them.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "== Chromium absent ($(CHROMIUM)) : installation du paquet Debian « chromium » (apt-get)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null || \
	  { echo "Installation de Chromium impossible : installez le paquet « chromium » puis relancez make test."; exit 1; }; \
	  [ -x "$(CHROMIUM)" ] || { echo "Chromium toujours absent de $(CHROMIUM) (AMELIPRO_CHROMIUM ?)."; exit 1; }; \
	  echo "== Chromium installé : $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	fi

test-sqlite: install chromium
	AMELIPRO_REQUIRE_BROWSER=1 AMELIPRO_CHROMIUM=$(CHROMIUM) AMELIPRO_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgresql: install chromium
	AMELIPRO_REQUIRE_BROWSER=1 AMELIPRO_CHROMIUM=$(CHROMIUM) AMELIPRO_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider

# Every benchmark in one run (several minutes; QUICK=1: each in its small mode; BENCH="submit
# serving": those modules only, bench/serving.py included).
bench: install
	$(BIN)/python -m bench $(if $(QUICK),--quick) $(BENCH)

lint: install
	$(BIN)/ruff check amelipro tests bench

clean:
	rm -rf $(VENV) instance build *.egg-info
