#!/usr/bin/env bash
# Start or stop a throw-away OCI registry (Debian's docker-registry, the CNCF distribution
# registry) on 127.0.0.1, on a free port, with its storage in DIR.
#   scripts/registry.sh start DIR   prints 127.0.0.1:PORT, writes DIR/addr and DIR/pid
#   scripts/registry.sh stop DIR
# With REGISTRY_HTPASSWD=FILE (bcrypt entries, `htpasswd -Bbn USER PASSWORD`), every request
# needs HTTP basic authentication.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2
registry_bin=${REGISTRY_BIN:-/usr/bin/docker-registry}

# shellcheck source=server.sh
source "$(dirname "$0")/server.sh"

start() {
  mkdir -p "$dir/storage"
  [ -x "$registry_bin" ] || { echo "$registry_bin not found: apt-get install docker-registry" >&2; exit 1; }
  local port addr
  port=$(free_port)
  addr="127.0.0.1:$port"
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: $addr
YAML
  if [ -n "${REGISTRY_HTPASSWD:-}" ]; then
    cat >> "$dir/config.yml" <<YAML
auth:
  htpasswd:
    realm: sigpin-test
    path: $REGISTRY_HTPASSWD
YAML
  fi
  "$registry_bin" serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/pid"
  echo "$addr" > "$dir/addr"
  for _ in $(seq 1 100); do
    # 200, or 401 when authentication is configured: either way it is serving.
    if curl -sS -o /dev/null -w '%{http_code}' "http://$addr/v2/" 2> /dev/null | grep -qE '^(200|401)$'; then
      echo "$addr"
      return 0
    fi
    sleep 0.1
  done
  echo "the registry did not start; its log:" >&2
  cat "$dir/registry.log" >&2
  stop
  exit 1
}

stop() { stop_server "$dir"; }

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
