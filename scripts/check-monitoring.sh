#!/usr/bin/env bash
# Validates the Prometheus side of monitoring/ with promtool, as CI (.ci/run) and
# `npm run check:monitoring` run it:
#   1. promtool check config   monitoring/prometheus/prometheus.yml (and the rule files it loads)
#   2. promtool check rules    monitoring/prometheus/database.rules.yml
#   3. promtool test rules     monitoring/prometheus/database.rules.test.yml: each alert fires on
#                              series that should fire it, and only on those
# The metric names the dashboard and the rules use are checked by vitest
# (test/unit/monitoring/monitoring.test.ts), not here.
#
# promtool comes from PATH. Without it, on Debian or Ubuntu, this installs the `prometheus`
# package quietly (as root, or through sudo); on a machine with systemd that package also
# starts a Prometheus service, so install promtool yourself there if you don't want one.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=monitoring/prometheus

if ! command -v promtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "promtool is not on PATH and apt-get is not available: install Prometheus's promtool" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing promtool (apt-get install prometheus)"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version 2>&1 | head -n 1

# prometheus.yml reads the scrape token from /tmp/metrics-token, a file the compose file writes
# inside the container. `check config` insists that file exists, so check a copy that points at
# an empty one beside it: everything else, the rule files included, gets the full check.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$dir"/*.yml "$work"/
: >"$work/metrics-token"
sed "s#credentials_file: /tmp/metrics-token#credentials_file: $work/metrics-token#" \
  "$dir/prometheus.yml" >"$work/prometheus.yml"
if ! grep -q "credentials_file: $work/metrics-token" "$work/prometheus.yml"; then
  echo "$dir/prometheus.yml: expected credentials_file: /tmp/metrics-token" >&2
  exit 1
fi

promtool check config "$work/prometheus.yml"
promtool check rules --lint=all --lint-fatal "$dir/database.rules.yml"
promtool test rules "$dir/database.rules.test.yml"
