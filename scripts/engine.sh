# Source me: find the real Kubewarden engine for the test and bench scripts.
#   engine_find NAME VAR   prints the path of NAME (kwctl, policy-server) taken from $VAR, else
#                          from PATH; prints nothing when it is absent.
#   engine_missing W S     the one loud line a suite prints when it has to skip the engine.
# SIGPIN_REQUIRE_ENGINE=1 (set by .ci/run) turns an absent engine into a failure: CI never skips.

engine_find() {
  local name=$1 var=$2 path
  path=${!var:-}
  if [ -n "$path" ]; then
    [ -x "$path" ] && { echo "$path"; return 0; }
    echo "$var=$path is not an executable" >&2
    return 1
  fi
  command -v "$name" 2> /dev/null || true
}

engine_missing() { # engine_missing WHAT SUITE: WHAT is the binary not found, SUITE what is skipped
  local line="ENGINE SUITE SKIPPED ($2): $1 not found (set KWCTL / POLICY_SERVER or put them on PATH; ../shared/engine/install.sh DIR unpacks them)"
  if [ "${SIGPIN_REQUIRE_ENGINE:-0}" = 1 ]; then
    echo "$line, and SIGPIN_REQUIRE_ENGINE=1 forbids skipping" >&2
    return 1
  fi
  echo "$line"
}
