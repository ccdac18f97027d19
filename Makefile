# Quick start: `make console` runs the bot in this terminal; `make test` runs the tests.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
WHO ?= sam

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: console console-postgres lead test bench
console: $(VENV)/.installed
	$(VENV)/bin/staffsafe console --user $(WHO)

# The console on PostgreSQL: a throwaway server (Debian's postgresql package) for this session only.
console-postgres: $(VENV)/.installed
	$(VENV)/bin/python -m testkit.postgres $(VENV)/bin/staffsafe console --user $(WHO)

lead: $(VENV)/.installed
	$(VENV)/bin/staffsafe console --user lee --lead

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench.store_bench

# The store: submits against stock TinyDB, then a scheduler pass at 1,000 / 10,000 / 100,000 stored reports
# (~3 minutes, ~0.3 GB of data folder at the largest size), then server memory with ~1 GB of stored evidence
# (bench-evidence, ~4 minutes); updates bench/RESULTS.md.
.PHONY: bench-store
bench-store: $(VENV)/.installed
	$(VENV)/bin/python -m bench.store_bench
	$(VENV)/bin/python -m bench.scheduler_bench
	$(VENV)/bin/python -m bench.evidence_bench

# Slack ack latency and CPU against bare Bolt apps (needs 2 cores and taskset); updates bench/RESULTS.md.
.PHONY: bench-slack
bench-slack: $(VENV)/.installed
	$(VENV)/bin/python -m bench.slack_bench

# One reminder fanned out to 1,000 channels under Slack-like rate limits, against slack_sdk's own 429 handling
# (~2 minutes); updates bench/RESULTS.md.
.PHONY: bench-reminders
bench-reminders: $(VENV)/.installed
	$(VENV)/bin/python -m bench.reminder_bench

# Server memory with ~1 GB of stored evidence against none: real `staffsafe serve` processes (~3 minutes,
# writes ~1 GB to a temporary folder under bench/); updates bench/RESULTS.md.
.PHONY: bench-evidence
bench-evidence: $(VENV)/.installed
	$(VENV)/bin/python -m bench.evidence_bench

# Reliability: SIGKILLs during bursts, damaged data folders, full disks (a real tmpfs too when run as root)
# (~2 minutes); updates the reliability section of bench/RESULTS.md.
.PHONY: bench-faults
bench-faults: $(VENV)/.installed
	$(VENV)/bin/python -m bench.faults_bench

# Teams: answer latency and CPU with token validation on, against a bare PyJWT floor (needs 2 cores and taskset);
# updates bench/RESULTS.md.
.PHONY: bench-teams
bench-teams: $(VENV)/.installed
	$(VENV)/bin/python -m bench.teams_bench
