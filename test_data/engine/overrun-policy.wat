;; A Kubewarden waPC policy that never finishes `validate` (its protocol_version and
;; validate_settings answer normally, so it loads): what an evaluation timeout must stop.
;; engine.bats runs it under policy-server's default 2 s timeout and under the harness.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  ;; answers: 0 "v1" as JSON (4 bytes), 16 {"valid":true} (14)
  (data (i32.const 0) "\22v1\22")
  (data (i32.const 16) "{\22valid\22:true}")
  (func (export "wapc_init"))
  ;; protocol_version (16 bytes) and validate_settings (17) have tiny payloads, read at 1024;
  ;; validate is not read at all: it loops before asking for its payload.
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (if (i32.eq (local.get $op_len) (i32.const 8))
      (then (loop $forever (br $forever))))
    (call $guest_request (i32.const 1024) (i32.const 2048))
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    (call $guest_response (i32.const 16) (i32.const 14))
    (i32.const 1)))
