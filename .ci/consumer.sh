#!/usr/bin/env bash
# A user's crate that depends on the packaged crate alone (the unpacked .crate that
# `cargo package` verified) builds and runs the quickstart flow against the local mock.
# Usage: .ci/consumer.sh WORKDIR   (run from the repository root, after `cargo package`)
set -euo pipefail
root=$(pwd)
work=$1
version=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="atlassian-csm"))')
package="$root/target/package/atlassian-csm-$version"
test -f "$package/Cargo.toml" || { echo "no unpacked package at $package: run cargo package first" >&2; exit 1; }

consumer="$work/consumer"
rm -rf "$consumer"
mkdir -p "$consumer"
cp -r "$package/examples" "$consumer/examples"
cp Cargo.lock "$consumer/Cargo.lock"
cat > "$consumer/Cargo.toml" <<TOML
[package]
name = "consumer"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "quickstart"
path = "examples/quickstart/main.rs"

[dependencies]
atlassian-csm = { path = "$package" }
tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "io-util", "time"] }
hyper = { version = "1", features = ["server", "http1"] }
hyper-util = { version = "0.1", features = ["tokio"] }
http-body-util = "0.1"
bytes = "1"
serde_json = "1"
futures = "0.3"
uuid = { version = "1", features = ["v4"] }
chrono = { version = "0.4", default-features = false, features = ["std", "clock"] }

[workspace]
TOML
cd "$consumer"
CARGO_TARGET_DIR="$root/target" env -u CSM_CLOUD_ID cargo run --quiet --bin quickstart
