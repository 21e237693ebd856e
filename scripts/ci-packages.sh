#!/usr/bin/env bash
# Makes sure the Debian packages some tests drive are installed: Chromium for the browser test
# of /docs (test/e2e/docs.test.ts, through playwright-core) and PgBouncer for the transaction
# pooling tests (test/integration/pgbouncer/). Does nothing for what is already there;
# otherwise installs it with apt-get, printing apt's output only if it fails. CI (.ci/run and
# the workflow) runs it before the tests; locally, without them, those tests are skipped and say
# so (with CI=true they fail instead).
#
#   bash scripts/ci-packages.sh
set -euo pipefail

missing=()
# Without recommended packages (printer setup, desktop notifications...), but with a font family,
# so that a failure's screenshot is legible.
[[ -x /usr/bin/chromium ]] || missing+=(chromium fonts-liberation)
[[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)

as_root=()
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "ci-packages: installing ${missing[*]} needs root or sudo" >&2
      exit 1
    }
    as_root=(sudo)
  fi
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  echo "ci-packages: installing ${missing[*]} with apt-get"
  if ! { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi

# The package starts its own PgBouncer on port 6432 where a service manager runs; the tests
# start theirs on free ports and need none.
if command -v systemctl >/dev/null && systemctl is-active --quiet pgbouncer 2>/dev/null; then
  "${as_root[@]}" systemctl disable --now pgbouncer >/dev/null 2>&1 || true
fi

# Debian's launcher script can print a harmless shell warning while sizing /dev/shm; the exit
# status still tells whether the browser runs.
/usr/bin/chromium --version 2>/dev/null
/usr/sbin/pgbouncer --version | head -n 1
