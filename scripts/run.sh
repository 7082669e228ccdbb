#!/usr/bin/env bash
# Bosun's run command: installs what the build needs (or says exactly what is
# missing), builds in release mode, and starts a local cluster with `bosun up`
# (embedded store, 3 simulated nodes). Extra arguments go to `bosun up`.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
need_cargo
need_apt_tool protoc protobuf-compiler "etcd-client's build generates gRPC code with it"

echo "==> cargo build --release"
cargo build --release --locked --workspace --bins

exec target/release/bosun up "$@"
