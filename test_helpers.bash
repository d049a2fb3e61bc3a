# Shared by e2e.bats and engine.bats (`load test_helpers`): the lab's images and files, and
# admission requests built around one image. Needs $LAB (the lab's output directory).

image() { jq -r --arg n "$1" '.images[$n].ref' "$LAB/lab.json"; }
digest() { jq -r --arg n "$1" '.images[$n].digest' "$LAB/lab.json"; }
pem() { jq -Rs . "$LAB/$1"; }

# request KIND IMAGE [LIST]: an admission request of KIND whose pod spec has IMAGE in LIST
# (containers, initContainers, ephemeralContainers).
request() {
  local kind=$1 img=$2 list=${3:-containers}
  jq -n --arg kind "$kind" --arg img "$img" --arg list "$list" '
    def gvk: {Pod: ["", "v1"], ReplicationController: ["", "v1"], Deployment: ["apps", "v1"],
              ReplicaSet: ["apps", "v1"], StatefulSet: ["apps", "v1"], DaemonSet: ["apps", "v1"],
              Job: ["batch", "v1"], CronJob: ["batch", "v1"]}[$kind];
    def spec: {containers: [{name: "main", image: "registry.invalid/never-pulled:v1"}]}
              | if $list == "containers" then .containers = [{name: "app", image: $img}]
                else .[$list] = [{name: "app", image: $img}] end;
    (if $list == "containers" then {containers: [{name: "app", image: $img}]} else spec end) as $pod
    | {uid: "e2e-uid", kind: {group: gvk[0], version: gvk[1], kind: $kind},
       resource: {group: gvk[0], version: gvk[1], resource: ($kind | ascii_downcase + "s")},
       name: "app", namespace: "default", operation: "CREATE", userInfo: {username: "e2e"},
       object: ({apiVersion: (if gvk[0] == "" then "v1" else gvk[0] + "/v1" end), kind: $kind,
                 metadata: {name: "app", namespace: "default"}}
                + if $kind == "Pod" then {spec: $pod}
                  elif $kind == "CronJob" then {spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: $pod}}}}}
                  else {spec: {template: {metadata: {labels: {app: "a"}}, spec: $pod}}} end)}' > "$BATS_TEST_TMPDIR/request.json"
}

# Reading an admission response in $output (kwctl's / the harness's line, or the `response` of
# policy-server's AdmissionReview) and $status.
allowed() { echo "$output" | jq -r '.allowed'; }
message() { echo "$output" | jq -r '.status.message // ""'; }
patch() { echo "$output" | jq -r '.patch // "" | @base64d'; }

assert_pinned() { # assert_pinned NAME POINTER
  [ "$status" -eq 0 ]
  [ "$(allowed)" = true ]
  local expected
  expected=$(jq -cn --arg p "$2" --arg v "$(image "$1")@$(digest "$1")" '[{op: "replace", path: $p, value: $v}]')
  [ "$(patch)" = "$expected" ]
}

assert_rejected() { # assert_rejected TEXT...: rejected and the message contains every TEXT
  [ "$status" -eq 0 ]
  [ "$(allowed)" = false ]
  local text
  for text in "$@"; do
    [[ "$(message)" == *"$text"* ]] || { echo "message: $(message)"; echo "missing: $text"; return 1; }
  done
}
