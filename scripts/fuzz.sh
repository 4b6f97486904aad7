#!/usr/bin/env bash
# Runs every fuzz target for a short time (FUZZTIME, default 3s each): the
# committed seed corpus under testdata/fuzz runs as plain tests anyway; this
# looks a little further on every CI run.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($fuzztime)"
		dir=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target
		before=$({ ls "$dir" 2>/dev/null || true; } | wc -l)
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >/tmp/pairgate-fuzz.log 2>&1 || {
			# Go's fuzzer can report "context deadline exceeded" when its
			# time runs out while it minimizes a new input, and then saves
			# nothing: that is the clock, not a bug in the target.
			if grep -q 'context deadline exceeded' /tmp/pairgate-fuzz.log && [ "$({ ls "$dir" 2>/dev/null || true; } | wc -l)" = "$before" ]; then
				echo "fuzz: $target: the fuzzing time ran out while minimizing (no failing input saved)"
				continue
			fi
			cat /tmp/pairgate-fuzz.log
			echo "fuzz: $target found a failing input; it is saved under testdata/fuzz/$target in the package" >&2
			exit 1
		}
	done
done
