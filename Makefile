# amelipro — the two commands: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000

.PHONY: install run test test-sqlite test-postgresql bench lint setup clean

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

test-sqlite: install
	AMELIPRO_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgresql: install
	AMELIPRO_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check amelipro tests bench

clean:
	rm -rf $(VENV) instance build *.egg-info
