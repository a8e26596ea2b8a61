#!/usr/bin/env bash
# Code generation cost: how long the build script runs, and how long `cargo build` takes after a
# description in spec/ is edited (the edit is undone afterwards).
#
#   bash benches/build_times.sh [--clean]    # --clean also times a build from scratch
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
now() { date +%s.%N; }
seconds() { python3 -c "print(f'{$2 - $1:.2f}')"; }

if [ "${1:-}" = "--clean" ]; then
  cargo clean --quiet
  start=$(now); cargo build --quiet; echo "clean build:                  $(seconds "$start" "$(now)") s"
fi
cargo build --quiet

script=$(ls -t "$target_dir"/debug/build/atlassian-csm-*/build-script-build | head -n 1)
out=$(mktemp -d)
runs=()
for _ in 1 2 3 4 5; do
  start=$(now)
  OUT_DIR=$out CARGO_MANIFEST_DIR=$PWD "$script" > /dev/null
  runs+=("$(seconds "$start" "$(now)")")
done
rm -rf "$out"
echo "build script run (5 runs):   $(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p) s median ($(echo "${runs[@]}"))"

spec=spec/csm.openapi.json
cp "$spec" "$spec.bak"
trap 'mv "$spec.bak" "$spec"' EXIT
sed -i '0,/"description": "Returns a customer, including their details./s//"description": "Returns a customer (edited), including their details./' "$spec"
start=$(now); cargo build --quiet; echo "rebuild after a spec edit:    $(seconds "$start" "$(now)") s"
grep -q "Returns a customer (edited)" "$target_dir"/debug/build/atlassian-csm-*/out/csm_client.rs \
  && echo "the edit reached the generated rustdoc"
