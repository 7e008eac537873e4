# PropAdmin — `make run`, `make serve`, `make test`, `make bench`. Everything runs from ./.venv.
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLASK := $(BIN)/flask --app app

.PHONY: install translations run serve test bench lint extract-messages clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,production]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile -d propadmin/translations -D messages 2>&1 | grep -v '^compiling' || true

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# Production: gunicorn, sized to the machine (propadmin/gunicorn_conf.py says how to change
# it). The schema is upgraded once per release with `flask --app app db upgrade`, not here:
# several hosts starting at once must not each run migrations.
serve: install
	$(BIN)/gunicorn -c python:propadmin.gunicorn_conf app:app

# The suite runs in TEST_WORKERS processes (pytest-xdist; "auto": one per CPU core, 0: in
# this process alone). Each worker makes its own databases.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.bench

lint: install
	$(BIN)/ruff check .

extract-messages: install
	$(BIN)/pybabel extract -F propadmin/translations/babel.cfg -k lazy_gettext -k _l -o propadmin/translations/messages.pot .
	$(BIN)/pybabel update -i propadmin/translations/messages.pot -d propadmin/translations -D messages -l zh_Hans_CN --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/python propadmin/translations/tools/untranslated.py

clean:
	rm -rf $(VENV) .pytest_cache
