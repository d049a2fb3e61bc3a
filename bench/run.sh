#!/usr/bin/env bash
# `make bench`: the policy's cost per admission over the scenarios of bench/scenarios (replayed
# host answers, so only the policy and the waPC round trips are measured), the verification
# cost against a real registry with lab signatures, and the real engine (bench/engine.sh: kwctl
# bench and policy-server throughput against the upstream module). Writes bench/results.json,
# prints the tables.
#   COMPARE=other.wasm make bench   adds a second module and the ratio per scenario
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-$root/target/debug/harness}
# Printed with the results: a dev harness compiles and runs modules slower than a release one.
echo "harness: $harness (build profile: ${BENCH_PROFILE:-dev})"
policy=${POLICY:-$root/policy.wasm}
runs=${RUNS:-200}
out=$root/bench/results.json
work=$(mktemp -d)
trap '"$root/scripts/registry.sh" stop "$work/registry" 2>/dev/null || true; rm -rf "$work"' EXIT

compare=()
[ -n "${COMPARE:-}" ] && compare=(--compare "$COMPARE")

rows=()
for dir in "$root"/bench/scenarios/*/; do
  name=$(basename "$dir")
  echo "bench: $name ($runs evaluations)" >&2
  row=$("$harness" bench -q --json --timeout 0 --num-samples "$runs" "${compare[@]}" \
    --request-path "$dir/request.json" --settings-path "$dir/settings.json" \
    --replay-host-capabilities-interactions "$dir/session.yml" "$policy")
  rows+=("$(jq -c --arg s "$name" --argjson e "$(cat "$dir/expect.json")" \
    '{scenario: $s, expected_host_calls: $e.host_calls, results: .}' <<< "$row")")
done

# Real registry: verification per signature kind, cold (no cache) and warm (cached).
registry=$("$root/scripts/registry.sh" start "$work/registry")
echo "bench: building the signing lab" >&2
"$harness" lab -q --registry "$registry" --out "$work/lab" > /dev/null
pod() {
  jq -n --arg image "$1" '{uid: "bench", kind: {group: "", version: "v1", kind: "Pod"},
    resource: {group: "", version: "v1", resource: "pods"}, name: "bench", namespace: "default",
    operation: "CREATE", object: {metadata: {name: "bench"}, spec: {containers: [{name: "app", image: $image}]}}}'
}
# Adversarial (issue 14), each well inside policy-server's 2 s default timeout:
#   keyless-pem-variants     one genuine keyless signature plus 99 layers carrying its
#                            certificate in other PEM spellings (accepted: one candidate)
#   transplant-pem-variants  the transplanted certificate in 100 spellings on garbage layers,
#                            under the engine's binding (rejected after one proof, not 100)
for kind in pubKeys keyless certificates keyless-pem-variants transplant-pem-variants; do
  binding=strict
  case $kind in
    pubKeys) image=key-signed
      jq -n --rawfile k "$work/lab/key-a.pub" '{signatures: [{image: "*", pubKeys: [$k]}]}' ;;
    keyless|keyless-pem-variants|transplant-pem-variants)
      case $kind in
        keyless) image=keyless-github ;;
        keyless-pem-variants) image=keyless-pem-variants ;;
        transplant-pem-variants) image=transplant-pem-variants binding=engine ;;
      esac
      jq -n --rawfile i "$work/lab/fulcio-intermediate.pem" --rawfile r "$work/lab/fulcio-root.pem" \
        '{keylessTrustRoot: {fulcioChain: [$i, $r]}, signatures: [{image: "*", githubActions: {owner: "org", repo: "app"}}]}' ;;
    certificates) image=cert-bundle
      jq -n --rawfile c "$work/lab/leaf.pem" '{signatures: [{image: "*", certificates: [$c], requireRekorBundle: true}]}' ;;
  esac > "$work/settings.json"
  pod "$(jq -r --arg n "$image" '.images[$n].ref' "$work/lab/lab.json")" > "$work/request.json"
  for cache in cold warm; do
    ttl=$([ $cache = cold ] && echo 0 || echo 600)
    echo "bench: registry-$kind-$cache" >&2
    row=$("$harness" bench -q --json --timeout 0 --num-samples 20 --cache-ttl "$ttl" --keyless-binding "$binding" \
      --request-path "$work/request.json" --settings-path "$work/settings.json" \
      --sources-path "$work/lab/sources.yaml" --sigstore-trust-config "$work/lab/trust.json" "$policy")
    # keyless: the verification plus the policy's binding (digest, .sig manifest, chain, proof)
    calls=$(case $kind in keyless*|transplant*) echo 5 ;; *) echo 1 ;; esac)
    rows+=("$(jq -c --arg s "registry-$kind-$cache" --argjson c "$calls" '{scenario: $s, expected_host_calls: $c, results: .}' <<< "$row")")
  done
done

# The real engine (kwctl bench, policy-server under ab) against the upstream module, same lab.
"$root/bench/engine.sh" "$work/lab" "$registry" "$work/engine.json" > "$work/engine.txt"

printf '%s\n' "${rows[@]}" | jq -s --arg machine "$(nproc) cores, $(uname -m), $(date -u +%F)" \
  --slurpfile engine "$work/engine.json" '{machine: $machine, scenarios: ., engine: $engine[0]}' > "$out"

jq -r '
  ["scenario", "module", "allowed", "host calls", "median µs", "p99 µs", "load ms", "bytes"],
  (.scenarios[] | .scenario as $s | .expected_host_calls as $e | .results[] |
    [$s, (.module | split("/") | last), .allowed, "\(.host_calls_per_evaluation)/\($e)",
     (.median_us | floor), (.p99_us | floor), (.load_ms | floor), .module_bytes])
  | @tsv' "$out" | column -t -s $'\t'
if [ ${#compare[@]} -gt 0 ]; then
  echo
  jq -r '.scenarios[] | select(.results | length == 2) |
    "\(.scenario): median ratio \((.results[1].median_us / .results[0].median_us) * 100 | floor / 100)"' "$out"
fi
echo
echo "== the real engine"
cat "$work/engine.txt"
# Every scenario must ask exactly its distinct (image, rule) pairs.
jq -e '[.scenarios[] | .expected_host_calls as $e | .results[]
        | select(.host_calls_per_evaluation != $e)] | length == 0' "$out" > /dev/null \
  || { echo "host call counts differ from the distinct (image, rule) pairs" >&2; exit 1; }
echo "results: $out"
