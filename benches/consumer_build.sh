#!/usr/bin/env bash
# What depending on this crate costs a user: the clean debug build of a one-file crate that calls
# the client, against a one-file crate that calls reqwest alone with the same features (rustls,
# json, query, stream).
#
# One build of each says little on a shared machine (single ratios from 1.3 to 1.8 were seen within
# an hour), so the two are built in interleaved pairs, each from scratch in a target directory of
# its own, the order alternating from pair to pair: whatever slows the machine for a minute slows
# both sides of a pair. Reported: each pair's ratio, their median and spread, for wall time and for
# CPU time (user + system of the whole build), which load elsewhere disturbs less.
#
# Both builds run with CARGO_INCREMENTAL=0: cargo compiles a path dependency incrementally, a
# dependency from crates.io never, so without it the client (a path dependency here) would pay
# about 2 s of incremental bookkeeping that no user pays. The two one-file crates themselves are
# the same size on both sides.
#
#   bash benches/consumer_build.sh [PAIRS]     # PAIRS defaults to 5
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pairs=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
for crate in with_client reqwest_only; do (cd "$work/$crate" && cargo fetch --quiet); done

python3 - "$work" "$pairs" <<'PY'
import os, resource, statistics, subprocess, sys, time

work, pairs = sys.argv[1], int(sys.argv[2])

def build(crate, run):
    """One clean debug build; returns (wall seconds, CPU seconds of every process it ran)."""
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, f"target-{crate}-{run}"),
               CARGO_INCREMENTAL="0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(["cargo", "build", "--quiet", "--offline"], cwd=os.path.join(work, crate),
                   env=env, check=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    subprocess.run(["rm", "-rf", env["CARGO_TARGET_DIR"]], check=True)
    return wall, cpu

wall_ratios, cpu_ratios = [], []
for run in range(pairs):
    order = ["reqwest_only", "with_client"] if run % 2 == 0 else ["with_client", "reqwest_only"]
    times = {crate: build(crate, run) for crate in order}
    (rw, rc), (cw, cc) = times["reqwest_only"], times["with_client"]
    wall_ratios.append(cw / rw)
    cpu_ratios.append(cc / rc)
    print(f"pair {run + 1}: reqwest only {rw:.1f} s wall {rc:.1f} s CPU, "
          f"with the client {cw:.1f} s wall {cc:.1f} s CPU: "
          f"ratio {cw / rw:.2f} wall, {cc / rc:.2f} CPU", flush=True)

def summary(ratios):
    return (f"median {statistics.median(ratios):.2f} "
            f"(spread {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} pairs)")

print(f"ratio client / reqwest-only, wall: {summary(wall_ratios)}")
print(f"ratio client / reqwest-only, CPU:  {summary(cpu_ratios)}")
PY
