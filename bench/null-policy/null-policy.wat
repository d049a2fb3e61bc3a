;; The null Kubewarden waPC policy: reads the request, accepts it, asks the host nothing.
;; Timing it under kwctl and policy-server measures the engine's fixed cost per admission
;; (instance, waPC round trip, JSON in and out), the floor under any real policy.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 1)
  ;; answers: 0 "v1" as JSON (4 bytes), 16 {"valid":true} (14), 32 {"accepted":true} (17)
  (data (i32.const 0) "\22v1\22")
  (data (i32.const 16) "{\22valid\22:true}")
  (data (i32.const 32) "{\22accepted\22:true}")
  (func (export "wapc_init"))
  ;; operation name at 1024 (names are at most 17 bytes), payload from 65536 on: the memory
  ;; grows to hold it, so any request size is read whole as the engine hands it over.
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.sub
        (i32.add (i32.const 1) (i32.shr_u (i32.add (local.get $msg_len) (i32.const 65535)) (i32.const 16)))
        (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1)) (then (return (i32.const 0))))))
    (call $guest_request (i32.const 1024) (i32.const 65536))
    ;; protocol_version (16 bytes), validate_settings (17), validate (8)
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 16) (i32.const 14)) (return (i32.const 1))))
    (call $guest_response (i32.const 32) (i32.const 17))
    (i32.const 1)))
