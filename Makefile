# sigpin: build, test and benchmark entry points. `make test` is the command CI runs.

CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
WASM_OUT := target/$(WASM_TARGET)/release/sigpin.wasm
CARGO_HOME ?= $(HOME)/.cargo
# Reproducible module: no build paths in the bytes (panic locations name source files), so
# any checkout directory and any CARGO_HOME give the same policy.wasm. The toolchain is pinned
# by RUSTC_PIN below (checked, not downloaded: CI machines cannot fetch toolchains) and the
# dependencies by Cargo.lock.
# opt-level 2 (Cargo.toml) inlines up to LLVM's threshold 225, which costs 30 KB; 100 keeps most
# of the speed: instructions per no-match `validate` under wasmtime 83.3k ("s"), 64.8k (2, 100),
# 55.9k (2, 225); bytes after wasm-opt 479,647, 493,476, 523,474 (README, Performance).
WASM_INLINING := -C llvm-args=-inline-threshold=100
WASM_RUSTFLAGS := --remap-path-prefix=$(CURDIR)=/sigpin --remap-path-prefix=$(CARGO_HOME)=/cargo \
	$(WASM_INLINING)
REPRO_DIR := $(CURDIR)/target/reproducible
RUSTC_PIN := rustc 1.95.0

PHONY_EXTRA := check-reproducible release distribution-tests
.PHONY: all deps test unit-tests e2e-tests engine-tests compat-tests harness demo bench profile annotated-policy.wasm fmt fmt-check lint clean policy.wasm fuzz fuzz-smoke $(PHONY_EXTRA)

all: policy.wasm

# What a fresh machine with only Rust and rustup lacks (wasm32 target, docker-registry, bats, jq,
# python3, curl): installed when root, else listed. `make demo` and `make test` run it first.
deps:
	scripts/install-deps.sh

# The module Kubewarden runs. Always rebuilt through cargo, which knows when it is stale, then
# through Binaryen's wasm-opt (scripts/optimize-wasm.sh says why; it skips an unchanged input).
policy.wasm:
	CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="$(WASM_RUSTFLAGS)" \
		$(CARGO) build --locked --target $(WASM_TARGET) --release -p sigpin
	scripts/optimize-wasm.sh $(WASM_OUT) policy.wasm
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes, sha256 $$(sha256sum policy.wasm | cut -d' ' -f1)"

# Record the hash of a release build (run after any change to the policy or its dependencies).
policy.wasm.sha256: policy.wasm
	sha256sum policy.wasm > policy.wasm.sha256

# A from-scratch build in a separate target directory must give the committed bytes.
check-reproducible:
	@rustc --version | grep -q "^$(RUSTC_PIN) " || { echo "policy.wasm.sha256 was made with $(RUSTC_PIN); this is $$(rustc --version)"; exit 1; }
	rm -rf $(REPRO_DIR)
	CARGO_TARGET_DIR=$(REPRO_DIR) CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="$(WASM_RUSTFLAGS)" \
		$(CARGO) build --locked --target $(WASM_TARGET) --release -p sigpin
	CARGO_TARGET_DIR=$(REPRO_DIR) scripts/optimize-wasm.sh \
		$(REPRO_DIR)/$(WASM_TARGET)/release/sigpin.wasm $(REPRO_DIR)/policy.wasm
	cd $(REPRO_DIR) && sha256sum -c $(CURDIR)/policy.wasm.sha256
	rm -rf $(REPRO_DIR)

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

# The RustSec database cargo-deny reads (deny.toml's db-path); nothing is fetched: CI machines
# reach crates.io but not github.com, where the database lives.
ADVISORY_DB := $(CARGO_HOME)/advisory-dbs

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) -p sigpin -- -D warnings
	$(CARGO) deny --workspace check licenses bans sources
	@if ls -d $(ADVISORY_DB)/*/crates > /dev/null 2>&1; then \
		$(CARGO) deny --workspace check --disable-fetch advisories; \
	else \
		echo "ADVISORIES NOT CHECKED: no RustSec database in $(ADVISORY_DB) (run \`cargo deny fetch db\` where github.com is reachable)"; \
	fi

unit-tests: policy.wasm
	SIGPIN_WASM=$(CURDIR)/policy.wasm $(CARGO) test --workspace

harness:
	$(CARGO) build -p harness

# The harness's verdicts, each also checked against `kwctl run` when kwctl is found (KWCTL or PATH).
e2e-tests: policy.wasm harness
	bats e2e.bats

# The module under the real policy-server (KWCTL and POLICY_SERVER or PATH; skipped loudly without).
engine-tests: policy.wasm harness
	bats engine.bats

# Differential settings test against upstream verify-image-signatures 1.0.11 (harness and kwctl).
compat-tests: policy.wasm harness
	bats compat.bats

# Policy cost per admission (replayed host answers), real-registry verification cost, and the
# real engine: kwctl bench and policy-server throughput against the upstream module.
# The harness profile it measures with: dev by default (its Cranelift crates optimised, see
# Cargo.toml); BENCH_PROFILE=release builds and uses a release harness (a long first build).
BENCH_PROFILE ?= dev
bench: policy.wasm
	$(CARGO) build -p harness $(if $(filter release,$(BENCH_PROFILE)),--release)
	HARNESS=$(CURDIR)/target/$(if $(filter release,$(BENCH_PROFILE)),release,debug)/harness \
		BENCH_PROFILE=$(BENCH_PROFILE) bench/run.sh

# Where the policy's own time goes: instructions per call of its native build under callgrind,
# per scenario (bench/profile.sh; PROFILE_SCENARIOS to choose). Symbols kept, so the callgrind
# files in target/profile name functions.
PROFILE_SCENARIOS ?=
profile:
	CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=1 \
		$(CARGO) build --locked --release --example profile
	bench/profile.sh $(PROFILE_SCENARIOS)

# The module with its Kubewarden metadata embedded, ready for `harness push` / `kwctl push`.
annotated-policy.wasm: policy.wasm harness
	target/debug/harness annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

# Publish: REGISTRY=host/repository TAG=vX.Y.Z KEY=cosign.key (see scripts/release.sh).
release:
	REGISTRY="$(REGISTRY)" TAG="$(TAG)" KEY="$(KEY)" scripts/release.sh

# Registry authentication and `make release` against loopback registries.
distribution-tests: policy.wasm harness
	bats distribution.bats

# Sign one image in a throw-away registry and evaluate a signed and an unsigned Pod.
demo: deps policy.wasm harness
	scripts/demo.sh

# Stable-toolchain fuzzing of settings parsing and validate (see fuzz/src/main.rs).
FUZZ_ITERATIONS ?= 5000000
fuzz:
	$(CARGO) run --release -p sigpin-fuzz -- --iterations $(FUZZ_ITERATIONS)

fuzz-smoke:
	$(CARGO) run --release -p sigpin-fuzz -- --iterations 20000

# Everything CI checks, in the order that fails fastest.
test: deps fmt-check lint unit-tests fuzz-smoke check-reproducible distribution-tests e2e-tests engine-tests compat-tests

clean:
	$(CARGO) clean
	rm -f policy.wasm annotated-policy.wasm
