#!/usr/bin/env bash
# Makes sure the real parts the tests use are on this machine: PostgreSQL
# answering on 127.0.0.1:5432 (user postgres, trust auth), Debian's
# Chromium with its driver, and Node.js with npm (the DPoP interoperability
# test runs an independent client, panva's dpop package, pinned in
# internal/oauth/testdata/node, which the test installs with npm ci).
# Installs from Debian's packages what is missing; never downloads a
# browser.
set -euo pipefail

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
	echo "test-deps: installing ${missing[*]} from Debian's packages"
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	echo "test-deps: starting PostgreSQL $version"
	sudo_ pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
	for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
fi
pg_up || { echo "test-deps: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }

# The tests connect as postgres without a password over TCP.
if ! psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'select 1' >/dev/null 2>&1; then
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	hba=/etc/postgresql/$version/main/pg_hba.conf
	echo "test-deps: allowing trust auth for postgres on loopback in $hba"
	sudo_ sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
	sudo_ pg_ctlcluster --skip-systemctl-redirect "$version" main reload
	sleep 1
	psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'select 1' >/dev/null
fi
echo "test-deps: PostgreSQL $(psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'show server_version'), $(chromium --version 2>/dev/null | head -n 1)"
