#!/usr/bin/env bash
# What depending on this crate costs a user: the clean debug build time of a one-file crate that
# calls the client, against a one-file crate that calls reqwest alone with the same features
# (rustls, json, query, stream). Each is built from scratch in its own target directory; the
# ratio is what counts (wall-clock times drift on a shared machine).
#
#   bash benches/consumer_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

reqwest_req=$(sed -n 's/^reqwest = \(.*\)$/\1/p' Cargo.toml | head -n 1)
make_crate() { # name dependency-lines main.rs
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\ntokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n\n[workspace]\n' "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
  cp Cargo.lock "$work/$1/Cargo.lock"
}
make_crate with_client "atlassian-csm = { path = \"$root\" }" '
#[tokio::main]
async fn main() {
    let client = atlassian_csm::Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(atlassian_csm::Credentials::bearer("token"))
        .build()
        .unwrap();
    let _ = client.get_products().limit(5).send().await;
}'
make_crate reqwest_only "reqwest = $reqwest_req
serde_json = \"1\"" '
#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();
    let _ = client.get("http://127.0.0.1:9/api/v1/product").query(&[("limit", 5)]).send().await;
}'
# reqwest-only gets rustls like the client's default feature does.
sed -i 's/features = \["json"/features = ["rustls", "json"/' "$work/reqwest_only/Cargo.toml"

time_build() {
  (cd "$work/$1" && cargo fetch --quiet && start=$(now) && cargo build --quiet && python3 -c "print(f'{$(now) - $start:.1f}')")
}
reqwest_s=$(time_build reqwest_only)
client_s=$(time_build with_client)
echo "reqwest-only consumer, clean build:  ${reqwest_s} s"
echo "client consumer, clean build:        ${client_s} s"
python3 -c "print(f'ratio client / reqwest-only:         {$client_s / $reqwest_s:.2f}')"
