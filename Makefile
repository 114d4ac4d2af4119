# The targets README.md talks about. `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export INBOX_DATABASE_URL ?= sqlite:///var/inbox.db

.PHONY: install run test test-sqlite test-postgres bench lint eval worker clean browser imap

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with test and bench tools

# a secret key of this checkout, made once: sessions and links survive restarts, nothing is shared
var/secret-key:
	mkdir -p var
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))' > $@

run: install var/secret-key  ## migrate and serve on SQLite with the worker and the mail catcher in-process
	INBOX_SECRET_KEY=$${INBOX_SECRET_KEY:-$$(cat var/secret-key)} \
	INBOX_DEMO_SEED=$${INBOX_DEMO_SEED:-true} $(BIN)/inbox serve

worker: install var/secret-key  ## a separate delivery worker (for PostgreSQL deployments)
	INBOX_SECRET_KEY=$${INBOX_SECRET_KEY:-$$(cat var/secret-key)} $(BIN)/inbox worker

browser:  ## Debian's Chromium, axe-core and the Nu HTML checker (vnu.jar, Java 17) for the browser tests
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null)
	@test -f node_modules/axe-core/axe.min.js -a -f node_modules/vnu-jar/build/dist/vnu.jar || npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null

imap:  ## Debian's Dovecot for the IMAP polling tests (the suite starts its own private server)
	@test -x /usr/sbin/dovecot || command -v dovecot >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null)

test: install browser imap  ## the whole suite (INBOX_TEST_DATABASE_URL selects PostgreSQL; TESTS="-m slow" a part)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(TESTS)

bench: install  ## every benchmark in bench/, each ending with a JSON line of its figures
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

eval: install  ## the matcher on the labelled dev set
	$(BIN)/inbox eval ../shared/eval/messages-dev.jsonl

lint: install  ## ruff (checks and formatting), the import contracts (layers, no cycles) and mypy, as pyproject.toml sets them
	$(BIN)/ruff check inbox tests bench
	$(BIN)/ruff format --check inbox tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var node_modules
