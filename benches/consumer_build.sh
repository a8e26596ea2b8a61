#!/usr/bin/env bash
# What depending on this crate costs a user: the clean debug build of a one-file crate that calls
# the client, against a one-file crate that calls reqwest alone with the same features (the
# client's TLS library, json, query, stream).
#
# A third crate shows the floor that the design sets: reqwest alone plus a build script that
# links the generator (progenitor, at the version the client pins) and generates nothing. The
# client generates its code in its build script, so every user's clean build compiles the
# generator and its dependencies (typify, schemars, regress, regex, syn, openapiv3); the floor is
# that cost, and client / floor is what the client's own code, build script and runtime
# dependencies add on top of it.
#
# One build of each says little on a shared machine (single ratios from 1.3 to 1.8 were seen within
# an hour), so the crates are built in interleaved rounds, each from scratch in a target directory
# of its own, the order rotating from round to round: whatever slows the machine for a minute slows
# every build of a round. Reported: each round's ratios, their median and spread, for wall time and
# for CPU time (user + system of the whole build), which load elsewhere disturbs less.
#
# Every build runs with CARGO_INCREMENTAL=0: cargo compiles a path dependency incrementally, a
# dependency from crates.io never, so without it the client (a path dependency here) would pay
# about 2 s of incremental bookkeeping that no user pays. The one-file crates themselves are the
# same size on every side.
#
# The TLS library is the user's choice and the largest part of reqwest's own build (rustls brings
# aws-lc-rs and its C build), so the ratio depends on it: CONSUMER_TLS=native-tls builds every
# crate with the platform's library instead (OpenSSL on Linux).
#
#   bash benches/consumer_build.sh [ROUNDS]     # ROUNDS defaults to 5
#   CONSUMER_TLS=native-tls bash benches/consumer_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
tls=${CONSUMER_TLS:-rustls}
case "$tls" in
  rustls) client_features='' ;;
  native-tls) client_features=', default-features = false, features = ["native-tls"]' ;;
  *) echo "CONSUMER_TLS is rustls or native-tls, not $tls" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The client is built from a copy of this checkout taken now, so editing the checkout while the
# rounds run changes none of them.
mkdir "$work/client"
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$work/client"

reqwest_req=$(sed -n 's/^reqwest = \(.*\)$/\1/p' Cargo.toml | head -n 1)
make_crate() { # name dependency-lines main.rs [build-dependency-lines]
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\ntokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n\n[build-dependencies]\n%s\n\n[workspace]\n' "$1" "$2" "${4:-}" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
  cp Cargo.lock "$work/$1/Cargo.lock"
}
make_crate with_client "atlassian-csm = { path = \"$work/client\"$client_features }" '
#[tokio::main]
async fn main() {
    let client = atlassian_csm::Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(atlassian_csm::Credentials::bearer("token"))
        .build()
        .unwrap();
    let _ = client.get_products().limit(5).send().await;
}'
reqwest_only_main='
#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();
    let _ = client.get("http://127.0.0.1:9/api/v1/product").query(&[("limit", 5)]).send().await;
}'
make_crate reqwest_only "reqwest = $reqwest_req
serde_json = \"1\"" "$reqwest_only_main"
progenitor_req=$(sed -n 's/^progenitor = \(.*\)$/\1/p' Cargo.toml | head -n 1)
make_crate generator_floor "reqwest = $reqwest_req
serde_json = \"1\"" "$reqwest_only_main" "progenitor = $progenitor_req"
# Links the generator into the build script and runs it on nothing.
printf 'fn main() {\n    let settings = progenitor::GenerationSettings::new();\n    let _generator = progenitor::Generator::new(&settings);\n}\n' > "$work/generator_floor/build.rs"
# The two reqwest crates get the TLS library the client has.
sed -i "s/features = \\[\"json\"/features = [\"$tls\", \"json\"/" "$work/reqwest_only/Cargo.toml" "$work/generator_floor/Cargo.toml"
for crate in with_client reqwest_only generator_floor; do (cd "$work/$crate" && cargo fetch --quiet); done
echo "TLS: $tls"

python3 - "$work" "$rounds" <<'PY'
import os, resource, statistics, subprocess, sys, time

work, rounds = sys.argv[1], int(sys.argv[2])

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

crates = ["reqwest_only", "with_client", "generator_floor"]
label = {"reqwest_only": "reqwest-only", "with_client": "client", "generator_floor": "floor"}
# Each reported ratio: (numerator, denominator), with its wall and CPU values round by round.
ratios = {pair: ([], []) for pair in [("with_client", "reqwest_only"),
                                      ("generator_floor", "reqwest_only"),
                                      ("with_client", "generator_floor")]}
for run in range(rounds):
    order = crates[run % 3:] + crates[:run % 3]
    times = {crate: build(crate, run) for crate in order}
    line = ", ".join(f"{label[c]} {times[c][0]:.1f} s wall {times[c][1]:.1f} s CPU" for c in crates)
    for (num, den), (wall, cpu) in ratios.items():
        wall.append(times[num][0] / times[den][0])
        cpu.append(times[num][1] / times[den][1])
        line += f"; {label[num]} / {label[den]} {wall[-1]:.2f} wall {cpu[-1]:.2f} CPU"
    print(f"round {run + 1}: {line}", flush=True)

def summary(values):
    return (f"median {statistics.median(values):.2f} "
            f"(spread {min(values):.2f}-{max(values):.2f} over {len(values)} rounds)")

for (num, den), (wall, cpu) in ratios.items():
    print(f"ratio {label[num]} / {label[den]}, wall: {summary(wall)}")
    print(f"ratio {label[num]} / {label[den]}, CPU:  {summary(cpu)}")
PY
