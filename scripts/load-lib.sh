# Shared by scripts/ci-load.sh and scripts/load-instances.sh (sourced, not run). Expects
# `script_name` (for messages) and `started` (SECONDS at start) to be set by the caller.

pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
pg_user="${PGUSER:-postgres}"

step() { printf '\n== %s: %s (%ds)\n' "$script_name" "$*" "$((SECONDS - started))"; }

# psql on the maintenance database, quietly, failing on the first error.
admin_sql() {
  PGOPTIONS="--client-min-messages=warning" \
    psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -qAtX -v ON_ERROR_STOP=1 -c "$1"
}

# Stops the process group $1: `npm start` runs node under `sh -c`, which does not pass a signal
# on, so signalling npm alone would leave the server running. A server drains in-flight requests
# for up to SHUTDOWN_TIMEOUT_MS (10 s by default); after 15 s it is killed.
stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 1 150); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "$script_name: process group $1 did not stop within 15 s; killing it" >&2
  kill -KILL -- "-$1" 2>/dev/null || true
}
