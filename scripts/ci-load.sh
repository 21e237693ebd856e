#!/usr/bin/env bash
# The k6 smoke test and a short load test against the production build, as CI runs them
# (.ci/run) and as anyone can before pushing:
#   1. build, create a fresh database on the local PostgreSQL, migrate and seed it;
#   2. start `npm start` on a free port and wait for /health/ready;
#   3. run loadtests/smoke.ts, then loadtests/load.ts for LOAD_DURATION at LOAD_RATE;
#   4. check the summaries: the money invariant verified and held, every threshold passed, and
#      the number of distinct prepared statements bounded (PREPARED_STATEMENT_LIMIT, 40);
#   5. verify the audit log the load wrote (`npm run db:audit -- --verify`);
#   6. a short capacity run (capacity.json and capacity.svg);
#   7. several instances: scripts/load-instances.sh, two servers behind a round-robin balancer.
# Any failure fails the run: k6 exits non-zero on a crossed threshold or a violated invariant.
# The server is stopped and the database dropped however the run ends. The k6 summaries (JSON)
# and the server log are left in $SUMMARY_DIR for CI to keep.
#
#   bash scripts/ci-load.sh
#   LOAD_DURATION=1m LOAD_RATE=50 bash scripts/ci-load.sh
#
# k6 comes from PATH, else ../shared/bin/k6-ts beside the repository (scripts/run-k6.mjs).
# PostgreSQL: PGHOST, PGPORT, PGUSER (default 127.0.0.1, 5432, postgres) with trust
# authentication, and the right to create databases.
set -euo pipefail
cd "$(dirname "$0")/.."

script_name=ci-load
# shellcheck source=scripts/load-lib.sh
source scripts/load-lib.sh
load_duration="${LOAD_DURATION:-20s}"
# Below the load test's default of 50/s: CI machines are small and shared, and the latency
# budgets should fail on a slow change, not on a noisy neighbour.
load_rate="${LOAD_RATE:-20}"
export SUMMARY_DIR="${SUMMARY_DIR:-loadtests/results}"

database="loadtest_$(date +%Y%m%d_%H%M%S)_$$"
database_url="postgres://${pg_user}@${pg_host}:${pg_port}/${database}"
server_pid=""
started=$SECONDS

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ -n "$server_pid" ]]; then
    stop_group "$server_pid"
  fi
  admin_sql "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"
  if [[ $status -eq 0 ]]; then
    echo "ci-load: passed in $((SECONDS - started)) s"
  else
    echo "ci-load: FAILED (exit $status) after $((SECONDS - started)) s; see $SUMMARY_DIR/" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$SUMMARY_DIR"
# A summary left by an earlier run must not stand in for one this run failed to write.
rm -f "$SUMMARY_DIR/smoke-summary.json" "$SUMMARY_DIR/load-summary.json" "$SUMMARY_DIR/server.log"

step "build"
npm run -s build

step "database $database"
pg_isready -h "$pg_host" -p "$pg_port" -q
admin_sql "CREATE DATABASE \"$database\""
# The database is thrown away at the end: no pg_dump before migrating, whatever NODE_ENV says.
DATABASE_URL="$database_url" npm run -s db:migrate -- --no-backup
DATABASE_URL="$database_url" npm run -s db:seed

step "server"
port=$(node -e '
  const server = require("node:net").createServer();
  server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close(); });
')
base_url="http://127.0.0.1:${port}"
# A token of this run only: writes require one in production. k6 sends it as API_TOKEN. The
# rate limit is off: every virtual user shares 127.0.0.1, so it would measure the limiter.
api_token="$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))')"
export API_TOKEN="$api_token"
# setsid: a process group of its own, so stop_group reaches node through npm and sh.
DATABASE_URL="$database_url" NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
  API_TOKENS="$api_token" RATE_LIMIT=off \
  setsid npm start >"$SUMMARY_DIR/server.log" 2>&1 &
server_pid=$!
ready=""
for _ in $(seq 1 60); do
  if curl -fs --max-time 2 "$base_url/health/ready"; then
    ready=yes
    echo
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
if [[ -z "$ready" ]]; then
  echo "ci-load: the server did not become ready at $base_url within 30 s:" >&2
  tail -n 30 "$SUMMARY_DIR/server.log" >&2
  exit 1
fi

# Statement hygiene: every named prepared statement stays on the server for its connection's
# life, one per distinct SQL text, so the count must stay at the app's number of query shapes
# however many distinct ids and amounts the load sends (a value spliced into SQL would add one
# per request). The server counts them (db_prepared_statements on /metrics).
prepared_statements() {
  curl -fs --max-time 5 "$base_url/metrics" | awk '$1 == "db_prepared_statements" { print $2 }'
}
check_prepared() {
  local count
  count="$(prepared_statements)"
  echo "ci-load: $count distinct prepared statements after the $1 (limit $prepared_limit)"
  if [[ -z "$count" ]] || (( count > prepared_limit )); then
    echo "ci-load: prepared statements unbounded or unknown after the $1" >&2
    exit 1
  fi
}
prepared_limit="${PREPARED_STATEMENT_LIMIT:-40}"

step "smoke test"
BASE_URL="$base_url" node scripts/run-k6.mjs smoke --quiet
check_prepared "smoke test"

step "load test: $load_rate iterations/s for $load_duration"
BASE_URL="$base_url" RATE="$load_rate" DURATION="$load_duration" \
  node scripts/run-k6.mjs load --quiet
check_prepared "load test"

step "summaries"
node scripts/check-load-summary.mjs \
  "$SUMMARY_DIR/smoke-summary.json" "$SUMMARY_DIR/load-summary.json"

# The load's concurrent transfers all went through the audit triggers: one unbroken hash chain,
# every trigger on, every balance equal to its last entry (docs/security.md, "Audit log").
step "audit log"
DATABASE_URL="$database_url" npm run -s db:audit -- --verify

# The capacity report (capacity.json, capacity.svg in $SUMMARY_DIR): short steps, to show the
# scenario runs and produces its report; k6 exits non-zero once a step breaks the SLO, which is
# what it looks for, so only the money invariant decides. CAPACITY=off skips it.
if [[ "${CAPACITY:-on}" != "off" ]]; then
  step "capacity report"
  rm -f "$SUMMARY_DIR/capacity.json" "$SUMMARY_DIR/capacity.svg" "$SUMMARY_DIR/capacity-summary.json"
  BASE_URL="$base_url" MAX_RATE="${CAPACITY_MAX_RATE:-200}" STEPS="${CAPACITY_STEPS:-4}" \
    STEP_DURATION="${CAPACITY_STEP_DURATION:-10}" POOL_MAX=10 INSTANCES=1 \
    node scripts/run-k6.mjs capacity --quiet >"$SUMMARY_DIR/capacity.txt" 2>&1 || true
  grep -E "knee" "$SUMMARY_DIR/capacity.txt" || true
  node scripts/check-load-summary.mjs --invariant-only "$SUMMARY_DIR/capacity-summary.json"
  test -s "$SUMMARY_DIR/capacity.json" && test -s "$SUMMARY_DIR/capacity.svg"
fi

# Several instances (scripts/load-instances.sh): two more servers, on a database of their own,
# behind a round-robin balancer, with idempotency keys sent to both; it reuses this run's build.
# INSTANCES_TEST=off skips it.
if [[ "${INSTANCES_TEST:-on}" != "off" ]]; then
  step "several instances"
  SKIP_BUILD=1 bash scripts/load-instances.sh
fi
