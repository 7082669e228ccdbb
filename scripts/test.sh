#!/usr/bin/env bash
# Bosun's test command: installs what the tests need (or says exactly what is
# missing), then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
need_cargo
need_apt_tool protoc protobuf-compiler "etcd-client's build generates gRPC code with it"
need_apt_tool etcd etcd-server "the storage conformance suite runs a real etcd"

echo "==> cargo build --workspace --bins"
cargo build --workspace --bins --locked
# The node simulator's integration tests run against the real apiserver.
export BOSUN_APISERVER_BIN="$PWD/target/debug/bosun-apiserver"

echo "==> cargo test --workspace"
cargo test --workspace --locked --no-fail-fast
