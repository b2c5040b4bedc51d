#!/usr/bin/env bash
# Benchmarks: each prints `BENCH <name> <value> <unit>`, the median of
# several runs measured in this one invocation.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/runnerfleet"
work=$(mktemp -d "${TMPDIR:-/tmp}/runnerfleet-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# validate_specs_per_s: parse + validate throughput of `runnerfleet validate`
# over a folder of realistic specs (the examples, renamed), whole process
# included.
n=2000
mkdir -p "$work/specs"
for i in $(seq 1 $n); do
  sed "s/name: team-a/name: team-a-$i/; s/appName: team-a/appName: ta$i/" examples/team-a.yaml >"$work/specs/f$i.yaml"
done
runs=()
for r in 1 2 3 4 5; do
  s=$(date +%s%N)
  "$bin" validate "$work/specs" >/dev/null
  e=$(date +%s%N)
  runs+=($((e - s)))
done
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
python3 -c "print(f'BENCH validate_specs_per_s {$n / ($median / 1e9):.0f} specs/s')"
