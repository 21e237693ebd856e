#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser test of /docs (test/e2e/docs.test.ts,
# which drives /usr/bin/chromium through playwright-core). Does nothing when it is already there;
# otherwise installs the `chromium` package with apt-get, printing apt's output only if it fails.
# CI (.ci/run) runs it before the tests; locally, without Chromium, that test is skipped and
# says so.
#
#   bash scripts/ci-browser.sh
set -euo pipefail

chromium=/usr/bin/chromium
[[ -x "$chromium" ]] && exit 0

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "ci-browser: installing chromium needs root or sudo" >&2; exit 1; }
  as_root=(sudo)
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "ci-browser: installing chromium with apt-get"
# Without recommended packages (printer setup, desktop notifications...), but with a font
# family, so that a failure's screenshot is legible.
if ! { "${as_root[@]}" apt-get update -qq &&
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
# Debian's launcher script can print a harmless shell warning while sizing /dev/shm; the exit
# status still tells whether the browser runs.
"$chromium" --version 2>/dev/null
