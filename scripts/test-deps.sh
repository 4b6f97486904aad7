#!/usr/bin/env bash
# Makes sure the programs the tests run are on this machine, installing
# from Debian's packages only what is missing: PostgreSQL's initdb and
# server (the tests start a throwaway cluster of their own; the machine's
# PostgreSQL service is neither needed nor touched), Chromium and its
# driver, and CUPS, Avahi, D-Bus, Node.js, npm and gcc. It never edits system
# configuration and never downloads a browser. Quiet and idempotent: one
# line saying what is there.
set -euo pipefail

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# have NAME: a command on PATH or in the sbin directories, which are not
# on an ordinary user's PATH.
have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

# initdb: the first on PATH, else the newest of Debian's versions, as
# internal/testenv finds it.
initdb_path() {
	if command -v initdb 2>/dev/null; then return; fi
	ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

missing=()
[ -n "$(initdb_path)" ] || missing+=(postgresql)
have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
have cupsd || missing+=(cups)
have lpstat || missing+=(cups-client)
have ipptool || missing+=(cups-ipp-utils)
have avahi-daemon || missing+=(avahi-daemon)
have dbus-daemon || missing+=(dbus)
have node || missing+=(nodejs)
have npm || missing+=(npm)
# The ipptool test builds a small shim that hands libcups a token.
have gcc || missing+=(gcc)

if [ ${#missing[@]} -gt 0 ]; then
	if ! have apt-get; then
		echo "test-deps: missing ${missing[*]} (Debian package names); install them, this script knows only apt-get" >&2
		exit 1
	fi
	echo "test-deps: installing ${missing[*]} from Debian's packages"
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	# Wait for another apt or dpkg run (another checkout's tests) rather
	# than fail on its lock.
	apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
	if ! { sudo_ "${apt[@]}" update && sudo_ "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "test-deps: apt-get failed" >&2
		exit 1
	fi
fi

initdb=$(initdb_path)
[ -n "$initdb" ] || { echo "test-deps: initdb is still missing" >&2; exit 1; }
bindir=$(dirname "$(readlink -f "$initdb")")
pg=$("$bindir/postgres" --version | sed -E 's/^postgres \(PostgreSQL\) ([^ ]+).*/\1/')
first() { "$@" 2>/dev/null | head -n 1 | tr -s ' ' | cut -d ' ' -f "${cut:-1-}"; }
echo "test-deps: PostgreSQL $pg ($bindir), $(cut=1-2 first chromium --version), $(cut=1-2 first chromedriver --version)," \
	"CUPS (cupsd, lpstat, ipptool), avahi-daemon, dbus-daemon, Node.js $(first node --version), npm $(first npm --version)"
