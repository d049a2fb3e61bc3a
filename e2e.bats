#!/usr/bin/env bats
# End-to-end: policy.wasm evaluated by the harness against a real registry on 127.0.0.1 holding
# the signing lab's images and cosign signatures. Run with `make e2e-tests`.
# Differential: every `evaluate` also runs the same request, settings, sources.yaml and trust.json
# under the real `kwctl run` (found through KWCTL or PATH) and fails when the verdict, the
# message or the decoded patch differ. Without kwctl that half is skipped with one loud line.

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME"
  export HARNESS="${HARNESS:-$ROOT/target/debug/harness}"
  export POLICY="${POLICY:-$ROOT/policy.wasm}"
  export REGISTRY_DIR="$BATS_FILE_TMPDIR/registry"
  export LAB="$BATS_FILE_TMPDIR/lab"
  [ -x "$HARNESS" ] || { echo "build the harness first: cargo build -p harness" >&2; return 1; }
  [ -f "$POLICY" ] || { echo "build the policy first: make policy.wasm" >&2; return 1; }
  source "$ROOT/scripts/engine.sh"
  KWCTL=$(engine_find kwctl KWCTL)
  export KWCTL
  if [ -z "$KWCTL" ]; then
    engine_missing kwctl "e2e.bats: harness verdicts are not compared with kwctl" >&3 || return 1
  fi
  REGISTRY="$("$ROOT/scripts/registry.sh" start "$REGISTRY_DIR")"
  export REGISTRY
  "$HARNESS" lab --registry "$REGISTRY" --out "$LAB" > /dev/null
}

teardown_file() {
  "$ROOT/scripts/registry.sh" stop "$REGISTRY_DIR"
}

# --- helpers --------------------------------------------------------------------------------

load test_helpers

# settings JSON: written as given
settings() { echo "$1" > "$BATS_TEST_TMPDIR/settings.json"; }

# The ordinary rules of the suite, by kind.
pubkey_rule() { settings "{\"signatures\": [{\"image\": \"*\", \"pubKeys\": [$(pem key-a.pub)] $1}] $2}"; }

# evaluate [HARNESS_ARGS...]: the harness's verdict in $status / $output, checked against kwctl's.
# `--timeout 0`: no deadline, as `kwctl run` (a deadline would make verdicts depend on the
# machine's load; engine.bats checks policy-server's 2 s one with a policy that never ends).
evaluate() {
  run "$HARNESS" run --request-path "$BATS_TEST_TMPDIR/request.json" \
    --settings-path "$BATS_TEST_TMPDIR/settings.json" --timeout 0 \
    --sources-path "$LAB/sources.yaml" --sigstore-trust-config "$LAB/trust.json" "$@" "$POLICY"
  same_under_kwctl "$@"
}

# What both hosts must agree on: exit status; for a verdict `allowed`, the decoded patch,
# warnings, audit annotations and the message with its whitespace collapsed (the policy folds
# host error text onto one line); for refused settings the refusal text.
verdict_summary() { # verdict_summary STATUS OUTPUT
  if [ "$1" -ne 0 ]; then
    printf '%s\n' "$2" | grep -o 'Provided settings are not valid: .*' | tail -1 | tr -s ' '
    # a policy whose own signature does not verify: both refuse to run it, in their own words
    [ -z "${ENGINE_VERIFY_KEY:-}" ] || echo "refused to run the policy"
    return 0
  fi
  printf '%s\n' "$2" | grep '^{' | tail -1 | jq -S '{allowed, patch: (.patch // "" | @base64d),
    message: (.status.message // "" | gsub("\\s+"; " ")), code: .status.code,
    warnings, auditAnnotations}'
}

# same_under_kwctl HARNESS_ARGS...: run kwctl on the inputs `evaluate` used; leaves the
# harness's $status / $output in place. ENGINE_POLICY (default $POLICY) is the policy kwctl
# runs, ENGINE_VERIFY_KEY a key its signature must verify with (kwctl --verification-key).
same_under_kwctl() {
  [ -n "$KWCTL" ] || return 0
  # `--keyless-binding strict` is the harness's opt-in "binding host": no Kubewarden host
  # behaves so, there is nothing to compare with.
  case " $* " in *" --keyless-binding strict "*) return 0 ;; esac
  local harness_status=$status harness_output=$output engine_status=0 ours theirs extra=()
  [ -z "${ENGINE_VERIFY_KEY:-}" ] || extra=(--verification-key "$ENGINE_VERIFY_KEY")
  RUST_BACKTRACE=0 "$KWCTL" run --request-path "$BATS_TEST_TMPDIR/request.json" \
    --settings-path "$BATS_TEST_TMPDIR/settings.json" --sources-path "$LAB/sources.yaml" \
    --sigstore-trust-config "$LAB/trust.json" "${extra[@]}" "${ENGINE_POLICY:-$POLICY}" \
    > "$BATS_TEST_TMPDIR/kwctl.out" 2> "$BATS_TEST_TMPDIR/kwctl.err" || engine_status=$?
  ours=$(verdict_summary "$harness_status" "$harness_output")
  if [ "$engine_status" -eq 0 ]; then
    theirs=$(verdict_summary 0 "$(cat "$BATS_TEST_TMPDIR/kwctl.out")")
  else
    theirs=$(verdict_summary "$engine_status" "$(cat "$BATS_TEST_TMPDIR/kwctl.err")")
  fi
  if [ "$harness_status" -ne "$engine_status" ] || [ "$ours" != "$theirs" ] || [ -z "$ours" ]; then
    echo "harness and kwctl disagree (exit $harness_status vs $engine_status)"
    diff <(echo "$ours") <(echo "$theirs") || true
    echo "kwctl stderr (last lines):"; tail -3 "$BATS_TEST_TMPDIR/kwctl.err"
    return 1
  fi
  status=$harness_status
  output=$harness_output
}

# --- public keys ----------------------------------------------------------------------------

@test "pubKeys: signed image is accepted and pinned to its digest" {
  request Pod "$(image key-signed)"; pubkey_rule
  evaluate
  assert_pinned key-signed /spec/containers/0/image
}

@test "pubKeys: image signed by another key is rejected" {
  request Pod "$(image wrong-key)"; pubkey_rule
  evaluate
  assert_rejected "Pod default/app is not accepted: container \"app\" image \"$(image wrong-key)\": rule #0 (pubKeys) failed: Image verification failed: missing signatures"
}

@test "pubKeys: unsigned image is rejected" {
  request Pod "$(image unsigned)"; pubkey_rule
  evaluate
  assert_rejected "rule #0 (pubKeys) failed: no signatures found for image: $(image unsigned)"
}

@test "pubKeys: an image signed only as a cosign v3 bundle (referrers) is rejected with how to sign" {
  request Pod "$(image bundle-only)"; pubkey_rule
  evaluate
  assert_rejected "rule #0 (pubKeys) failed: no signatures found for image: $(image bundle-only)" \
    "the image has a Sigstore bundle (cosign v3's default format) under the referrers tag $(digest bundle-only | tr : -) but no \`.sig\` signature" \
    "cosign sign --new-bundle-format=false --use-signing-config=false"
}

@test "pubKeys: an unsigned image's rejection says nothing of bundles" {
  request Pod "$(image unsigned)"; pubkey_rule
  evaluate
  assert_rejected "no signatures found"
  [[ "$(message)" != *"bundle"* ]]
}

@test "pubKeys: tampered payload is rejected" {
  request Pod "$(image tampered)"; pubkey_rule
  evaluate
  assert_rejected "image \"$(image tampered)\": rule #0 (pubKeys) failed: Image verification failed: missing signatures"
}

@test "pubKeys: signature made for another digest is rejected" {
  request Pod "$(image other-digest)"; pubkey_rule
  evaluate
  assert_rejected "image \"$(image other-digest)\": rule #0 (pubKeys) failed: failed to get image trusted layers"
}

@test "pubKeys: required signer annotation present is accepted" {
  request Pod "$(image key-annotated)"; pubkey_rule ', "annotations": {"env": "prod"}'
  evaluate
  assert_pinned key-annotated /spec/containers/0/image
}

@test "pubKeys: missing signer annotation is rejected" {
  request Pod "$(image key-signed)"; pubkey_rule ', "annotations": {"env": "prod"}'
  evaluate
  assert_rejected "rule #0 (pubKeys) failed: Image verification failed: missing signatures" "annotations: env: prod"
}

@test "multi-arch image is verified by its index digest" {
  request Pod "$(image multiarch)"; pubkey_rule
  evaluate
  assert_pinned multiarch /spec/containers/0/image
  [ "$(digest multiarch)" != "$(jq -r '.images.multiarch.platforms[0]' "$LAB/lab.json")" ]
}

# --- keyless --------------------------------------------------------------------------------

# Keyless rules trust the lab's Fulcio for the policy's own binding check (keylessTrustRoot).
trust_root() { echo "\"keylessTrustRoot\": {\"fulcioChain\": [$(pem fulcio-intermediate.pem), $(pem fulcio-root.pem)]}"; }
keyless_rule() { settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"keyless\": [{\"issuer\": \"$1\", \"subject\": \"$2\"}]}]}"; }

@test "keyless: the right issuer and subject are accepted" {
  request Pod "$(image keyless-email)"; keyless_rule https://oidc.lab.example alice@lab.example
  evaluate
  assert_pinned keyless-email /spec/containers/0/image
}

@test "keyless: a wrong subject is rejected" {
  request Pod "$(image keyless-email)"; keyless_rule https://oidc.lab.example mallory@lab.example
  evaluate
  assert_rejected "rule #0 (keyless) failed: Image verification failed: missing signatures" "subject: !equal mallory@lab.example"
}

@test "keyless: a wrong issuer is rejected" {
  request Pod "$(image keyless-email)"; keyless_rule https://accounts.evil.example alice@lab.example
  evaluate
  assert_rejected "rule #0 (keyless) failed" "issuer: https://accounts.evil.example"
}

# Harness only: kwctl without --sigstore-trust-config fetches the public Sigstore TUF root
# over the network, which a test must not depend on.
@test "keyless: without a trust root keyless cannot verify" {
  request Pod "$(image keyless-email)"; keyless_rule https://oidc.lab.example alice@lab.example
  run "$HARNESS" run --request-path "$BATS_TEST_TMPDIR/request.json" --settings-path "$BATS_TEST_TMPDIR/settings.json" --timeout 0 \
    --sources-path "$LAB/sources.yaml" "$POLICY"
  assert_rejected "keyless verification needs a Sigstore trust root"
}

@test "keyless: signatures of a private Fulcio without keylessTrustRoot name keylessTrustRoot as the fix" {
  # The engine trusts the lab's Sigstore (--trust-root / --sigstore-trust-config); the policy's
  # binding defaults to public-good Fulcio, which did not issue the lab's certificates.
  request Pod "$(image keyless-email)"
  settings '{"signatures": [{"image": "*", "keyless": [{"issuer": "https://oidc.lab.example", "subject": "alice@lab.example"}]}]}'
  evaluate
  assert_rejected "rule #0 (keyless) failed: no certificate of the identity alice@lab.example (https://oidc.lab.example) chains to the trusted Fulcio CA" \
    "Certificate is not trusted by the provided cert chain" \
    "set keylessTrustRoot.fulcioChain to its Fulcio CA chain"
}

prefix_rule() { settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"keylessPrefix\": [{\"issuer\": \"https://token.actions.githubusercontent.com\", \"urlPrefix\": \"$1\"}]}]}"; }

@test "keylessPrefix: a subject under the prefix is accepted" {
  request Pod "$(image keyless-github)"; prefix_rule https://github.com/org
  evaluate
  assert_pinned keyless-github /spec/containers/0/image
}

@test "keylessPrefix: a typosquatting owner (org-evil vs org) is rejected" {
  request Pod "$(image keyless-evil)"; prefix_rule https://github.com/org
  evaluate
  assert_rejected "rule #0 (keylessPrefix) failed" "subject: !urlPrefix https://github.com/org"
}

github_rule() { settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"githubActions\": $1}]}"; }

@test "githubActions: the right owner and repository are accepted" {
  request Pod "$(image keyless-github)"; github_rule '{"owner": "org", "repo": "app"}'
  evaluate
  assert_pinned keyless-github /spec/containers/0/image
}

@test "githubActions: a wrong owner is rejected" {
  request Pod "$(image keyless-github)"; github_rule '{"owner": "other"}'
  evaluate
  assert_rejected "rule #0 (githubActions) failed" "kind: githubAction owner: other"
}

@test "githubActions: a wrong repository is rejected" {
  request Pod "$(image keyless-github)"; github_rule '{"owner": "org", "repo": "other"}'
  evaluate
  assert_rejected "rule #0 (githubActions) failed" "repo: other"
}

regex_rule() { settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"keylessRegex\": [{\"issuer\": \"https://token.actions.githubusercontent.com\", \"subjectRegExp\": \"$1\"}]}]}"; }

@test "keylessRegex: a subject matching the expression is accepted" {
  request Pod "$(image keyless-github)"
  regex_rule 'https://github\\.com/org/[^/]+/\\.github/workflows/release\\.yml@refs/heads/main'
  evaluate
  assert_pinned keyless-github /spec/containers/0/image
}

@test "keylessRegex: a look-alike owner is refused by the anchored expression" {
  request Pod "$(image keyless-evil)"
  regex_rule 'https://github\\.com/org/.*'
  evaluate
  assert_rejected "rule #0 (keylessRegex) failed: no signature certificate matches"
}

@test "keylessRegex: both transplants are refused under engine mode" {
  transplants_rejected keylessRegex regex_rule 'https://github\\.com/org/.*'
}

# --- transplanted keyless certificate + bundle ----------------------------------------------

@test "transplant (attacker key): rejected under keylessPrefix" {
  request Pod "$(image transplant-attacker)"; prefix_rule https://github.com/org
  evaluate
  assert_rejected "image \"$(image transplant-attacker)\": rule #0 (keylessPrefix) failed"
}

@test "transplant (garbage signature): rejected under githubActions" {
  request Pod "$(image transplant-garbage)"; github_rule '{"owner": "org"}'
  evaluate
  assert_rejected "image \"$(image transplant-garbage)\": rule #0 (githubActions) failed"
}

@test "transplant (attacker key): rejected under keyless exact" {
  request Pod "$(image transplant-attacker)"
  keyless_rule https://token.actions.githubusercontent.com "$(jq -r .identities.github_subject "$LAB/lab.json")"
  evaluate
  assert_rejected "rule #0 (keyless) failed"
}

@test "bindKeyless false: the engine's weakness is real (transplant admitted, by kwctl too)" {
  request Pod "$(image transplant-attacker)"
  settings '{"bindKeyless": false, "signatures": [{"image": "*", "keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/org/"}]}]}'
  evaluate
  [ "$status" -eq 0 ]
  [ "$(allowed)" = true ]
}

# Harness only (no Kubewarden host binds keyless identities, so kwctl is not asked): the
# opt-in strict host refuses the transplant itself, even with the policy's binding off.
@test "--keyless-binding strict (harness only): the host itself refuses a transplant" {
  request Pod "$(image transplant-attacker)"
  settings '{"bindKeyless": false, "signatures": [{"image": "*", "keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/org/"}]}]}'
  evaluate --keyless-binding strict
  assert_rejected "rule #0 (keylessPrefix) failed: Image verification failed: missing signatures"
}

# transplants_rejected KIND RULE...: with the host as lax as the engine (the harness's default,
# and kwctl), the policy's own binding rejects both transplant variants under RULE...'s rule.
transplants_rejected() {
  local kind=$1 variant
  shift
  for variant in transplant-attacker transplant-garbage; do
    request Pod "$(image $variant)"; "$@"
    evaluate
    assert_rejected "rule #0 ($kind) failed" "identity found only on a signature its certificate did not make" || { echo "$variant"; return 1; }
  done
}

@test "engine host: the policy's binding rejects both transplants under keylessPrefix" {
  transplants_rejected keylessPrefix prefix_rule https://github.com/org
}

@test "engine host: the policy's binding rejects both transplants under githubActions" {
  transplants_rejected githubActions github_rule '{"owner": "org", "repo": "app"}'
}

@test "engine host: the policy's binding rejects both transplants under keyless exact" {
  transplants_rejected keyless keyless_rule https://token.actions.githubusercontent.com "$(jq -r .identities.github_subject "$LAB/lab.json")"
}

@test "engine host: genuine keyless signatures of every kind are still accepted" {
  request Pod "$(image keyless-github)"; github_rule '{"owner": "org", "repo": "app"}'
  evaluate
  assert_pinned keyless-github /spec/containers/0/image
  prefix_rule https://github.com/org
  evaluate
  assert_pinned keyless-github /spec/containers/0/image
  request Pod "$(image keyless-email)"; keyless_rule https://oidc.lab.example alice@lab.example
  evaluate
  assert_pinned keyless-email /spec/containers/0/image
}

# --- certificates ---------------------------------------------------------------------------

cert_rule() { # cert_rule LEAF_FILE REQUIRE_BUNDLE
  settings "{\"signatures\": [{\"image\": \"*\", \"certificates\": [$(pem "$1")], \"certificateChain\": [$(pem ca-intermediate.pem), $(pem ca-root.pem)], \"requireRekorBundle\": $2}]}"
}

@test "certificates: a leaf of the chain with a Rekor bundle is accepted" {
  request Pod "$(image cert-bundle)"; cert_rule leaf.pem true
  evaluate
  assert_pinned cert-bundle /spec/containers/0/image
}

@test "certificates: requireRekorBundle rejects a signature without bundle" {
  request Pod "$(image cert-no-bundle)"; cert_rule leaf.pem true
  evaluate
  assert_rejected "rule #0 (certificates) failed: verification failed: Several Signature Layers failed verification"
}

@test "certificates: without requireRekorBundle a signature without bundle is accepted" {
  request Pod "$(image cert-no-bundle)"; cert_rule leaf.pem false
  evaluate
  assert_pinned cert-no-bundle /spec/containers/0/image
}

@test "certificates: a certificate outside the chain is refused by validate_settings" {
  request Pod "$(image cert-outsider)"; cert_rule outsider-leaf.pem false
  evaluate
  [ "$status" -eq 1 ]
  [[ "$output" == *'rule #0 (certificates), field "certificates[0]": not trusted by certificateChain: Certificate is not trusted by the provided cert chain'* ]]
}

@test "certificates: an expired leaf without bundle is refused" {
  request Pod "$(image cert-expired)"; cert_rule expired-leaf.pem false
  evaluate
  [ "$status" -eq 1 ]
  [[ "$output" == *"Certificate is being used after its expiration date"* ]]
}

@test "certificates: a leaf whose only EKU is serverAuth passes settings (any EKU, as the engine) and fails verification" {
  request Pod "$(image cert-bundle)"
  settings "{\"signatures\": [{\"image\": \"*\", \"certificates\": [$(jq -Rs . "$ROOT/test_data/pki/server-auth-leaf.pem")], \"certificateChain\": [$(jq -Rs . "$ROOT/test_data/pki/server-auth-root.pem")], \"requireRekorBundle\": false}]}"
  evaluate
  assert_rejected "rule #0 (certificates) failed" "code signing extended key usage"
}

# --- resources and container lists ----------------------------------------------------------

@test "every kind of resource: signed images are pinned at the kind's PodSpec" {
  pubkey_rule
  local kind pointer
  for kind in Pod Deployment ReplicaSet StatefulSet DaemonSet ReplicationController Job CronJob; do
    request "$kind" "$(image key-signed)"
    evaluate
    case $kind in
      Pod) pointer=/spec/containers/0/image ;;
      CronJob) pointer=/spec/jobTemplate/spec/template/spec/containers/0/image ;;
      *) pointer=/spec/template/spec/containers/0/image ;;
    esac
    assert_pinned key-signed "$pointer" || { echo "kind $kind"; return 1; }
  done
}

@test "every kind of resource: unsigned images are rejected" {
  pubkey_rule
  local kind
  for kind in Pod Deployment ReplicaSet StatefulSet DaemonSet ReplicationController Job CronJob; do
    request "$kind" "$(image unsigned)"
    evaluate
    assert_rejected "$kind default/app is not accepted: container \"app\"" || { echo "kind $kind"; return 1; }
  done
}

@test "init containers are verified" {
  request Deployment "$(image unsigned)" initContainers; settings "{\"signatures\": [{\"image\": \"$REGISTRY/*\", \"pubKeys\": [$(pem key-a.pub)]}]}"
  evaluate
  assert_rejected "init container \"app\" image \"$(image unsigned)\""
}

@test "ephemeral containers are verified and pinned" {
  request Pod "$(image key-signed)" ephemeralContainers; settings "{\"signatures\": [{\"image\": \"$REGISTRY/*\", \"pubKeys\": [$(pem key-a.pub)]}]}"
  evaluate
  assert_pinned key-signed /spec/ephemeralContainers/0/image
}

# --- mutation and digests -------------------------------------------------------------------

@test "mutation off: accepted without a patch" {
  request Pod "$(image key-signed)"; pubkey_rule '' ', "modifyImagesWithDigest": false'
  evaluate
  [ "$(allowed)" = true ]
  [ "$(echo "$output" | jq -r '.patch // "none"')" = none ]
}

@test "an image already pinned to the right digest is accepted unchanged" {
  request Pod "$(image key-signed)@$(digest key-signed)"; pubkey_rule
  evaluate
  [ "$(allowed)" = true ]
  [ "$(echo "$output" | jq -r '.patch // "none"')" = none ]
}

@test "an image pinned to a wrong digest is rejected" {
  request Pod "$(image key-signed)@$(digest unsigned)"; pubkey_rule
  evaluate
  assert_rejected "image \"$(image key-signed)@$(digest unsigned)\""
}

# --- settings beyond upstream ---------------------------------------------------------------

threshold_rule() { settings "{\"signatures\": [{\"image\": \"*\", \"threshold\": $1, \"pubKeys\": [$(pem key-a.pub), $(pem key-b.pub)]}]}"; }

@test "threshold 2 of 2: both signers accepted" {
  request Pod "$(image two-signers)"; threshold_rule 2
  evaluate
  assert_pinned two-signers /spec/containers/0/image
}

@test "threshold 2 of 2: one signer rejected, naming each key" {
  request Pod "$(image key-signed)"; threshold_rule 2
  evaluate
  assert_rejected "rule #0 (pubKeys) failed: 1 of 2 required signers verified: key #0 ok, key #1: Image verification failed"
}

@test "threshold 1 of 2: one signer is enough" {
  request Pod "$(image key-signed)"; threshold_rule 1
  evaluate
  assert_pinned key-signed /spec/containers/0/image
}

@test "warn mode admits an unsigned image with a warning" {
  request Pod "$(image unsigned)"; pubkey_rule ', "mode": "warn"'
  evaluate
  [ "$(allowed)" = true ]
  [[ "$(echo "$output" | jq -r '.warnings[0]')" == *"no signatures found"*"(warn mode: admitted)" ]]
  [ "$(echo "$output" | jq -r '.auditAnnotations["sigpin-warning-0"]')" = "$(echo "$output" | jq -r '.warnings[0]')" ]
}

@test "requireDigest rejects a tag-only reference" {
  request Pod "$(image key-signed)"; pubkey_rule '' ', "requireDigest": true, "modifyImagesWithDigest": false'
  evaluate
  assert_rejected "the reference names no digest and the rule requires one (requireDigest)"
}

@test "exemption before its expiry admits the exact digest with a warning" {
  request Pod "$(image unsigned)@$(digest unsigned)"
  pubkey_rule '' ", \"exemptions\": [{\"image\": \"$(image unsigned)@$(digest unsigned)\", \"reason\": \"vendor\", \"expires\": \"2099-12-31\"}]"
  evaluate
  [ "$(allowed)" = true ]
  [[ "$(echo "$output" | jq -r '.warnings[0]')" == *"exempt from signature verification until 2099-12-31"* ]]
}

@test "exemption after its expiry verifies as usual" {
  request Pod "$(image unsigned)@$(digest unsigned)"
  pubkey_rule '' ", \"exemptions\": [{\"image\": \"$(image unsigned)@$(digest unsigned)\", \"reason\": \"vendor\", \"expires\": \"2020-01-31\"}]"
  evaluate
  assert_rejected "no signatures found"
}

# --- settings validation --------------------------------------------------------------------

@test "invalid settings are refused by validate_settings with their message" {
  request Pod "$(image key-signed)"
  settings '{"signatures": [{"image": "*", "pubKeys": ["not a key"], "keyless": [{"issuer": "https://i", "subject": "s"}]}]}'
  evaluate
  [ "$status" -eq 1 ]
  [[ "$output" == *"Provided settings are not valid: rule #0: more than one signature kind (pubKeys, keyless): set exactly one"* ]]
  settings '{"signatures": [{"image": "*", "keylessPrefix": [{"issuer": "https://i", "urlPrefix": "github.com/org"}]}]}'
  evaluate
  [ "$status" -eq 1 ]
  [[ "$output" == *'field "keylessPrefix[0].urlPrefix": "github.com/org" is not an absolute URL'* ]]
}

# --- distribution ---------------------------------------------------------------------------

@test "annotate, push, pull and run from the registry give the local verdicts" {
  "$HARNESS" annotate -m "$ROOT/metadata.yml" -u "$ROOT/README.md" -o "$BATS_TEST_TMPDIR/annotated.wasm" "$POLICY"
  run "$HARNESS" inspect "$BATS_TEST_TMPDIR/annotated.wasm"
  [ "$status" -eq 0 ]
  [[ "$output" == *"protocolVersion: v1"* ]]
  [[ "$output" == *"io.kubewarden.policy.title: sigpin"* ]]
  run "$HARNESS" push -q --sources-path "$LAB/sources.yaml" "$BATS_TEST_TMPDIR/annotated.wasm" "registry://$REGISTRY/policies/sigpin:e2e"
  [ "$status" -eq 0 ]
  [[ "$output" == "Policy successfully pushed: $REGISTRY/policies/sigpin@sha256:"* ]]
  "$HARNESS" pull --sources-path "$LAB/sources.yaml" -o "$BATS_TEST_TMPDIR/pulled.wasm" "registry://$REGISTRY/policies/sigpin:e2e"
  cmp "$BATS_TEST_TMPDIR/pulled.wasm" "$BATS_TEST_TMPDIR/annotated.wasm"
  pubkey_rule
  local name local_output
  for name in key-signed unsigned; do
    request Pod "$(image "$name")"
    evaluate
    local_output=$output
    run "$HARNESS" run -q --request-path "$BATS_TEST_TMPDIR/request.json" --settings-path "$BATS_TEST_TMPDIR/settings.json" --timeout 0 \
      --sources-path "$LAB/sources.yaml" --sigstore-trust-config "$LAB/trust.json" "registry://$REGISTRY/policies/sigpin:e2e"
    [ "$status" -eq 0 ]
    [ "$output" = "$local_output" ]
  done
}

@test "--verification-key refuses an unsigned or wrongly signed policy and runs a signed one" {
  "$HARNESS" annotate -m "$ROOT/metadata.yml" -o "$BATS_TEST_TMPDIR/annotated.wasm" "$POLICY"
  "$HARNESS" push --sources-path "$LAB/sources.yaml" "$BATS_TEST_TMPDIR/annotated.wasm" "registry://$REGISTRY/policies/sigpin:signed"
  request Pod "$(image key-signed)"; pubkey_rule
  verified_run() { # the harness's --verification-key, checked against kwctl's --verification-key
    run "$HARNESS" run -q --request-path "$BATS_TEST_TMPDIR/request.json" --settings-path "$BATS_TEST_TMPDIR/settings.json" --timeout 0 \
      --sources-path "$LAB/sources.yaml" --verification-key "$LAB/$1" "registry://$REGISTRY/policies/sigpin:signed"
    ENGINE_POLICY="registry://$REGISTRY/policies/sigpin:signed" ENGINE_VERIFY_KEY="$LAB/$1" same_under_kwctl
  }
  verified_run key-a.pub
  [ "$status" -eq 1 ]
  [[ "$output" == *"refusing to run registry://$REGISTRY/policies/sigpin:signed: its signature does not verify"*"no signatures found"* ]]
  "$HARNESS" sign --registry "$REGISTRY" --signer attacker policies/sigpin:signed
  verified_run key-a.pub
  [ "$status" -eq 1 ]
  [[ "$output" == *"refusing to run"*"missing signatures"* ]]
  "$HARNESS" sign --registry "$REGISTRY" --signer signer-a policies/sigpin:signed
  verified_run key-a.pub
  [ "$status" -eq 0 ]
  assert_pinned key-signed /spec/containers/0/image
}

# === issue 14: settings that mean what they say (security) =================================
# Distinct signers, annotations only where bound, per-container change, patches only where
# Kubernetes allows a change, bounded binding cost. (Before the faults section: it needs the
# registry.)

# pod_update SPEC OLD_SPEC [SUBRESOURCE]: a Pod UPDATE whose spec is SPEC and whose
# oldObject's spec is OLD_SPEC (JSON), optionally through a subresource.
pod_update() {
  jq -n --argjson spec "$1" --argjson old "$2" --arg sub "${3:-}" '
    def pod($s): {apiVersion: "v1", kind: "Pod", metadata: {name: "app", namespace: "default", labels: {app: "a"}}, spec: $s};
    {uid: "e2e-uid", kind: {group: "", version: "v1", kind: "Pod"},
     resource: {group: "", version: "v1", resource: "pods"},
     name: "app", namespace: "default", operation: "UPDATE", userInfo: {username: "e2e"},
     object: pod($spec), oldObject: pod($old)}
    + if $sub == "" then {} else {subResource: $sub} end' > "$BATS_TEST_TMPDIR/request.json"
}

# assert_settings_refused TEXT: validate_settings refused the settings with TEXT in its message
assert_settings_refused() {
  [ "$status" -eq 1 ]
  [[ "$output" == *"Provided settings are not valid: "*"$1"* ]] || { echo "output: $output"; return 1; }
}

@test "threshold duplicates: one key twice (CRLF spelling) is refused by validate_settings" {
  request Pod "$(image key-signed)"
  settings "{\"signatures\": [{\"image\": \"*\", \"threshold\": 2, \"pubKeys\": [$(pem key-a.pub), $(sed 's/$/\r/' "$LAB/key-a.pub" | jq -Rs .)]}]}"
  evaluate
  assert_settings_refused 'rule #0 (pubKeys), field "pubKeys[1]": is the same key as pubKeys[0]'
}

@test "threshold duplicates: two certificates of one key are refused by validate_settings" {
  request Pod "$(image cert-bundle)"
  settings "{\"signatures\": [{\"image\": \"*\", \"threshold\": 2, \"certificates\": [$(pem leaf.pem), $(pem expired-leaf.pem)]}]}"
  evaluate
  assert_settings_refused 'field "certificates[1]": certifies the same public key as certificates[0]'
}

@test "threshold duplicates: nested keylessPrefix entries with threshold 2 are refused" {
  request Pod "$(image keyless-github)"
  local issuer
  issuer=$(jq -r .identities.github_issuer "$LAB/lab.json")
  settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"threshold\": 2, \"keylessPrefix\": [{\"issuer\": \"$issuer\", \"urlPrefix\": \"https://github.com/org\"}, {\"issuer\": \"$issuer\", \"urlPrefix\": \"https://github.com/org/app/\"}]}]}"
  evaluate
  assert_settings_refused '"https://github.com/org/app/" and keylessPrefix[0] "https://github.com/org/" are nested'
}

@test "forged annotation layer: the engine's certificate variant admits it (upstream policy)" {
  local upstream=${UPSTREAM_POLICY:-/work/shared/engine/verify-image-signatures-1.0.11.wasm}
  [ -f "$upstream" ] || skip "upstream module not found (set UPSTREAM_POLICY)"
  request Pod "$(image cert-forged-annotation)"
  settings "{\"signatures\": [{\"image\": \"*\", \"certificates\": [$(pem leaf.pem)], \"certificateChain\": [$(pem ca-intermediate.pem), $(pem ca-root.pem)], \"requireRekorBundle\": false, \"annotations\": {\"env\": \"prod\"}}]}"
  run "$HARNESS" run --request-path "$BATS_TEST_TMPDIR/request.json" --settings-path "$BATS_TEST_TMPDIR/settings.json" --timeout 0 \
    --sources-path "$LAB/sources.yaml" --sigstore-trust-config "$LAB/trust.json" "$upstream"
  [ "$(echo "$output" | tail -1 | jq -r .allowed)" = true ]
  ENGINE_POLICY=$upstream same_under_kwctl # the real kwctl admits it too
}

@test "forged annotation layer: annotations on a certificates rule are refused by validate_settings" {
  request Pod "$(image cert-forged-annotation)"
  settings "{\"signatures\": [{\"image\": \"*\", \"certificates\": [$(pem leaf.pem)], \"annotations\": {\"env\": \"prod\"}}]}"
  evaluate
  assert_settings_refused 'rule #0 (certificates), field "annotations": cannot be bound to the certificate'"'"'s signature'
}

@test "forged annotation layer: a pubKeys rule requires the annotations on the key's own layer" {
  request Pod "$(image key-forged-annotation)"; pubkey_rule ', "annotations": {"env": "prod"}'
  evaluate
  assert_rejected "image \"$(image key-forged-annotation)\": rule #0 (pubKeys) failed: Image verification failed: missing signatures"
}

@test "debug container with an old tag: verified although oldObject holds the tag" {
  local spec old
  old=$(jq -cn --arg i "$(image unsigned)" '{containers: [{name: "app", image: $i}]}')
  spec=$(jq -cn --arg i "$(image unsigned)" '{containers: [{name: "app", image: $i}], ephemeralContainers: [{name: "debugger", image: $i}]}')
  pod_update "$spec" "$old" ephemeralcontainers
  pubkey_rule '' ', "reverifyUnchangedImages": false'
  evaluate
  assert_rejected "ephemeral container \"debugger\" image \"$(image unsigned)\": rule #0 (pubKeys) failed: no signatures found"
}

@test "UPDATE story: kubectl debug on a Pod with a tagged debug container pins only the new one" {
  local app spec old
  app="$(image key-signed)@$(digest key-signed)"
  old=$(jq -cn --arg a "$app" --arg d "$(image key-signed)" '{containers: [{name: "app", image: $a}], ephemeralContainers: [{name: "debugger-1", image: $d}]}')
  spec=$(jq -cn --arg a "$app" --arg d "$(image key-signed)" '{containers: [{name: "app", image: $a}], ephemeralContainers: [{name: "debugger-1", image: $d}, {name: "debugger-2", image: $d}]}')
  pod_update "$spec" "$old" ephemeralcontainers
  pubkey_rule
  evaluate
  assert_pinned key-signed /spec/ephemeralContainers/1/image
}

@test "UPDATE story: a label-only UPDATE of a Pod with a tagged image volume leaves spec.volumes alone" {
  local spec
  spec=$(jq -cn --arg a "$(image key-signed)@$(digest key-signed)" --arg v "$(image two-signers)" \
    '{containers: [{name: "app", image: $a}], volumes: [{name: "data", image: {reference: $v}}]}')
  pod_update "$spec" "$spec"
  pubkey_rule
  evaluate
  [ "$status" -eq 0 ]
  [ "$(allowed)" = true ]
  [ "$(patch)" = "" ]
}

@test "UPDATE story: an unsigned tagged image volume is still rejected on UPDATE" {
  local spec
  spec=$(jq -cn --arg a "$(image key-signed)@$(digest key-signed)" --arg v "$(image unsigned)" \
    '{containers: [{name: "app", image: $a}], volumes: [{name: "data", image: {reference: $v}}]}')
  pod_update "$spec" "$spec"
  pubkey_rule
  evaluate
  assert_rejected "image volume \"data\" image \"$(image unsigned)\": rule #0 (pubKeys) failed: no signatures found"
}

@test "100 PEM spellings of one keyless certificate: one candidate, accepted in strict and engine mode" {
  request Pod "$(image keyless-pem-variants)"
  settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"githubActions\": {\"owner\": \"org\", \"repo\": \"app\"}}]}"
  evaluate --keyless-binding strict
  assert_pinned keyless-pem-variants /spec/containers/0/image
  evaluate
  assert_pinned keyless-pem-variants /spec/containers/0/image
}
@test "100 PEM spellings of a transplanted certificate: rejected after one proof under engine mode" {
  request Pod "$(image transplant-pem-variants)"
  settings "{$(trust_root), \"signatures\": [{\"image\": \"*\", \"githubActions\": {\"owner\": \"org\", \"repo\": \"app\"}}]}"
  evaluate
  assert_rejected "image \"$(image transplant-pem-variants)\": rule #0 (githubActions) failed: identity found only on a signature its certificate did not make (no signature of this image was made with the certificate's key"
  [[ "$(message)" != *"; no signature"* ]] || { echo "more than one proof: $(message)"; return 1; }
}

# === end of issue 14 ==========================================================================

# --- faults (keep last: stops the registry) -------------------------------------------------

@test "a registry on a closed port: rejected with the cause" {
  request Pod "127.0.0.1:1/lab/app:v1"; pubkey_rule
  evaluate
  assert_rejected "image \"127.0.0.1:1/lab/app:v1\": rule #0 (pubKeys) failed: failed to get image trusted layers"
}

@test "an image the registry does not have (404): rejected" {
  request Pod "$REGISTRY/lab/does-not-exist:v1"; pubkey_rule
  evaluate
  assert_rejected "image \"$REGISTRY/lab/does-not-exist:v1\": rule #0 (pubKeys) failed: failed to get image trusted layers"
}

@test "a signature manifest without layers: rejected" {
  request Pod "$(image no-layers)"; pubkey_rule
  evaluate
  assert_rejected "image \"$(image no-layers)\": rule #0 (pubKeys) failed"
}

@test "a corrupt signature manifest in the registry's storage: rejected" {
  local repo=lab/corrupt-signature tag link blob
  tag="$(digest corrupt-signature | tr ':' '-').sig"
  link="$REGISTRY_DIR/storage/docker/registry/v2/repositories/$repo/_manifests/tags/$tag/current/link"
  blob=$(sed 's/sha256://' "$link")
  echo '{"schemaVersion": 2, "layers": [not json' > "$REGISTRY_DIR/storage/docker/registry/v2/blobs/sha256/${blob:0:2}/$blob/data"
  request Pod "$(image corrupt-signature)"; pubkey_rule
  evaluate
  assert_rejected "image \"$(image corrupt-signature)\": rule #0 (pubKeys) failed"
}

# --- issue 13: one canonical identity per image ---------------------------------------------
# Rules are written for the lab registry as "127.0.0.1:PORT"; images name it in other spellings
# that registry clients resolve to the same socket. Before canonicalisation no rule applied to
# them and an unsigned image was admitted without a host call.

# The lab's sources.yaml lists the registry as written; plain HTTP must be allowed for the
# respelled forms too (the operator configures the spelling pods use, as on the nodes).
respelled_sources() {
  local port=${REGISTRY#*:} host
  for host in "127.0.0.1:0$port" "127.0.0.1:000$port" "[::ffff:7f00:1]:$port"; do
    grep -qF "\"$host\"" "$LAB/sources.yaml" || echo "  - \"$host\"" >> "$LAB/sources.yaml"
  done
}
lab_rule() { settings "{\"signatures\": [{\"image\": \"$1\", \"pubKeys\": [$(pem key-a.pub)]}]}"; }
respell_port() { echo "127.0.0.1:$1${REGISTRY#*:}/${2#*/}"; } # respell_port ZEROS IMAGE

@test "canonical identity: an unsigned image behind a zero-padded port meets the registry's rule" {
  respelled_sources
  local img; img=$(respell_port 0 "$(image unsigned)")
  request Pod "$img"; lab_rule "$REGISTRY/lab/*"
  evaluate
  assert_rejected "image \"$img\": rule #0 (pubKeys) failed: no signatures found for image: $img"
}

@test "canonical identity: a signed image behind a zero-padded port is verified and pinned" {
  respelled_sources
  local img; img=$(respell_port 000 "$(image key-signed)")
  request Pod "$img"; lab_rule "$REGISTRY/lab/*"
  evaluate
  [ "$status" -eq 0 ]
  [ "$(allowed)" = true ]
  [ "$(patch)" = "$(jq -cn --arg v "$img@$(digest key-signed)" '[{op: "replace", path: "/spec/containers/0/image", value: $v}]')" ]
}

@test "canonical identity: an IPv4-mapped IPv6 registry meets the 127.0.0.1 rule" {
  respelled_sources
  local img="[::ffff:7f00:1]:${REGISTRY#*:}/lab/unsigned:v1"
  request Pod "$img"; lab_rule "$REGISTRY/lab/*"
  evaluate
  # The engine's reference parser refuses bracketed hosts: the rule applies and fails closed.
  assert_rejected "image \"$img\": rule #0 (pubKeys) failed:"
}

@test "canonical identity: a numeric shorthand host is refused with the spelling to use" {
  local img="127.1:${REGISTRY#*:}/lab/unsigned:v1"
  request Pod "$img"; lab_rule "$REGISTRY/lab/*"
  evaluate
  assert_rejected "image \"$img\": not a valid image reference" "write the registry as $REGISTRY"
}

@test "canonical identity: a digest-only reference meets a repo:* rule" {
  local img; img="$REGISTRY/lab/unsigned@$(digest unsigned)"
  request Pod "$img"; lab_rule "$REGISTRY/lab/unsigned:*"
  evaluate
  assert_rejected "image \"$img\": rule #0 (pubKeys) failed: no signatures found for image: $img"
}

@test "canonical identity: a glob that can match nothing is refused at settings validation" {
  request Pod "$(image unsigned)"; lab_rule "$REGISTRY/lab/.*"
  evaluate
  [ "$status" -ne 0 ]
  [[ "$output" == *"field \"image\": \"$REGISTRY/lab/.*\" can match no image:"* ]]
  [[ "$output" == *"not regular expressions — write \"$REGISTRY/lab/*\""* ]]
}

# --- last: stops the registry --------------------------------------------------------------

@test "a registry that is down: rejected with the cause (fail closed)" {
  request Pod "$(image key-signed)"; pubkey_rule
  "$ROOT/scripts/registry.sh" stop "$REGISTRY_DIR"
  evaluate
  assert_rejected "image \"$(image key-signed)\": rule #0 (pubKeys) failed: failed to get image trusted layers"
}
