#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on loopback, for the PostgreSQL tests:
#
#   bash scripts/with-postgres.sh cargo test --workspace
#
# It uses Debian's package (installed first when missing and this runs as root), starts a new
# cluster in a temporary directory on a free port (as the `postgres` user when run as root:
# the server refuses to run as root), exports `CSM_TEST_POSTGRES_URL` for the tests, runs the
# command, then stops the server and removes the cluster, whatever the command did.
set -euo pipefail

bin_dir() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

if ! bin=$(bin_dir); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "with-postgres: installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(bin_dir)
  else
    echo "with-postgres: no PostgreSQL server found (Debian: apt-get install postgresql)" >&2
    exit 1
  fi
fi

as_server() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster=$(mktemp -d "${TMPDIR:-/tmp}/csm-postgres.XXXXXX")
cleanup() {
  as_server "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$cluster"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_server "$bin/initdb" -D "$cluster/data" -U csm --auth=trust -E UTF8 --no-locale >/dev/null
# Up to 300 connections: a job list of 100 sites keeps one connection per site sync under way.
as_server "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c max_connections=300" start >/dev/null
export CSM_TEST_POSTGRES_URL="postgres://csm@127.0.0.1:$port/postgres"
echo "with-postgres: a throwaway server at $CSM_TEST_POSTGRES_URL" >&2
"$@"
