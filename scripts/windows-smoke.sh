#!/usr/bin/env bash
# The Windows binary on a Windows machine (the GitHub windows-latest job, in Git Bash):
# direct mode with DATABASE_URL, the zero-config database refused, then `serve` on Windows
# and the CLI as its client with the session in Credential Manager and no token file.
#
#   EPICEVENTS=target/release/epicevents.exe PG_ADMIN_URL=postgres://postgres:root@localhost:5432/postgres \
#     scripts/windows-smoke.sh
#
# EPICEVENTS may be a command with arguments (`wine64 …/epicevents.exe` runs the script's
# logic under Wine on Linux; there Credential Manager is checked by tests/windows instead,
# as cmdkey is missing). Every step that fails stops the script with its line.
set -euo pipefail
read -r -a epicevents <<< "${EPICEVENTS:?set EPICEVENTS to the Windows binary}"
admin="${PG_ADMIN_URL:?set PG_ADMIN_URL to a PostgreSQL URL whose role may create databases}"
port="${SMOKE_PORT:-18080}"
password='Smoke-test-pw-1'

step() { printf '== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
ee() { "${epicevents[@]}" "$@"; }
# runs ee, expecting exit code $1
expect_code() {
  local want=$1; shift
  local got=0
  ee "$@" >/tmp/smoke.out 2>/tmp/smoke.err || got=$?
  [ "$got" -eq "$want" ] || fail "epicevents $* exited $got, not $want: $(cat /tmp/smoke.err)"
}

step "a database of its own"
db="epic_smoke_$$"
base="${admin%/*}"
psql_bin=$(command -v psql || true)
[ -z "$psql_bin" ] && [ -n "${PGBIN:-}" ] && psql_bin="$PGBIN/psql"
[ -n "$psql_bin" ] || fail "psql not found (PATH or PGBIN)"
"$psql_bin" -q "$admin" -c "create database $db"
trap '"$psql_bin" -q "$admin" -c "drop database if exists $db with (force)" || true' EXIT

step "direct mode"
export DATABASE_URL="$base/$db" EPICCRM_JWT_SECRET=smoke-test-secret-smoke-test-secret-0123 TZ=UTC NO_COLOR=1
ee --version
ee db migrate
printf '%s\n' "$password" | ee create-employee Ada Lovelace ada@example.com - MANAGEMENT >/dev/null
printf '%s\n' "$password" | ee login ada@example.com
ee --json whoami | grep -q '"email": "ada@example.com"' || fail "whoami in direct mode"
expect_code 4 client create Kevin Casey kevin@startup.io --company "Cool Startup"
printf '%s\n' "$password" | ee employee create Sam Seller sam@example.com - SALES >/dev/null
expect_code 5 client show 99
expect_code 2 contract create 1 abc
ee --csv employee list | grep -q '^2,Sam,Seller,sam@example.com,SALES' || fail "CSV"
ee logout
expect_code 3 whoami

step "the zero-config database is refused"
(
  unset DATABASE_URL
  expect_code 7 whoami
  grep -q "EPICCRM_SERVER" /tmp/smoke.err || fail "no hint to use EPICCRM_SERVER: $(cat /tmp/smoke.err)"
)

step "serve on Windows"
# the program itself in the background (not a function's subshell), for kill to reach it
"${epicevents[@]}" serve --listen "127.0.0.1:$port" 2>/tmp/smoke-serve.log &
server=$!
trap 'kill $server 2>/dev/null || true; "$psql_bin" -q "$admin" -c "drop database if exists $db with (force)" || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" | grep -q ok || fail "the server did not answer: $(cat /tmp/smoke-serve.log)"

step "a client of the server, the session in Credential Manager"
(
  unset DATABASE_URL EPICCRM_JWT_SECRET
  export EPICCRM_SERVER="http://127.0.0.1:$port"
  printf '%s\n' "$password" | ee login ada@example.com
  ee --json whoami | grep -q '"role": "MANAGEMENT"' || fail "whoami through the server"
  target="server:$EPICCRM_SERVER.epiccrm-cli"
  if command -v cmdkey.exe >/dev/null 2>&1; then
    MSYS_NO_PATHCONV=1 cmdkey.exe /list | grep -qF "$target" || fail "no credential $target"
    config="$(cygpath -u "$APPDATA")/epiccrm/config"
    if ls "$config"/tokens* >/dev/null 2>&1; then fail "a token file was written: $(ls "$config")"; fi
  else
    echo "(no cmdkey here: the credential is checked by tests/windows under Wine)"
  fi
  ee logout
  expect_code 3 whoami
  if command -v cmdkey.exe >/dev/null 2>&1; then
    if MSYS_NO_PATHCONV=1 cmdkey.exe /list | grep -qF "$target"; then fail "logout left $target"; fi
  fi
)
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
grep -q "POST /v1/session 200" /tmp/smoke-serve.log || fail "no login in the access log"
step "all good"
