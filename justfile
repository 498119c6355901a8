# Every-day recipes. `just --list` shows them.

# Run the service on the embedded default (private PostgreSQL in .imi-data, demo data).
run:
    cargo run -p imi -- serve

# The whole test suite (the command CI runs).
test:
    cargo test --workspace

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

fmt:
    cargo fmt --all

# Regenerate schema.graphql after changing the API.
schema:
    cargo run -q -p imi -- schema > schema.graphql

# Benchmarks recorded in docs/BENCHMARKS.md.
bench:
    cargo run --release -p imi -- bench commands
    cargo run --release -p imi -- bench rebuild
