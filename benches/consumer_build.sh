#!/usr/bin/env bash
# What depending on this crate costs a user: the clean debug build of a one-file crate that calls
# the client, against what the user would pick instead, measured in the same run.
#
# The crates, each one file:
#   reqwest-default  reqwest with its default features (rustls on aws-lc-rs, HTTP/2, charset,
#                    system proxies) plus json, query and stream: the baseline a user would pick.
#   reqwest-same     reqwest with the client's features and TLS (by default rustls on ring with
#                    the platform's verifier; with CONSUMER_TLS=native-tls, the platform's library).
#   floor            reqwest-same plus a build script that links the generator (progenitor, at the
#                    version the client pins) and generates nothing: the floor that generating the
#                    client in its build script sets (typify, schemars, regress, regex, syn,
#                    openapiv3 compiled in every user's clean build).
#   client           the client with its default features (or native-tls).
#   client+sync      the client with `sync` too: the bundled SQLite on top.
#
# One build of each says little on a shared machine (single ratios 1.3 to 1.8 apart were seen
# within an hour), so the crates are built in interleaved rounds, each from scratch in a target
# directory of its own, the order rotating from round to round: whatever slows the machine for a
# minute slows every build of a round. Reported: each round's times, then each ratio's median and
# spread, for wall time and for CPU time (user + system of the whole build), which load elsewhere
# disturbs less.
#
# Every build runs with CARGO_INCREMENTAL=0: cargo compiles a path dependency incrementally, a
# dependency from crates.io never, so without it the client (a path dependency here) would pay
# about 2 s of incremental bookkeeping that no user pays.
#
#   bash benches/consumer_build.sh [ROUNDS]     # ROUNDS defaults to 5
#   CONSUMER_TLS=native-tls bash benches/consumer_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
tls=${CONSUMER_TLS:-rustls}
case "$tls" in
  rustls)
    client_features=''
    same_tls='"rustls-no-provider", '
    same_extra='rustls = { version = "0.23.27", default-features = false, features = ["std", "tls12", "ring"] }'
    install='let _ = rustls::crypto::ring::default_provider().install_default();' ;;
  native-tls)
    client_features=', default-features = false, features = ["native-tls"]'
    same_tls='"native-tls", '
    same_extra=''
    install='' ;;
  *) echo "CONSUMER_TLS is rustls or native-tls, not $tls" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The client is built from a copy of this checkout taken now, so editing the checkout while the
# rounds run changes none of them.
mkdir "$work/checkout"
tar --exclude=./target --exclude=./.git --exclude=./target-base -cf - . | tar -xf - -C "$work/checkout"

make_crate() { # name dependency-lines main.rs [build-dependency-lines]
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\ntokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n\n[build-dependencies]\n%s\n\n[workspace]\n' "$1" "$2" "${4:-}" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
  cp Cargo.lock "$work/$1/Cargo.lock"
}
client_main='
#[tokio::main]
async fn main() {
    let client = atlassian_csm::Client::builder()
        .base_url("http://127.0.0.1:9")
        .credentials(atlassian_csm::Credentials::bearer("token"))
        .build()
        .unwrap();
    let _ = client.get_products().limit(5).send().await;
}'
make_crate client "atlassian-csm = { path = \"$work/checkout\"$client_features }" "$client_main"
if [ "$tls" = rustls ]; then sync_features=', features = ["sync"]'; else sync_features=', default-features = false, features = ["native-tls", "sync"]'; fi
make_crate client_sync "atlassian-csm = { path = \"$work/checkout\"$sync_features }" "$client_main"
reqwest_main() { printf '
#[tokio::main]
async fn main() {
    %s
    let client = reqwest::Client::new();
    let _ = client.get("http://127.0.0.1:9/api/v1/product").query(&[("limit", 5)]).send().await;
}' "$1"; }
make_crate reqwest_default 'reqwest = { version = "0.13", features = ["json", "query", "stream"] }
serde_json = "1"' "$(reqwest_main '')"
same_reqwest="reqwest = { version = \"0.13\", default-features = false, features = [${same_tls}\"json\", \"query\", \"stream\"] }
serde_json = \"1\"
$same_extra"
make_crate reqwest_same "$same_reqwest" "$(reqwest_main "$install")"
progenitor_req=$(sed -n 's/^progenitor = \(.*\)$/\1/p' Cargo.toml | head -n 1)
make_crate floor "$same_reqwest" "$(reqwest_main "$install")" "progenitor = $progenitor_req"
# Links the generator into the build script and runs it on nothing.
printf 'fn main() {\n    let settings = progenitor::GenerationSettings::new();\n    let _generator = progenitor::Generator::new(&settings);\n}\n' > "$work/floor/build.rs"
for crate in client client_sync reqwest_default reqwest_same floor; do (cd "$work/$crate" && cargo fetch --quiet); done
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

crates = ["reqwest_default", "reqwest_same", "floor", "client", "client_sync"]
label = {"reqwest_default": "reqwest-default", "reqwest_same": "reqwest-same", "floor": "floor",
         "client": "client", "client_sync": "client+sync"}
pairs = [("client", "reqwest_default"), ("client", "reqwest_same"), ("floor", "reqwest_same"),
         ("client", "floor"), ("client_sync", "client"), ("reqwest_same", "reqwest_default")]
ratios = {pair: ([], []) for pair in pairs}
times = {crate: ([], []) for crate in crates}
for run in range(rounds):
    shift = run % len(crates)
    order = crates[shift:] + crates[:shift]
    this = {crate: build(crate, run) for crate in order}
    for crate, (wall, cpu) in this.items():
        times[crate][0].append(wall)
        times[crate][1].append(cpu)
    print(f"round {run + 1}: " + ", ".join(
        f"{label[c]} {this[c][0]:.1f} s wall {this[c][1]:.1f} s CPU" for c in crates), flush=True)
    for (num, den), (wall, cpu) in ratios.items():
        wall.append(this[num][0] / this[den][0])
        cpu.append(this[num][1] / this[den][1])

def summary(values, unit=""):
    return (f"median {statistics.median(values):.2f}{unit} "
            f"(spread {min(values):.2f}-{max(values):.2f})")

print(f"over {rounds} rounds:")
for crate in crates:
    wall, cpu = times[crate]
    print(f"  {label[crate]:16} wall {summary(wall, ' s')}, CPU {summary(cpu, ' s')}")
for (num, den), (wall, cpu) in ratios.items():
    print(f"  {label[num]} / {label[den]}: wall {summary(wall)}, CPU {summary(cpu)}")
PY
