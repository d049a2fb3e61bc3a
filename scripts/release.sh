#!/usr/bin/env bash
# Publish sigpin: build the reproducible module, check it against policy.wasm.sha256, annotate
# it for REGISTRY, push it, sign the pushed digest with KEY, verify that signature with the
# harness (pulling by the verified digest), render the examples for this release, and print the
# immutable reference. `make release REGISTRY=host/repo TAG=vX.Y.Z KEY=cosign.key` runs it.
#
#   REGISTRY  host[:port]/repository, e.g. ghcr.io/YOUR-ORG/policies/sigpin
#   TAG       v + the version of Cargo.toml / metadata.yml (refused otherwise)
#   KEY       unencrypted PKCS#8 PEM ECDSA P-256 private key (openssl genpkey -algorithm EC
#             -pkeyopt ec_paramgen_curve:P-256); its public key is PUB (default KEY with .pub)
#   SOURCES   kwctl sources.yaml (optional: HTTPS with system roots otherwise)
#   DOCKER_CONFIG_DIR  directory of the Docker config.json with the registry login (optional:
#             $DOCKER_CONFIG, then ~/.docker, as kwctl)
#   OUT       release directory (default target/release-TAG)
# Progress goes to stderr; the last stdout line is the immutable reference.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-$root/target/debug/harness}
fail() { echo "release: $*" >&2; exit 1; }
step() { echo "release: $*" >&2; }

[ -n "${REGISTRY:-}" ] || fail "REGISTRY=host/repository is required"
[ -n "${TAG:-}" ] || fail "TAG=vX.Y.Z is required"
[ -n "${KEY:-}" ] || fail "KEY=private-key.pem is required"
[ -f "$KEY" ] || fail "KEY $KEY does not exist"
pub=${PUB:-${KEY%.key}.pub}
[ -f "$pub" ] || fail "the public key $pub does not exist (set PUB=)"
case $REGISTRY in
  registry://*) fail "REGISTRY is host/repository, without registry://" ;;
  */*) ;;
  *) fail "REGISTRY must be host/repository, got $REGISTRY" ;;
esac
host=${REGISTRY%%/*}
repository=${REGISTRY#*/}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
[ "$TAG" = "v$version" ] || fail "TAG $TAG does not match the version in Cargo.toml (v$version)"
grep -q "io.kubewarden.policy.version: $version\$" "$root/metadata.yml" \
  || fail "metadata.yml's io.kubewarden.policy.version is not $version"

out=${OUT:-$root/target/release-$TAG}
rm -rf "$out"
mkdir -p "$out"
if [ -n "${SOURCES:-}" ]; then
  cp "$SOURCES" "$out/sources.yaml"
else
  echo "{}" > "$out/sources.yaml"
fi
registry_args=(--sources-path "$out/sources.yaml")
[ -z "${DOCKER_CONFIG_DIR:-}" ] || registry_args+=(--docker-config-json-path "$DOCKER_CONFIG_DIR")

step "building policy.wasm"
make -C "$root" --no-print-directory policy.wasm harness > "$out/build.log" 2>&1 \
  || { cat "$out/build.log" >&2; fail "the build failed"; }
step "checking policy.wasm against policy.wasm.sha256"
(cd "$root" && sha256sum --quiet -c policy.wasm.sha256) \
  || fail "policy.wasm differs from policy.wasm.sha256: commit the hash of a reproducible build (make policy.wasm.sha256)"

step "annotating for $REGISTRY"
sed "s|^\(  io.kubewarden.policy.ociUrl:\).*|\1 $REGISTRY|" "$root/metadata.yml" > "$out/metadata.yml"
"$harness" annotate -m "$out/metadata.yml" -u "$root/README.md" -o "$out/annotated-policy.wasm" "$root/policy.wasm"

step "pushing registry://$REGISTRY:$TAG"
immutable=$("$harness" push "${registry_args[@]}" -o json "$out/annotated-policy.wasm" "registry://$REGISTRY:$TAG" | jq -r .immutable_ref)
digest=${immutable##*@}
[ "$immutable" = "$REGISTRY@$digest" ] || fail "the registry answered $immutable for $REGISTRY"

step "signing $immutable"
"$harness" sign "${registry_args[@]}" --registry "$host" --key "$KEY" "$repository@$digest" >&2

step "verifying the signature with $pub and running the pulled module"
# Settings that need no registry: the check is that the module verified, pulled and ran.
verdict=$("$harness" run "${registry_args[@]}" -q --verification-key "$pub" \
  -r "$root/test_data/requests/pod.json" \
  --settings-json '{"signatures": [{"image": "release-check.invalid/*", "pubKeys": ['"$(jq -Rs . "$pub")"']}]}' \
  "registry://$REGISTRY:$TAG")
[ "$(jq -r .allowed <<< "$verdict")" = true ] || fail "the released module did not run: $verdict"

step "examples and artifacthub-pkg.yml for this release in $out"
mkdir -p "$out/examples/rollout"
for example in "$root"/examples/*.yaml "$root"/examples/rollout/*.yaml; do
  relative=${example#"$root"/examples/}
  sed "s|^\(  module:\).*|\1 registry://$REGISTRY:$TAG|" "$example" > "$out/examples/$relative"
done
# The committed files name the default publication (metadata.yml's ociUrl).
default_oci=$(sed -n 's/^  io.kubewarden.policy.ociUrl: //p' "$root/metadata.yml")
sed "s|$default_oci|$REGISTRY|g" "$root/artifacthub-pkg.yml" > "$out/artifacthub-pkg.yml"

echo "$immutable" > "$out/immutable-ref"
step "released"
echo "registry://$immutable"
