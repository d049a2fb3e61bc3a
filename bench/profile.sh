#!/usr/bin/env bash
# `make profile`: instructions per call of the policy's native build (bench/profile.rs) under
# callgrind, per scenario of bench/scenarios and per operation. Counts are repeatable (they do
# not depend on the machine's load); the callgrind files stay in target/profile for
# `callgrind_annotate --inclusive=yes FILE`, which names where the instructions go.
#   bench/profile.sh [SCENARIO...]   default: every scenario of bench/scenarios
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
driver=${PROFILE_DRIVER:-$root/target/release/examples/profile}
out=$root/target/profile
command -v valgrind > /dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 1; }
[ -x "$driver" ] || { echo "$driver not found: make profile builds it" >&2; exit 1; }
mkdir -p "$out"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || mapfile -t scenarios < <(ls "$root/bench/scenarios")
rounds=200
# instructions DRIVER-ARGS...: total instructions of one run of the driver
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$out/last.callgrind" "$driver" "$@" 2>&1 \
    | awk '/Collected/ {print $4}'
}
printf '%-45s %-17s %14s\n' scenario operation "instructions"
for name in "${scenarios[@]}"; do
  dir=$root/bench/scenarios/$name
  for op in validate settings; do
    args=("$op" "$dir/request.json" "$dir/settings.json" "$dir/session.yml")
    # one round is the driver's own start-up and input reading; the difference is the calls
    one=$(instructions "${args[@]}" 1)
    many=$(instructions "${args[@]}" $((rounds + 1)))
    mv "$out/last.callgrind" "$out/$name.$op.callgrind"
    printf '%-45s %-17s %14s\n' "$name" "$op" "$(((many - one) / rounds))"
  done
done
echo "(per call; callgrind files: $out/SCENARIO.OPERATION.callgrind)"
