#!/usr/bin/env bats
# The compatibility contract, differentially: every settings file of test_data/compat/ goes
# through upstream verify-image-signatures 1.0.11 and through policy.wasm, under the harness
# and under the real kwctl. Whatever upstream accepts must load here, unless the file is in
# test_data/compat/refusals.tsv (the README's refusal list) and is refused with that message.
# Run with `make compat-tests`.

setup_file() {
  export ROOT="$BATS_TEST_DIRNAME"
  export HARNESS="${HARNESS:-$ROOT/target/debug/harness}"
  export POLICY="${POLICY:-$ROOT/policy.wasm}"
  export UPSTREAM="${UPSTREAM_POLICY:-$ROOT/../shared/engine/verify-image-signatures-1.0.11.wasm}"
  export CORPUS="$ROOT/test_data/compat"
  [ -x "$HARNESS" ] || { echo "build the harness first: cargo build -p harness" >&2; return 1; }
  [ -f "$POLICY" ] || { echo "build the policy first: make policy.wasm" >&2; return 1; }
}

need_upstream() {
  if [ ! -f "$UPSTREAM" ]; then
    echo "# SKIPPED: no upstream module at $UPSTREAM (set UPSTREAM_POLICY)" >&3
    skip "no upstream module at $UPSTREAM (set UPSTREAM_POLICY)"
  fi
}

# verdicts ENGINE MODULE OUT: one line per corpus file, "FILE<TAB>valid" or "FILE<TAB>invalid<TAB>message".
verdicts() {
  local engine=$1 module=$2 out=$3 file base
  : > "$out"
  case "$engine" in
    harness)
      "$HARNESS" validate-settings "$module" "$CORPUS"/*.yaml 2> /dev/null |
        jq -r '[(.file | sub(".*/"; "")), (if .valid then "valid" else "invalid" end), (.message // "")] | @tsv' > "$out"
      ;;
    kwctl)
      for file in "$CORPUS"/*.yaml; do
        base=$(basename "$file")
        if RUST_BACKTRACE=0 NO_COLOR=1 "$KWCTL" run --request-path "$ROOT/test_data/requests/configmap.json" \
            --settings-path "$file" "$module" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"; then
          jq -e 'has("allowed")' "$BATS_TEST_TMPDIR/out" > /dev/null || { echo "kwctl: no response for $base" >&2; return 1; }
          printf '%s\tvalid\t\n' "$base" >> "$out"
        elif grep -q 'Provided settings are not valid' "$BATS_TEST_TMPDIR/err"; then
          printf '%s\tinvalid\t%s\n' "$base" "$(grep -o 'Provided settings are not valid.*' "$BATS_TEST_TMPDIR/err" | head -1 | tr '\t' ' ')" >> "$out"
        else
          echo "kwctl failed on $base for another reason than settings:" >&2
          cat "$BATS_TEST_TMPDIR/err" >&2
          return 1
        fi
      done
      ;;
  esac
}

# compare ENGINE: upstream-valid => valid here, or refused as refusals.tsv says; every listed
# refusal really is upstream-valid (no stale entries).
compare() {
  local engine=$1 up="$BATS_TEST_TMPDIR/upstream.tsv" ours="$BATS_TEST_TMPDIR/ours.tsv"
  verdicts "$engine" "$UPSTREAM" "$up"
  verdicts "$engine" "$POLICY" "$ours"
  local files upstream_valid=0 refused=0 failures=0 file up_verdict our_verdict our_message entry fragment
  files=$(wc -l < "$up")
  [ "$files" -eq "$(ls "$CORPUS"/*.yaml | wc -l)" ] && [ "$files" -eq "$(wc -l < "$ours")" ]
  while IFS=$'\t' read -r file up_verdict _; do
    our_verdict='' our_message='' entry='' fragment=''
    IFS=$'\t' read -r _ our_verdict our_message < <(grep -F "$file"$'\t' "$ours") || true
    IFS=$'\t' read -r _ entry fragment < <(grep -F "$file"$'\t' "$CORPUS/refusals.tsv") || true
    if [ -n "$entry" ]; then
      if [ "$up_verdict" != valid ]; then
        echo "stale refusal entry: upstream refuses $file too" >&2; failures=$((failures + 1))
      elif [ "$our_verdict" != invalid ] || [[ "$our_message" != *"$fragment"* ]]; then
        echo "$file: expected the refusal \"$fragment\" ($entry), got: $our_verdict $our_message" >&2
        failures=$((failures + 1))
      else
        refused=$((refused + 1))
      fi
    elif [ "$up_verdict" = valid ] && [ "$our_verdict" != valid ]; then
      echo "$file: upstream accepts it, this policy refuses it: $our_message" >&2
      failures=$((failures + 1))
    fi
    [ "$up_verdict" = valid ] && upstream_valid=$((upstream_valid + 1))
  done < "$up"
  echo "# $engine: $files settings files, $upstream_valid valid under upstream 1.0.11; all load here except $refused documented refusals" >&3
  [ "$failures" -eq 0 ]
  # The corpus must exercise the contract: files upstream accepts, and every refusal entry.
  [ "$upstream_valid" -ge 20 ]
  [ "$refused" -eq "$(grep -vc '^#' "$CORPUS/refusals.tsv")" ]
}

@test "compat: upstream-valid settings load here or are a documented refusal (harness)" {
  need_upstream
  compare harness
}

@test "compat: upstream-valid settings load here or are a documented refusal (kwctl)" {
  need_upstream
  KWCTL="${KWCTL:-$(command -v kwctl || true)}"
  if [ -z "$KWCTL" ] || [ ! -x "$KWCTL" ]; then
    echo "# SKIPPED: kwctl not found (set KWCTL or put kwctl on PATH); the kwctl half of the differential settings test did not run" >&3
    skip "kwctl not found"
  fi
  compare kwctl
}
