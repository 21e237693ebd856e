#!/usr/bin/env bash
# Several instances of the service under k6, as deployed behind a load balancer:
#   1. build (SKIP_BUILD=1 reuses dist/), create a fresh database on the local PostgreSQL,
#      migrate and seed it;
#   2. start INSTANCES server processes (`npm start`, APP_INSTANCES=INSTANCES so each one's
#      connection-budget check counts the others) on free ports, and wait for /health/ready;
#   3. put scripts/balancer.mjs (round robin) in front of them;
#   4. run loadtests/instances.ts through the balancer: the load test's traffic for
#      INSTANCES_DURATION at INSTANCES_RATE, plus idempotency pairs that send one key to two
#      different instances; then the money invariant;
#   5. check the summary, that every instance served API requests (its own /metrics), and the
#      audit log (`npm run db:audit -- --verify`).
# Any failure fails the run. Servers and balancer are stopped and the database dropped however
# the run ends; the k6 summary and the logs (instance-N.log, balancer.log) stay in $SUMMARY_DIR.
#
#   bash scripts/load-instances.sh
#   INSTANCES=3 INSTANCES_DURATION=1m INSTANCES_RATE=50 bash scripts/load-instances.sh
#
# k6 and PostgreSQL as for scripts/ci-load.sh, which runs this as its last step.
set -euo pipefail
cd "$(dirname "$0")/.."

script_name=load-instances
# shellcheck source=scripts/load-lib.sh
source scripts/load-lib.sh
instances="${INSTANCES:-2}"
duration="${INSTANCES_DURATION:-15s}"
# The load test's CI rate: the same small shared machine now runs every instance.
rate="${INSTANCES_RATE:-20}"
export SUMMARY_DIR="${SUMMARY_DIR:-loadtests/results}"

if ! [[ "$instances" =~ ^[0-9]+$ ]] || (( instances < 2 )); then
  echo "load-instances: INSTANCES must be 2 or more, got '$instances'" >&2
  exit 2
fi

database="instances_$(date +%Y%m%d_%H%M%S)_$$"
database_url="postgres://${pg_user}@${pg_host}:${pg_port}/${database}"
server_pids=()
ports=()
balancer_pid=""
database_created=""
started=$SECONDS

free_port() {
  node -e '
    const server = require("node:net").createServer();
    server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close(); });
  '
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  # The balancer first, so that it prints its tally while the servers still answer.
  [[ -n "$balancer_pid" ]] && stop_group "$balancer_pid"
  for pid in "${server_pids[@]}"; do stop_group "$pid" & done
  wait
  [[ -n "$balancer_pid" ]] && tail -n 1 "$SUMMARY_DIR/balancer.log"
  [[ -n "$database_created" ]] && admin_sql "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"
  if [[ $status -eq 0 ]]; then
    echo "load-instances: passed in $((SECONDS - started)) s"
  else
    echo "load-instances: FAILED (exit $status) after $((SECONDS - started)) s; see $SUMMARY_DIR/" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$SUMMARY_DIR"
# A summary left by an earlier run must not stand in for one this run failed to write.
rm -f "$SUMMARY_DIR/instances-summary.json" "$SUMMARY_DIR/balancer.log" \
  "$SUMMARY_DIR"/instance-*.log

if [[ "${SKIP_BUILD:-}" == "1" && -f dist/src/server.js ]]; then
  step "build: reusing dist/ (SKIP_BUILD=1)"
else
  step "build"
  npm run -s build
fi

step "database $database"
pg_isready -h "$pg_host" -p "$pg_port" -q
admin_sql "CREATE DATABASE \"$database\""
database_created=yes
DATABASE_URL="$database_url" npm run -s db:migrate -- --no-backup
DATABASE_URL="$database_url" npm run -s db:seed

step "$instances server processes"
# One token for every instance, as a deployment shares its secrets. Behind one proxy, each
# server takes the client's address from the balancer's X-Forwarded-For (TRUST_PROXY=1).
api_token="$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))')"
export API_TOKEN="$api_token"
for index in $(seq 0 $((instances - 1))); do
  port="$(free_port)"
  ports+=("$port")
  # setsid: a process group of its own, so that stop_group reaches node through npm and sh.
  DATABASE_URL="$database_url" NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
    API_TOKENS="$api_token" RATE_LIMIT=off TRUST_PROXY=1 APP_INSTANCES="$instances" \
    setsid npm start >"$SUMMARY_DIR/instance-$index.log" 2>&1 &
  server_pids+=("$!")
done

# Waits up to 30 s for GET $1/health/ready while process $3 runs; shows the log $2 if in vain.
wait_ready() {
  for _ in $(seq 1 60); do
    if curl -fs --max-time 2 -o /dev/null "$1/health/ready"; then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || break
    sleep 0.5
  done
  echo "load-instances: $1 did not become ready:" >&2
  tail -n 30 "$2" >&2
  return 1
}
upstreams=()
for index in "${!ports[@]}"; do
  wait_ready "http://127.0.0.1:${ports[$index]}" "$SUMMARY_DIR/instance-$index.log" \
    "${server_pids[$index]}"
  upstreams+=(--upstream "http://127.0.0.1:${ports[$index]}")
done
# The start-up connection budget (src/doctor/startup.ts) logs a warning when the instances'
# pools together exceed what PostgreSQL allows.
grep -h "connection budget" "$SUMMARY_DIR"/instance-*.log || true

step "balancer"
balancer_port="$(free_port)"
setsid node scripts/balancer.mjs --port "$balancer_port" "${upstreams[@]}" \
  >"$SUMMARY_DIR/balancer.log" 2>&1 &
balancer_pid=$!
base_url="http://127.0.0.1:${balancer_port}"
wait_ready "$base_url" "$SUMMARY_DIR/balancer.log" "$balancer_pid"
head -n 1 "$SUMMARY_DIR/balancer.log"

step "instances test: $rate iterations/s for $duration through the balancer"
BASE_URL="$base_url" RATE="$rate" DURATION="$duration" \
  node scripts/run-k6.mjs instances --quiet

step "summary"
node scripts/check-load-summary.mjs "$SUMMARY_DIR/instances-summary.json"

# Each server's own count of the API requests it answered (health checks and /metrics aside):
# the balancer spread the load over every instance.
step "requests per instance"
for index in "${!ports[@]}"; do
  answered="$(curl -fs --max-time 5 "http://127.0.0.1:${ports[$index]}/metrics" | awk '
    $1 ~ /^http_requests_total\{/ && $1 !~ /route="\/(health|metrics)/ { sum += $2 }
    END { print sum + 0 }')"
  echo "instance $index (port ${ports[$index]}): $answered API requests"
  if (( answered == 0 )); then
    echo "load-instances: instance $index answered no API request" >&2
    exit 1
  fi
done

# The transfers of every instance went through the same audit triggers: one unbroken hash
# chain, every balance equal to its last entry (docs/security.md, "Audit log").
step "audit log"
DATABASE_URL="$database_url" npm run -s db:audit -- --verify
