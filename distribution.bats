#!/usr/bin/env bats
# The harness as a policy developer's tool against real registries on 127.0.0.1: registry
# logins from a Docker config.json (a docker-registry with htpasswd basic auth), push -o json,
# inspect registry://, progress lines and -q, and `make release` end to end. Where kwctl is
# found (KWCTL or PATH, scripts/engine.sh) it reads the same artefacts with the same login and
# must agree.
# Run with `make distribution-tests`.

bats_require_minimum_version 1.5.0

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME"
  export HARNESS="${HARNESS:-$ROOT/target/debug/harness}"
  export POLICY="${POLICY:-$ROOT/policy.wasm}"
  [ -x "$HARNESS" ] || { echo "build the harness first: cargo build -p harness" >&2; return 1; }
  [ -f "$POLICY" ] || { echo "build the policy first: make policy.wasm" >&2; return 1; }
  command -v htpasswd > /dev/null || { echo "htpasswd missing: apt-get install apache2-utils" >&2; return 1; }
  local dir=$BATS_FILE_TMPDIR
  # No Docker config of the machine running the tests: only what a test passes counts.
  export DOCKER_CONFIG="$dir/no-docker-config"
  htpasswd -Bbn alice 's3cret:with colon' > "$dir/htpasswd"
  AUTH_REGISTRY="$(REGISTRY_HTPASSWD="$dir/htpasswd" "$ROOT/scripts/registry.sh" start "$dir/auth-registry")"
  PLAIN_REGISTRY="$("$ROOT/scripts/registry.sh" start "$dir/plain-registry")"
  export AUTH_REGISTRY PLAIN_REGISTRY
  printf 'insecure_sources:\n  - "%s"\n  - "%s"\n' "$AUTH_REGISTRY" "$PLAIN_REGISTRY" > "$dir/sources.yaml"
  export SOURCES="$dir/sources.yaml"
  mkdir -p "$dir/login" "$dir/wrong-login"
  printf '{"auths": {"http://%s/v2/": {"auth": "%s"}}}\n' "$AUTH_REGISTRY" \
    "$(printf 'alice:s3cret:with colon' | base64 -w0)" > "$dir/login/config.json"
  printf '{"auths": {"%s": {"username": "alice", "password": "wrong"}}}\n' "$AUTH_REGISTRY" \
    > "$dir/wrong-login/config.json"
  export LOGIN="$dir/login" WRONG_LOGIN="$dir/wrong-login"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/cosign.key" 2> /dev/null
  openssl pkey -in "$dir/cosign.key" -pubout -out "$dir/cosign.pub"
  export KEY="$dir/cosign.key" PUB="$dir/cosign.pub"
  "$HARNESS" annotate -m "$ROOT/metadata.yml" -o "$dir/annotated.wasm" "$POLICY"
  export ANNOTATED="$dir/annotated.wasm"
  # kwctl cross-checks: found as the engine suites find it; SIGPIN_REQUIRE_ENGINE=1 forbids
  # skipping them.
  source "$ROOT/scripts/engine.sh"
  KWCTL_BIN=$(engine_find kwctl KWCTL)
  export KWCTL_BIN
  [ -n "$KWCTL_BIN" ] || engine_missing kwctl "distribution.bats kwctl cross-checks" >&3
  # The lab's trust root keeps kwctl offline (it would fetch the public Sigstore's otherwise).
  "$HARNESS" lab -q --registry "$PLAIN_REGISTRY" --out "$dir/lab" > /dev/null
  export TRUST="$dir/lab/trust.json"
}

teardown_file() {
  "$ROOT/scripts/registry.sh" stop "$BATS_FILE_TMPDIR/auth-registry"
  "$ROOT/scripts/registry.sh" stop "$BATS_FILE_TMPDIR/plain-registry"
}

# kwctl with its store in the test's directory; nothing when kwctl is absent.
kwctl_() { HOME="$BATS_TEST_TMPDIR" RUST_BACKTRACE=0 NO_COLOR=1 "$KWCTL_BIN" "$@"; }
kwctl_verified_pull() { kwctl_ pull --sigstore-trust-config "$TRUST" --verification-key "$PUB" "$@"; }

# push_auth TAG: the annotated module pushed with the login; prints the immutable reference.
push_auth() {
  "$HARNESS" push -q --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" -o json \
    "$ANNOTATED" "registry://$AUTH_REGISTRY/policies/sigpin:$1" | jq -r .immutable_ref
}

# --- registry authentication (Docker config.json) -------------------------------------------

@test "auth: anonymous push is refused, with the reason and where a login goes" {
  run --separate-stderr "$HARNESS" push -q --sources-path "$SOURCES" "$ANNOTATED" "registry://$AUTH_REGISTRY/policies/sigpin:anon"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"code: 401"*"(hint: no login for $AUTH_REGISTRY in any Docker config (none found): pass --docker-config-json-path DIR, set DOCKER_CONFIG, or \`docker login\`)" ]]
}

@test "auth: a wrong password is refused, naming the login" {
  run --separate-stderr "$HARNESS" push -q --sources-path "$SOURCES" --docker-config-json-path "$WRONG_LOGIN" "$ANNOTATED" "registry://$AUTH_REGISTRY/policies/sigpin:wrong"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"(hint: the registry refused the login of \"alice\" for $AUTH_REGISTRY from $WRONG_LOGIN/config.json)" ]]
}

@test "auth: push with a login prints kwctl's JSON; pull and inspect by every config location" {
  ref=$(push_auth v1)
  [[ "$ref" =~ ^$AUTH_REGISTRY/policies/sigpin@sha256:[0-9a-f]{64}$ ]]
  # --docker-config-json-path, DOCKER_CONFIG, ~/.docker/config.json: the same module back.
  "$HARNESS" pull -q --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" -o "$BATS_TEST_TMPDIR/a.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:v1"
  DOCKER_CONFIG="$LOGIN" "$HARNESS" pull -q --sources-path "$SOURCES" -o "$BATS_TEST_TMPDIR/b.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:v1"
  mkdir -p "$BATS_TEST_TMPDIR/home/.docker"
  cp "$LOGIN/config.json" "$BATS_TEST_TMPDIR/home/.docker/"
  (unset DOCKER_CONFIG; HOME="$BATS_TEST_TMPDIR/home" "$HARNESS" pull -q --sources-path "$SOURCES" -o "$BATS_TEST_TMPDIR/c.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:v1")
  for f in a b c; do cmp "$ANNOTATED" "$BATS_TEST_TMPDIR/$f.wasm"; done
  run --separate-stderr "$HARNESS" pull -q --sources-path "$SOURCES" -o "$BATS_TEST_TMPDIR/d.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:v1"
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error: registry: Not authorized: url http://$AUTH_REGISTRY/v2/policies/sigpin/manifests/v1 (hint: no login for $AUTH_REGISTRY in any Docker config (none found): pass --docker-config-json-path DIR, set DOCKER_CONFIG, or \`docker login\`)" ]
  run "$HARNESS" inspect -q --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" "registry://$AUTH_REGISTRY/policies/sigpin:v1"
  [ "$status" -eq 0 ]
  [ "$output" = "$("$HARNESS" inspect "$ANNOTATED")" ]
  if [ -n "$KWCTL_BIN" ]; then
    kwctl_ pull --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" -o "$BATS_TEST_TMPDIR/k.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:v1"
    cmp "$ANNOTATED" "$BATS_TEST_TMPDIR/k.wasm"
  fi
}

@test "auth: a policy signed in a private registry is verified and run with the login only" {
  ref=$(push_auth signed)
  "$HARNESS" sign --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" --registry "$AUTH_REGISTRY" --key "$KEY" "policies/sigpin@${ref##*@}"
  settings='{"signatures": [{"image": "nothing.invalid/*", "pubKeys": ['"$(jq -Rs . "$PUB")"']}]}'
  run --separate-stderr "$HARNESS" run -q --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" \
    --verification-key "$PUB" -r "$ROOT/test_data/requests/pod.json" --settings-json "$settings" \
    "registry://$AUTH_REGISTRY/policies/sigpin:signed"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<< "$output")" = true ]
  run --separate-stderr "$HARNESS" run -q --sources-path "$SOURCES" \
    --verification-key "$PUB" -r "$ROOT/test_data/requests/pod.json" --settings-json "$settings" \
    "registry://$AUTH_REGISTRY/policies/sigpin:signed"
  [ "$status" -eq 1 ]
  [[ "$stderr" == "Error: refusing to run registry://$AUTH_REGISTRY/policies/sigpin:signed: its signature does not verify with $PUB: "*"Not authorized"* ]]
  if [ -n "$KWCTL_BIN" ]; then
    kwctl_verified_pull --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" \
      -o "$BATS_TEST_TMPDIR/k.wasm" "registry://$AUTH_REGISTRY/policies/sigpin:signed"
    cmp "$ANNOTATED" "$BATS_TEST_TMPDIR/k.wasm"
  fi
}

@test "auth: the host capabilities verify an image in a private registry with the login" {
  ref=$(push_auth workload)
  digest=${ref##*@}
  "$HARNESS" sign --sources-path "$SOURCES" --docker-config-json-path "$LOGIN" --registry "$AUTH_REGISTRY" --key "$KEY" "policies/sigpin@$digest"
  image="$AUTH_REGISTRY/policies/sigpin:workload"
  jq --arg i "$image" '.object.spec.containers = [{name: "app", image: $i}] | del(.object.spec.initContainers)' \
    "$ROOT/test_data/requests/pod.json" > "$BATS_TEST_TMPDIR/request.json"
  jq -n --arg k "$(cat "$PUB")" --arg i "$AUTH_REGISTRY/*" '{signatures: [{image: $i, pubKeys: [$k]}]}' \
    > "$BATS_TEST_TMPDIR/settings.json"
  args=(-r "$BATS_TEST_TMPDIR/request.json" -s "$BATS_TEST_TMPDIR/settings.json" --sources-path "$SOURCES")
  run --separate-stderr "$HARNESS" run -q "${args[@]}" --docker-config-json-path "$LOGIN" "$POLICY"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<< "$output")" = true ]
  [ "$(jq -r '.patch | @base64d | fromjson | .[0].value' <<< "$output")" = "$image@$digest" ]
  if [ -n "$KWCTL_BIN" ]; then
    kwctl_out=$(kwctl_ run "${args[@]}" --docker-config-json-path "$LOGIN" "$ANNOTATED" 2> /dev/null)
    [ "$(jq -c '{allowed, patch}' <<< "$kwctl_out")" = "$(jq -c '{allowed, patch}' <<< "$output")" ]
  fi
  # Without the login the verification fails closed.
  run --separate-stderr "$HARNESS" run -q "${args[@]}" "$POLICY"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<< "$output")" = false ]
  [[ "$(jq -r .status.message <<< "$output")" == *"Not authorized"* ]]
}

# --- progress lines -------------------------------------------------------------------------

@test "progress: push and pull say each step on stderr; -q silences them" {
  run --separate-stderr "$HARNESS" push --sources-path "$SOURCES" "$ANNOTATED" "registry://$PLAIN_REGISTRY/policies/sigpin:progress"
  [ "$status" -eq 0 ]
  [ "$stderr" = "pushing the module ($(wc -c < "$ANNOTATED") bytes) to $PLAIN_REGISTRY/policies/sigpin
pushing the manifest as $PLAIN_REGISTRY/policies/sigpin:progress" ]
  [[ "$output" == "Policy successfully pushed: $PLAIN_REGISTRY/policies/sigpin@sha256:"* ]]
  run --separate-stderr "$HARNESS" pull --sources-path "$SOURCES" -o "$BATS_TEST_TMPDIR/p.wasm" "registry://$PLAIN_REGISTRY/policies/sigpin:progress"
  [ "$status" -eq 0 ]
  [ "$stderr" = "pulling $PLAIN_REGISTRY/policies/sigpin:progress
wrote $BATS_TEST_TMPDIR/p.wasm ($(wc -c < "$ANNOTATED") bytes)" ]
  run --separate-stderr "$HARNESS" -q push --sources-path "$SOURCES" "$ANNOTATED" "registry://$PLAIN_REGISTRY/policies/sigpin:progress"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
}

@test "progress: lab says each image; -q says nothing" {
  run --separate-stderr "$HARNESS" lab --registry "$PLAIN_REGISTRY" --out "$BATS_TEST_TMPDIR/lab"
  [ "$status" -eq 0 ]
  [ "$(head -n 2 <<< "$stderr")" = "lab: deriving keys and certificate authorities (seed 1)
lab: image key-signed" ]
  # One line per image pushed (lab.json also lists the indexes and tags made from them).
  [ "$(grep -c '^lab: image ' <<< "$stderr")" -ge 10 ]
  run --separate-stderr "$HARNESS" lab -q --registry "$PLAIN_REGISTRY" --out "$BATS_TEST_TMPDIR/lab2"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
}

# --- make release ---------------------------------------------------------------------------

@test "release: make release builds, checks, annotates, pushes, signs, verifies and prints the reference" {
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
  out="$BATS_TEST_TMPDIR/release"
  run --separate-stderr make -s -C "$ROOT" release REGISTRY="$PLAIN_REGISTRY/org/sigpin" TAG="v$version" \
    KEY="$KEY" SOURCES="$SOURCES" OUT="$out"
  [ "$status" -eq 0 ]
  ref=$(tail -n 1 <<< "$output")
  [[ "$ref" =~ ^registry://$PLAIN_REGISTRY/org/sigpin@sha256:[0-9a-f]{64}$ ]]
  [ "${ref#registry://}" = "$(cat "$out/immutable-ref")" ]
  # The released artefact: the metadata points at where it was published, and it verifies.
  run "$HARNESS" inspect -q --sources-path "$SOURCES" "$ref"
  [ "$status" -eq 0 ]
  [[ "$output" == *"io.kubewarden.policy.ociUrl: $PLAIN_REGISTRY/org/sigpin"* ]]
  "$HARNESS" run -q --sources-path "$SOURCES" --verification-key "$PUB" -r "$ROOT/test_data/requests/pod.json" \
    --settings-json '{"signatures": [{"image": "x.invalid/*", "pubKeys": ['"$(jq -Rs . "$PUB")"']}]}' "$ref" > /dev/null
  # The examples follow REGISTRY and TAG.
  for example in "$out"/examples/*.yaml "$out"/examples/rollout/*.yaml; do
    grep -qx "  module: registry://$PLAIN_REGISTRY/org/sigpin:v$version" "$example"
  done
  grep -qx "    image: $PLAIN_REGISTRY/org/sigpin:v$version" "$out/artifacthub-pkg.yml"
  if [ -n "$KWCTL_BIN" ]; then
    kwctl_verified_pull --sources-path "$SOURCES" -o "$BATS_TEST_TMPDIR/k.wasm" "$ref"
    cmp "$out/annotated-policy.wasm" "$BATS_TEST_TMPDIR/k.wasm"
  fi
}

@test "release: a TAG that is not the crate's version is refused before anything is pushed" {
  run --separate-stderr make -s -C "$ROOT" release REGISTRY="$PLAIN_REGISTRY/org/other" TAG=v9.9.9 \
    KEY="$KEY" SOURCES="$SOURCES" OUT="$BATS_TEST_TMPDIR/release"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"release: TAG v9.9.9 does not match the version in Cargo.toml (v"* ]]
  run "$HARNESS" inspect -q --sources-path "$SOURCES" "registry://$PLAIN_REGISTRY/org/other:v9.9.9"
  [ "$status" -eq 1 ]
}
