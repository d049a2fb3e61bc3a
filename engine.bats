#!/usr/bin/env bats
# policy-server as a cluster runs it: the module annotated by kwctl, served by the real
# policy-server on 127.0.0.1 with exactly metadata.yml's hostCapabilities, the default 2 s
# timeout, and AdmissionReviews POSTed to it for the lab's images in a real registry.
# Needs kwctl and policy-server (KWCTL / POLICY_SERVER or PATH); without them the whole file is
# skipped with one loud line. Run with `make engine-tests`.

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME"
  export HARNESS="${HARNESS:-$ROOT/target/debug/harness}"
  export POLICY="${POLICY:-$ROOT/policy.wasm}"
  export REGISTRY_DIR="$BATS_FILE_TMPDIR/registry"
  export SERVER_DIR="$BATS_FILE_TMPDIR/policy-server"
  export LAB="$BATS_FILE_TMPDIR/lab"
  source "$ROOT/scripts/engine.sh"
  KWCTL=$(engine_find kwctl KWCTL)
  POLICY_SERVER=$(engine_find policy-server POLICY_SERVER)
  export KWCTL POLICY_SERVER
  if [ -z "$KWCTL" ] || [ -z "$POLICY_SERVER" ]; then
    engine_missing "$([ -z "$KWCTL" ] && echo kwctl || echo policy-server)" "engine.bats: policy-server suite" >&3 || return 1
    export ENGINE_SKIPPED=1
    return 0
  fi
  [ -x "$HARNESS" ] || { echo "build the harness first: cargo build -p harness" >&2; return 1; }
  [ -f "$POLICY" ] || { echo "build the policy first: make policy.wasm" >&2; return 1; }
  REGISTRY="$("$ROOT/scripts/registry.sh" start "$REGISTRY_DIR")"
  export REGISTRY
  "$HARNESS" lab --registry "$REGISTRY" --out "$LAB" > /dev/null
  export ANNOTATED="$BATS_FILE_TMPDIR/annotated-policy.wasm"
  "$KWCTL" annotate -m "$ROOT/metadata.yml" -u "$ROOT/README.md" -o "$ANNOTATED" "$POLICY" 2> "$BATS_FILE_TMPDIR/annotate.log"
  export OVERRUN="$BATS_FILE_TMPDIR/overrun-policy.wasm"
  "$KWCTL" annotate -m "$ROOT/bench/null-policy/metadata.yml" -o "$OVERRUN" \
    "$ROOT/test_data/engine/overrun-policy.wasm" 2>> "$BATS_FILE_TMPDIR/annotate.log"
  policies > "$BATS_FILE_TMPDIR/policies.yml"
  ADDR=$("$ROOT/scripts/policy-server.sh" start "$SERVER_DIR" "$BATS_FILE_TMPDIR/policies.yml" \
    "$LAB/sources.yaml" "$LAB/trust.json")
  export ADDR
}

teardown_file() {
  [ -n "${ENGINE_SKIPPED:-}" ] && return 0
  "$ROOT/scripts/policy-server.sh" stop "$SERVER_DIR"
  "$ROOT/scripts/registry.sh" stop "$REGISTRY_DIR"
}

setup() {
  [ -z "${ENGINE_SKIPPED:-}" ] || skip "kwctl or policy-server not found"
}

load test_helpers

# The capabilities the annotated module declares, read back by kwctl (what policy-server reads).
declared_capabilities() {
  "$KWCTL" inspect -o yaml "$ANNOTATED" | awk '/^hostCapabilities:/ {f = 1; next} f && /^- / {print $2; next} f {exit}' | jq -R . | jq -sc .
}

# policies.yml: one id per configuration under test, all on the same annotated module.
policies() {
  jq -n --arg wasm "file://$ANNOTATED" --argjson caps "$(declared_capabilities)" \
    --arg overrun "file://$OVERRUN" --arg registry "$REGISTRY" --rawfile key "$LAB/key-a.pub" \
    --rawfile fi "$LAB/fulcio-intermediate.pem" --rawfile fr "$LAB/fulcio-root.pem" '
    {signatures: [{image: ($registry + "/lab/*"), pubKeys: [$key]}]} as $pubkeys
    | {keylessTrustRoot: {fulcioChain: [$fi, $fr]},
       signatures: [{image: "*", githubActions: {owner: "org", repo: "app"}}]} as $github
    | {sig: {"module": $wasm, allowedToMutate: true, hostCapabilities: $caps, settings: $pubkeys},
       keyless: {"module": $wasm, allowedToMutate: true, hostCapabilities: $caps, settings: $github},
       "no-mutation": {"module": $wasm, allowedToMutate: false, hostCapabilities: $caps, settings: $pubkeys},
       "no-capabilities": {"module": $wasm, allowedToMutate: true, settings: $pubkeys},
       overrun: {"module": $overrun, allowedToMutate: false, settings: {}}}'
}

# review [UPDATE OLD_IMAGE [SUBRESOURCE]]: $BATS_TEST_TMPDIR/request.json (see `request`) as an
# AdmissionReview; UPDATE makes oldObject the same object with OLD_IMAGE in the first list.
review() {
  jq --arg op "${1:-CREATE}" --arg old "${2:-}" --arg sub "${3:-}" '
    (if $op == "UPDATE" then
       .operation = "UPDATE"
       | .oldObject = (.object | (.. | objects | select(has("containers") or has("ephemeralContainers"))
                                  | (.ephemeralContainers // .containers)) |= map(.image = $old))
     else . end)
    | (if $sub != "" then .subResource = $sub | .requestSubResource = $sub
                          | .oldObject.spec.ephemeralContainers = [] else . end)
    | {apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' \
    "$BATS_TEST_TMPDIR/request.json" > "$BATS_TEST_TMPDIR/review.json"
}

# post POLICY_ID: the AdmissionReview to policy-server; $output becomes its `response`.
post() {
  run curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
    --data "@$BATS_TEST_TMPDIR/review.json" "http://$ADDR/validate/$1"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  [ "$(echo "$output" | jq -r '.kind + " " + .response.uid')" = "AdmissionReview e2e-uid" ]
  output=$(echo "$output" | jq -c .response)
}

@test "policy-server loaded the annotated module with metadata.yml's capabilities and a 2 s timeout" {
  [ "$(declared_capabilities)" = '["crypto/v1/is_certificate_trusted","oci/v1/manifest_digest","oci/v1/oci_manifest","oci/v2/verify"]' ]
  grep -q 'policy timeout protection is enabled execution_limit_seconds=2' "$SERVER_DIR/log"
}

@test "Pod with a signed image: allowed and pinned by the JSONPatch" {
  request Pod "$(image key-signed)"; review
  post sig
  assert_pinned key-signed /spec/containers/0/image
  [ "$(echo "$output" | jq -r .patchType)" = JSONPatch ]
}

@test "Deployment and CronJob with a signed image: pinned at their pod template" {
  request Deployment "$(image key-signed)"; review
  post sig
  assert_pinned key-signed /spec/template/spec/containers/0/image
  request CronJob "$(image key-signed)"; review
  post sig
  assert_pinned key-signed /spec/jobTemplate/spec/template/spec/containers/0/image
}

@test "Pod with an unsigned image: rejected with the cause" {
  request Pod "$(image unsigned)"; review
  post sig
  assert_rejected "Pod default/app is not accepted: container \"app\" image \"$(image unsigned)\": rule #0 (pubKeys) failed: no signatures found for image: $(image unsigned)"
}

@test "an image no rule matches: allowed untouched" {
  request Pod "registry.invalid/elsewhere/app:v1"; review
  post sig
  [ "$(allowed)" = true ]
  [ "$(echo "$output" | jq -r '.patch // "none"')" = none ]
}

@test "UPDATE of a Deployment to a signed image: verified and pinned" {
  request Deployment "$(image key-signed)"; review UPDATE "$(image unsigned)"
  post sig
  assert_pinned key-signed /spec/template/spec/containers/0/image
}

@test "pods/ephemeralcontainers (kubectl debug): unsigned rejected, signed pinned" {
  request Pod "$(image unsigned)" ephemeralContainers; review UPDATE "$(image unsigned)" ephemeralcontainers
  post sig
  assert_rejected "ephemeral container \"app\" image \"$(image unsigned)\""
  request Pod "$(image key-signed)" ephemeralContainers; review UPDATE "$(image key-signed)" ephemeralcontainers
  post sig
  assert_pinned key-signed /spec/ephemeralContainers/0/image
}

@test "keyless (githubActions): the genuine signature is pinned, both transplants are rejected" {
  request Pod "$(image keyless-github)"; review
  post keyless
  assert_pinned keyless-github /spec/containers/0/image
  local variant
  for variant in transplant-attacker transplant-garbage; do
    request Pod "$(image $variant)"; review
    post keyless
    assert_rejected "rule #0 (githubActions) failed: identity found only on a signature its certificate did not make" || { echo "$variant"; return 1; }
  done
}

@test "allowedToMutate: false: the operator sees the signed image rejected because the policy mutates" {
  request Pod "$(image key-signed)"; review
  post no-mutation
  assert_rejected "Request rejected by policy no-mutation. The policy attempted to mutate the request, but it is currently configured to not allow mutations."
  [ "$(echo "$output" | jq -r '.patch // "none"')" = none ]
  # an image already pinned needs no mutation and passes
  request Pod "$(image key-signed)@$(digest key-signed)"; review
  post no-mutation
  [ "$(allowed)" = true ]
}

@test "without hostCapabilities policy-server grants nothing: rejected, never admitted" {
  request Pod "$(image key-signed)"; review
  post no-capabilities
  assert_rejected "Policy has not been granted access to the 'oci/v2/verify' host capability"
}

@test "a policy that overruns the default 2 s timeout: rejected with code 500, as the harness does" {
  request Pod "$(image key-signed)"; review
  post overrun
  [ "$(allowed)" = false ]
  [ "$(echo "$output" | jq -c .status)" = '{"message":"Policy execution interrupted because it exceeded the allowed execution time","code":500}' ]
  local engine=$output
  run "$HARNESS" run --request-path "$BATS_TEST_TMPDIR/review.json" "$ROOT/test_data/engine/overrun-policy.wasm"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -c '{allowed, status}')" = "$(echo "$engine" | jq -c '{allowed, status}')" ]
}

@test "invalid settings: policy-server refuses to start and says why" {
  jq -n --arg wasm "file://$ANNOTATED" --argjson caps "$(declared_capabilities)" \
    '{broken: {"module": $wasm, allowedToMutate: true, hostCapabilities: $caps,
               settings: {signatures: [{image: "*", pubKeys: ["not a key"], keyless: []}]}}}' \
    > "$BATS_TEST_TMPDIR/policies.yml"
  run "$ROOT/scripts/policy-server.sh" start "$BATS_TEST_TMPDIR/server" "$BATS_TEST_TMPDIR/policies.yml" \
    "$LAB/sources.yaml" "$LAB/trust.json"
  [ "$status" -eq 1 ]
  [[ "$output" == *"policy-server exited before it was ready"* ]]
  [[ "$output" == *'Policy settings are invalid: rule #0 (pubKeys), field "pubKeys[0]": not a PEM public key'* ]]
  [ ! -f "$BATS_TEST_TMPDIR/server/pid" ]
}

@test "an unannotated module is refused at start-up" {
  jq -n --arg wasm "file://$POLICY" --argjson caps "$(declared_capabilities)" --rawfile key "$LAB/key-a.pub" \
    '{raw: {"module": $wasm, allowedToMutate: true, hostCapabilities: $caps,
            settings: {signatures: [{image: "*", pubKeys: [$key]}]}}}' > "$BATS_TEST_TMPDIR/policies.yml"
  run "$ROOT/scripts/policy-server.sh" start "$BATS_TEST_TMPDIR/server" "$BATS_TEST_TMPDIR/policies.yml" \
    "$LAB/sources.yaml" "$LAB/trust.json"
  [ "$status" -eq 1 ]
  [[ "$output" == *"protocol version"* ]]
}
