#!/usr/bin/env bash
# The real engine half of `make bench` (called by bench/run.sh): this module against the upstream
# verify-image-signatures 1.0.11 and the null policy (bench/null-policy, the engine's fixed
# cost), on the same requests and settings, against the lab registry.
#   bench/engine.sh LAB_DIR REGISTRY OUT_JSON
# 1. `kwctl bench`, modules alternating round by round: mean of `validate_settings` and of
#    `validate` per module; own cost = a module's mean minus the null policy's (the engine's
#    fixed cost per call), and the ratio sigpin / upstream of both.
# 2. policy-server, one per module (started together, loaded alternately): `ab`, concurrency 8,
#    a fixed number of requests: requests/s, mean latency, resident memory, start-up time.
# Prints three tables with ratios (sigpin / upstream) and writes OUT_JSON. No assertion on times.
# Without kwctl / policy-server / the upstream module: one loud line, OUT_JSON = null.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lab=$1
registry=$2
out=$3
source "$root/scripts/engine.sh"
kwctl=$(engine_find kwctl KWCTL)
policy_server=$(engine_find policy-server POLICY_SERVER)
# A fresh clone beside ../shared: unpack the engine there once (target/engine), as .ci/run does.
shared_install=$root/../shared/engine/install.sh
if { [ -z "$kwctl" ] || [ -z "$policy_server" ]; } && [ -x "$shared_install" ]; then
  engine_dir=$("$shared_install" "$root/target/engine")
  kwctl=${kwctl:-$engine_dir/kwctl}
  policy_server=${policy_server:-$engine_dir/policy-server}
fi
# scripts/policy-server.sh finds the binary the same way: hand it the one found here.
[ -z "$policy_server" ] || export POLICY_SERVER=$policy_server
upstream=${UPSTREAM:-$root/../shared/engine/verify-image-signatures-1.0.11.wasm}
upstream_annotated=${UPSTREAM_ANNOTATED:-${upstream%.wasm}.annotated.wasm}
policy=${POLICY:-$root/policy.wasm}
rounds=${ENGINE_ROUNDS:-3}
measure_s=${ENGINE_MEASURE_S:-2}
requests=${ENGINE_REQUESTS:-2000}
missing=""
[ -n "$kwctl" ] || missing=kwctl
[ -n "$policy_server" ] || missing="${missing:+$missing, }policy-server"
[ -f "$upstream" ] && [ -f "$upstream_annotated" ] || missing="${missing:+$missing, }$upstream"
if [ -n "$missing" ]; then
  engine_missing "$missing" "make bench: engine benchmarks"
  echo null > "$out"
  exit 0
fi
command -v ab > /dev/null || { echo "ab not found: apt-get install apache2-utils" >&2; exit 1; }

work=$(mktemp -d)
servers=()
cleanup() {
  local dir
  for dir in "${servers[@]}"; do "$root/scripts/policy-server.sh" stop "$dir"; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- inputs: the same for every module --------------------------------------------------
image() { jq -r --arg n "$1" '.images[$n].ref' "$lab/lab.json"; }
signed=("$(image key-signed)" "$(image two-signers)" "$(image key-annotated)")
jq -n --rawfile k "$lab/key-a.pub" --arg g "$registry/lab/*" '{signatures: [{image: $g, pubKeys: [$k]}]}' \
  > "$work/settings.json"
# request NAME KIND IMAGE...: containers c0..cN cycling over IMAGE...
request() {
  local name=$1 kind=$2 count=$3
  shift 3
  jq -n --arg kind "$kind" --argjson n "$count" --args '$ARGS.positional as $imgs
    | [range($n) | {name: "c\(.)", image: $imgs[. % ($imgs | length)]}] as $containers
    | {uid: "bench", kind: {group: (if $kind == "Pod" then "" else "apps" end), version: "v1", kind: $kind},
       resource: {group: (if $kind == "Pod" then "" else "apps" end), version: "v1",
                  resource: ($kind | ascii_downcase + "s")},
       name: "bench", namespace: "default", operation: "CREATE", userInfo: {username: "bench"},
       object: ({apiVersion: (if $kind == "Pod" then "v1" else "apps/v1" end), kind: $kind,
                 metadata: {name: "bench", namespace: "default"}}
                + if $kind == "Pod" then {spec: {containers: $containers}}
                  else {spec: {selector: {matchLabels: {app: "b"}},
                               template: {metadata: {labels: {app: "b"}}, spec: {containers: $containers}}}} end)}' \
    "$@" > "$work/$name.request.json"
  jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' "$work/$name.request.json" \
    > "$work/$name.review.json"
}
scenarios=(no-match-pod signed-pod deployment-3-containers pod-100-containers)
request no-match-pod Pod 1 registry.invalid/elsewhere/app:v1
request signed-pod Pod 1 "${signed[0]}"
request deployment-3-containers Deployment 3 "${signed[@]}"
request pod-100-containers Pod 100 "${signed[@]}"

modules=(sigpin upstream null)
declare -A wasm=([sigpin]=$policy [upstream]=$upstream [null]=$root/bench/null-policy/null-policy.wasm)
"$kwctl" annotate -m "$root/metadata.yml" -o "$work/sigpin.annotated.wasm" "$policy" 2> /dev/null
"$kwctl" annotate -m "$root/bench/null-policy/metadata.yml" -o "$work/null.annotated.wasm" \
  "${wasm[null]}" 2> /dev/null
declare -A annotated=([sigpin]=$work/sigpin.annotated.wasm [upstream]=$upstream_annotated
  [null]=$work/null.annotated.wasm)

kw() { RUST_BACKTRACE=0 "$kwctl" "$@" --sources-path "$lab/sources.yaml" --sigstore-trust-config "$lab/trust.json"; }

# Both real modules must reach the same verdict on every scenario, or the comparison is void.
for s in "${scenarios[@]}"; do
  for m in sigpin upstream; do
    kw run --request-path "$work/$s.request.json" --settings-path "$work/settings.json" "${wasm[$m]}" \
      2> /dev/null | jq -r .allowed > "$work/$s.$m.allowed"
  done
  [ "$(cat "$work/$s.sigpin.allowed")" = true ] && [ "$(cat "$work/$s.upstream.allowed")" = true ] \
    || { echo "engine bench: $s is not admitted by both modules" >&2; exit 1; }
done

# mean in µs of one section (`validate_settings` or `validate`) of kwctl bench's report
section_mean_us() {
  sed 's/\x1b\[[0-9;]*m//g' | awk -v section="$1" '
    $1 == section && $2 ~ /^\[/ {v = 1; next}
    v && /elapsed/ {
      sub(/.*\]:[ \t]*\[/, ""); split($0, f, " ")
      match(f[2], /^[0-9.]+/); value = substr(f[2], 1, RLENGTH); unit = substr(f[2], RLENGTH + 1)
      factor = (unit == "ns") ? 0.001 : (unit == "ms") ? 1000 : (unit == "s") ? 1000000 : 1
      printf "%.2f\n", value * factor; exit }'
}

# --- 1. kwctl bench, alternating -----------------------------------------------------------
# Every kwctl bench run times `validate_settings` (same settings in every scenario) and
# `validate`: the first goes to MODULE.settings, the second to SCENARIO.MODULE.kwctl.
echo "kwctl bench: $rounds rounds x ${measure_s}s per module and scenario, modules alternating"
for s in "${scenarios[@]}"; do
  for round in $(seq 1 "$rounds"); do
    for m in "${modules[@]}"; do
      kw bench --warm-up-time 1 --measurement-time "$measure_s" --request-path "$work/$s.request.json" \
        --settings-path "$work/settings.json" "${wasm[$m]}" > "$work/bench.out" 2> /dev/null
      section_mean_us validate < "$work/bench.out" >> "$work/$s.$m.kwctl"
      section_mean_us validate_settings < "$work/bench.out" >> "$work/$m.settings"
    done
  done
done

# --- 2. policy-server throughput -----------------------------------------------------------
declare -A addr
for m in "${modules[@]}"; do
  caps=$("$kwctl" inspect -o yaml "${annotated[$m]}" \
    | awk '/^hostCapabilities:/ {f = 1; next} f && /^- / {print $2; next} f {exit}' | jq -R . | jq -sc .)
  jq -n --arg w "file://${annotated[$m]}" --argjson caps "$caps" --slurpfile s "$work/settings.json" \
    '{p: {"module": $w, allowedToMutate: true, hostCapabilities: $caps, settings: $s[0]}}' > "$work/$m.policies.yml"
  servers+=("$work/$m.server")
  addr[$m]=$("$root/scripts/policy-server.sh" start "$work/$m.server" "$work/$m.policies.yml" \
    "$lab/sources.yaml" "$lab/trust.json")
done
echo "policy-server: ab -n $requests -c 8 -k per module and scenario, modules alternating"
for s in "${scenarios[@]}"; do
  for m in "${modules[@]}"; do
    # warm: the engine's verification cache holds the answers, as in a running cluster
    curl -fsS -X POST -H 'Content-Type: application/json' --data "@$work/$s.review.json" \
      "http://${addr[$m]}/validate/p" | jq -e '.response.allowed == true' > /dev/null \
      || { echo "policy-server ($m) does not admit $s" >&2; exit 1; }
    ab -q -k -n "$requests" -c 8 -p "$work/$s.review.json" -T application/json \
      "http://${addr[$m]}/validate/p" > "$work/$s.$m.ab" 2>&1
    grep -q '^Non-2xx responses' "$work/$s.$m.ab" && { echo "non-2xx answers ($m, $s)" >&2; exit 1; }
    awk '/^Requests per second/ {r = $4} /^Time per request:.*\(mean\)$/ {l = $4}
         /^Failed requests/ {f = $3} END {printf "{\"rps\": %s, \"mean_ms\": %s, \"failed\": %s}\n", r, l, f}' \
      "$work/$s.$m.ab" > "$work/$s.$m.ab.json"
  done
done
for m in "${modules[@]}"; do
  pid=$(cat "$work/$m.server/pid")
  jq -n --argjson startup "$(cat "$work/$m.server/startup_ms")" \
    --argjson rss "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" \
    --argjson hwm "$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")" \
    '{startup_ms: $startup, rss_kib: $rss, peak_rss_kib: $hwm}' > "$work/$m.server.json"
done

# --- results ------------------------------------------------------------------------------
mean() { awk '{s += $1; n++} END {printf "%.2f\n", s / n}' "$1"; }
rounds_json() { jq -Rs 'split("\n") | map(select(. != "") | tonumber)' "$1"; }
{
  for s in "${scenarios[@]}"; do
    for m in "${modules[@]}"; do
      jq -n --arg s "$s" --arg m "$m" --argjson mean "$(mean "$work/$s.$m.kwctl")" \
        --argjson rounds "$(rounds_json "$work/$s.$m.kwctl")" --slurpfile ab "$work/$s.$m.ab.json" \
        '{scenario: $s, module: $m, kwctl_validate_mean_us: $mean, kwctl_rounds_us: $rounds,
          policy_server: $ab[0]}'
    done
  done
} > "$work/rows.json"
for m in "${modules[@]}"; do
  jq -n --arg m "$m" --argjson mean "$(mean "$work/$m.settings")" \
    --argjson runs "$(rounds_json "$work/$m.settings")" '{key: $m, value: {mean_us: $mean, runs_us: $runs}}'
done | jq -s from_entries > "$work/settings.means.json"
# Own cost: a module's time minus the null policy's in the same run (the engine's fixed cost
# per call: serialising the request, the waPC round trip). Ratios are sigpin / upstream.
jq -s --argjson requests "$requests" --argjson rounds "$rounds" \
  --slurpfile sigpin "$work/sigpin.server.json" --slurpfile upstream "$work/upstream.server.json" \
  --slurpfile null "$work/null.server.json" --slurpfile settings "$work/settings.means.json" \
  'def own($r; $m): $r[$m] - $r.null;
   {modules: {sigpin: "policy.wasm", upstream: "verify-image-signatures 1.0.11", null: "bench/null-policy"},
    kwctl_rounds: $rounds, ab: {requests: $requests, concurrency: 8, keepalive: true},
    servers: {sigpin: $sigpin[0], upstream: $upstream[0], null: $null[0]},
    validate_settings: ($settings[0] | . + {own_cost_us: {
        sigpin: (.sigpin.mean_us - .null.mean_us), upstream: (.upstream.mean_us - .null.mean_us)}}
      | . + {ratio_own_cost: (.own_cost_us.sigpin / .own_cost_us.upstream)}),
    scenarios: (group_by(.scenario) | map({scenario: .[0].scenario,
      results: (map({key: .module, value: del(.scenario, .module)}) | from_entries)})
      | map((.results | map_values(.kwctl_validate_mean_us)) as $kw
        | . + {own_cost_us: {sigpin: own($kw; "sigpin"), upstream: own($kw; "upstream")},
               ratio_sigpin_over_upstream: {
          kwctl_validate_mean: ($kw.sigpin / $kw.upstream),
          own_cost: (own($kw; "sigpin") / own($kw; "upstream")),
          policy_server_rps: (.results.sigpin.policy_server.rps / .results.upstream.policy_server.rps),
          policy_server_mean_latency: (.results.sigpin.policy_server.mean_ms / .results.upstream.policy_server.mean_ms)}}))}' \
  "$work/rows.json" > "$out"

r2() { echo "(($1) * 100 | round / 100)"; }
echo
echo "kwctl bench, mean µs per call; own = module - null (ratios: sigpin / upstream, below 1 is better)"
jq -r "
  [\"call\", \"sigpin\", \"upstream\", \"null\", \"ratio\", \"own sigpin\", \"own upstream\", \"own ratio\"],
  (.validate_settings | [\"validate_settings\", .sigpin.mean_us, .upstream.mean_us, .null.mean_us,
    $(r2 '.sigpin.mean_us / .upstream.mean_us'), $(r2 .own_cost_us.sigpin), $(r2 .own_cost_us.upstream),
    $(r2 .ratio_own_cost)]),
  (.scenarios[] | [\"validate \" + .scenario,
    .results.sigpin.kwctl_validate_mean_us, .results.upstream.kwctl_validate_mean_us,
    .results.null.kwctl_validate_mean_us, $(r2 .ratio_sigpin_over_upstream.kwctl_validate_mean),
    $(r2 .own_cost_us.sigpin), $(r2 .own_cost_us.upstream), $(r2 .ratio_sigpin_over_upstream.own_cost)])
  | @tsv" "$out" | column -t -s $'\t'
echo
echo "policy-server, ab -k -c 8 (ratios: sigpin / upstream; above 1 is better for req/s)"
jq -r "
  [\"scenario\", \"req/s sigpin\", \"upstream\", \"null\", \"ratio\", \"mean ms sigpin\", \"upstream\", \"ratio\"],
  (.scenarios[] | [.scenario,
    .results.sigpin.policy_server.rps, .results.upstream.policy_server.rps, .results.null.policy_server.rps,
    $(r2 .ratio_sigpin_over_upstream.policy_server_rps),
    .results.sigpin.policy_server.mean_ms, .results.upstream.policy_server.mean_ms,
    $(r2 .ratio_sigpin_over_upstream.policy_server_mean_latency)])
  | @tsv" "$out" | column -t -s $'\t'
echo
jq -r "[\"policy-server\", \"start-up ms\", \"RSS KiB\", \"peak RSS KiB\"],
  (.servers | to_entries[] | [.key, .value.startup_ms, .value.rss_kib, .value.peak_rss_kib]),
  [\"ratio sigpin/upstream\",
   $(r2 '.servers.sigpin.startup_ms / .servers.upstream.startup_ms'),
   $(r2 '.servers.sigpin.rss_kib / .servers.upstream.rss_kib'),
   $(r2 '.servers.sigpin.peak_rss_kib / .servers.upstream.peak_rss_kib')]
  | @tsv" "$out" | column -t -s $'\t'
