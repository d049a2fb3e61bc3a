#!/usr/bin/env bash
# Start or stop the real Kubewarden policy-server on 127.0.0.1 (free ports, state in DIR), offline:
# no Kubernetes, the lab's sources.yaml and Sigstore trust config.
#   scripts/policy-server.sh start DIR POLICIES_YML SOURCES_YAML TRUST_JSON [EXTRA_FLAGS...]
#       prints 127.0.0.1:PORT once /readiness answers; writes DIR/addr, DIR/pid, DIR/startup_ms
#       (launch to ready) and DIR/log (plain text). If the server exits before it is
#       ready (e.g. invalid settings), prints its log on stderr and exits 1.
#   scripts/policy-server.sh stop DIR
# The binary: $POLICY_SERVER, else policy-server on PATH.
set -euo pipefail

usage() { echo "usage: $0 start DIR POLICIES SOURCES TRUST [FLAGS...] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=server.sh
source "$root/scripts/server.sh"

now_ms() { date +%s%3N; }

start() {
  [ $# -ge 3 ] || usage
  local policies=$1 sources=$2 trust=$3 binary port ready_port started
  shift 3
  # shellcheck source=engine.sh
  source "$root/scripts/engine.sh"
  binary=$(engine_find policy-server POLICY_SERVER)
  [ -n "$binary" ] || { echo "policy-server not found (POLICY_SERVER or PATH)" >&2; exit 1; }
  mkdir -p "$dir/sigstore" "$dir/policies"
  port=$(free_port)
  ready_port=$(free_port)
  started=$(now_ms)
  # This policy-server reads NO_COLOR as the value of --log-no-color, whose sense is inverted
  # (true turns colours on, 1 is refused): false gives a plain, parseable log.
  NO_COLOR=false RUST_BACKTRACE=0 "$binary" --policies "$policies" --addr 127.0.0.1 --port "$port" \
    --readiness-probe-port "$ready_port" --sources-path "$sources" --sigstore-trust-config "$trust" \
    --sigstore-cache-dir "$dir/sigstore" --policies-download-dir "$dir/policies" \
    --ignore-kubernetes-connection-failure "$@" > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
  echo "127.0.0.1:$port" > "$dir/addr"
  for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$ready_port/readiness" > /dev/null 2>&1; then
      echo $(($(now_ms) - started)) > "$dir/startup_ms"
      echo "127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2> /dev/null; then
      echo "policy-server exited before it was ready; its log:" >&2
      cat "$dir/log" >&2
      rm -f "$dir/pid"
      exit 1
    fi
    sleep 0.1
  done
  echo "policy-server was not ready after 60 s; its log:" >&2
  cat "$dir/log" >&2
  stop
  exit 1
}

stop() { stop_server "$dir"; }

case $action in
  start) shift 2; start "$@" ;;
  stop) stop ;;
  *) usage ;;
esac
