# Source me: what the scripts that start a local server share.
#   free_port          prints a TCP port free on 127.0.0.1 now
#   stop_server DIR    ends the process whose PID is in DIR/pid (started by this or another
#                      shell), waits until it is gone, removes DIR/pid; nothing without DIR/pid

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

stop_server() {
  local dir=$1 pid
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  # not our child when started by another shell: wait until it is gone
  for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  rm -f "$dir/pid"
}
