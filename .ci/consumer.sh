#!/usr/bin/env bash
# A user's crate that depends on the packaged crates alone (the unpacked .crate files that
# `cargo package` verified: the client, its fake and the spec toolkit their build scripts use) builds and runs the quickstart flow against
# the fake.
# Usage: .ci/consumer.sh WORKDIR   (run from the repository root, after `cargo package`)
set -euo pipefail
work=$1
metadata=$(cargo metadata --format-version 1 --no-deps --locked)
version=$(echo "$metadata" | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="atlassian-csm"))')
# Where cargo put the packages: `target/` unless CARGO_TARGET_DIR or a config moves it.
target_dir=$(echo "$metadata" | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
package="$target_dir/package/atlassian-csm-$version"
mock="$target_dir/package/atlassian-csm-mock-$version"
spec="$target_dir/package/atlassian-csm-spec-$version"
for unpacked in "$package" "$mock" "$spec"; do
  test -f "$unpacked/Cargo.toml" || { echo "no unpacked package at $unpacked: run cargo package first" >&2; exit 1; }
done

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
atlassian-csm = "=$version"
atlassian-csm-mock = "=$version"
tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "io-util", "time"] }
serde_json = "1"
futures = "0.3"

# The packages as crates.io would serve them.
[patch.crates-io]
atlassian-csm = { path = "$package" }
atlassian-csm-mock = { path = "$mock" }
atlassian-csm-spec = { path = "$spec" }

[workspace]
TOML
cd "$consumer"
CARGO_TARGET_DIR="$target_dir" env -u CSM_CLOUD_ID cargo run --quiet --bin quickstart
