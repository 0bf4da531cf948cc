#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server.
#
# Usage: scripts/with_postgres.sh CMD [ARGS...]
#
# Starts a fresh cluster from Debian's binaries (/usr/lib/postgresql/*/bin, or
# $PG_BIN, or initdb/pg_ctl on PATH) in a temporary folder, on a free port on
# 127.0.0.1 with trust authentication, creates the database gridlink_test and
# exports
#     GRIDLINK_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/gridlink_test
# then runs CMD. The server is stopped and the folder deleted however CMD ends;
# the script exits with CMD's status.
#
# As root the server runs as the `postgres` user (initdb refuses root). When no
# server binaries are found and we are root, Debian's postgresql is installed.
# If there is still none: with GRIDLINK_ALLOW_NO_PG=1 a loud note is printed and
# the script exits 0 WITHOUT running CMD; otherwise it fails.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

cmd=("$@")
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# A folder holding the server tools this script uses.
has_pg_tools() { [ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] && [ -x "$1/postgres" ] && [ -x "$1/createdb" ]; }

find_pg_bin() {
    if [ -n "${PG_BIN:-}" ] && has_pg_tools "$PG_BIN"; then
        echo "$PG_BIN"
        return 0
    fi
    local d
    # Debian's layout, newest major version first
    for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -t/ -k5 -V -r); do
        if has_pg_tools "$d"; then
            echo "$d"
            return 0
        fi
    done
    # elsewhere: initdb on PATH (following symlinks to the real folder)
    if command -v initdb >/dev/null 2>&1; then
        d="$(dirname "$(readlink -f "$(command -v initdb)")")"
        if has_pg_tools "$d"; then
            echo "$d"
            return 0
        fi
    fi
    return 1
}

no_postgres() {
    if [ "${GRIDLINK_ALLOW_NO_PG:-}" = "1" ]; then
        echo "################################################################"
        echo "# NOTE: $1"
        echo "# GRIDLINK_ALLOW_NO_PG=1: NOT running: ${cmd[*]}"
        echo "# The PostgreSQL tests did NOT run."
        echo "################################################################"
        exit 0
    fi
    echo "with_postgres: ERROR: $1" >&2
    echo "with_postgres: install Debian's postgresql (as root: apt-get install -y postgresql)," >&2
    echo "with_postgres: or set GRIDLINK_ALLOW_NO_PG=1 to skip the PostgreSQL run." >&2
    exit 1
}

pg_bin="$(find_pg_bin || true)"
if [ -z "$pg_bin" ] && [ "$(id -u)" -eq 0 ]; then
    "$here/ensure_system_packages.sh" postgres || true
    pg_bin="$(find_pg_bin || true)"
fi
[ -n "$pg_bin" ] || no_postgres "no PostgreSQL server binaries found (initdb, pg_ctl)"

# As root, run the server tools as the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        no_postgres "running as root but there is no 'postgres' user to run the server as"
    fi
    as_pg=(runuser -u postgres --)
fi

# Run a server tool from / so that an unreadable working directory doesn't matter.
pg() { (cd / && "${as_pg[@]}" "$@"); }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gridlink-pg.XXXXXX")"
datadir="$tmp/data"
sockdir="$tmp/sock"
logfile="$tmp/server.log"
mkdir -p "$sockdir"
if [ ${#as_pg[@]} -gt 0 ]; then
    chown -R postgres: "$tmp"
fi

started=0
cleanup() {
    local rc=$?
    if [ "$started" = 1 ]; then
        pg "$pg_bin/pg_ctl" -D "$datadir" -m fast -t 30 stop >/dev/null 2>&1 \
            || pg "$pg_bin/pg_ctl" -D "$datadir" -m immediate stop >/dev/null 2>&1 \
            || true
    fi
    rm -rf "$tmp"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! pg "$pg_bin/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
        >"$tmp/initdb.log" 2>&1; then
    cat "$tmp/initdb.log" >&2
    echo "with_postgres: ERROR: initdb failed" >&2
    exit 1
fi

port=""
for attempt in 1 2 3; do
    port="$(free_port)"
    if pg "$pg_bin/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 \
            -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
        started=1
        break
    fi
    echo "with_postgres: start on port $port failed (attempt $attempt)" >&2
    tail -n 20 "$logfile" >&2 || true
done
if [ "$started" != 1 ]; then
    echo "with_postgres: ERROR: could not start PostgreSQL" >&2
    exit 1
fi

"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres gridlink_test

export GRIDLINK_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/gridlink_test"
version="$("$pg_bin/postgres" --version 2>/dev/null || echo PostgreSQL)"
echo "with_postgres: $version on 127.0.0.1:$port, database gridlink_test (GRIDLINK_TEST_PG_URL set)"

# Run CMD as a child (stdin passed through) so that a TERM or INT sent to this
# script is forwarded to it and the clean-up still runs when it ends.
child=""
forward() { if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null || true; fi; }
trap 'forward TERM' TERM
trap 'forward INT' INT
"${cmd[@]}" <&0 &
child=$!
set +e
wait "$child"
status=$?
while kill -0 "$child" 2>/dev/null; do  # wait was interrupted by a signal: wait again
    wait "$child"
    status=$?
done
set -e
exit "$status"
