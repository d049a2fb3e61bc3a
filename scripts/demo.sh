#!/usr/bin/env bash
# The README's first command: a registry on 127.0.0.1, one image signed by the lab, a signed
# and an unsigned Pod through policy.wasm, then everything stopped again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-$root/target/debug/harness}
work=$(mktemp -d)
trap '"$root/scripts/registry.sh" stop "$work/registry"; rm -rf "$work"' EXIT

registry=$("$root/scripts/registry.sh" start "$work/registry")
echo "== registry on $registry"
"$harness" lab --registry "$registry" --out "$work/lab"

pod() {
  jq -n --arg image "$1" '{uid: "demo", kind: {group: "", version: "v1", kind: "Pod"},
    resource: {group: "", version: "v1", resource: "pods"}, name: "web", namespace: "default",
    operation: "CREATE", object: {apiVersion: "v1", kind: "Pod",
    metadata: {name: "web", namespace: "default"}, spec: {containers: [{name: "app", image: $image}]}}}'
}
jq -n --rawfile key "$work/lab/key-a.pub" \
  '{signatures: [{image: "127.0.0.1:*/lab/*", pubKeys: [$key]}]}' > "$work/settings.json"
echo "== settings: every image of $registry/lab/* must be signed by the lab's key A"

for name in key-signed unsigned; do
  image=$(jq -r --arg n "$name" '.images[$n].ref' "$work/lab/lab.json")
  pod "$image" > "$work/request.json"
  echo
  echo "== Pod with image $image"
  response=$("$harness" run --request-path "$work/request.json" --settings-path "$work/settings.json" \
    --sources-path "$work/lab/sources.yaml" --sigstore-trust-config "$work/lab/trust.json" "$root/policy.wasm")
  echo "$response" | jq -c 'del(.patch)'
  if [ "$(echo "$response" | jq -r .allowed)" = true ]; then
    echo "patch (decoded):"
    echo "$response" | jq -r '.patch | @base64d' | jq .
  else
    echo "rejected: $(echo "$response" | jq -r .status.message)"
  fi
done
