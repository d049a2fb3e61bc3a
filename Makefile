# sigpin: build, test and benchmark entry points. `make test` is the command CI runs.

CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
WASM_OUT := target/$(WASM_TARGET)/release/sigpin.wasm

.PHONY: all test unit-tests e2e-tests fmt fmt-check lint clean policy.wasm fuzz fuzz-smoke

all: policy.wasm

# The module Kubewarden runs. Always rebuilt through cargo, which knows when it is stale.
policy.wasm:
	$(CARGO) build --target $(WASM_TARGET) --release -p sigpin
	cp $(WASM_OUT) policy.wasm
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes"

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) -p sigpin -- -D warnings

unit-tests: policy.wasm
	SIGPIN_WASM=$(CURDIR)/policy.wasm $(CARGO) test --workspace

e2e-tests: policy.wasm
	bats e2e.bats

# Stable-toolchain fuzzing of settings parsing and validate (see fuzz/src/main.rs).
FUZZ_ITERATIONS ?= 5000000
fuzz:
	$(CARGO) run --release -p sigpin-fuzz -- --iterations $(FUZZ_ITERATIONS)

fuzz-smoke:
	$(CARGO) run --release -p sigpin-fuzz -- --iterations 20000

# Everything CI checks, in the order that fails fastest.
test: fmt-check lint unit-tests fuzz-smoke

clean:
	$(CARGO) clean
	rm -f policy.wasm annotated-policy.wasm
