#!/usr/bin/env bash
# The whole test run, as CI runs it: system packages, types, lint, the API reference, unit tests,
# production build, end-to-end tests with raw sockets, browser tests in Chromium, then the unit and
# end-to-end tests again on Node 24 LTS (the other supported runtime).
# Every test file is listed explicitly (Node 20's test runner has no globs), and a run in which no
# test ran fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

step() { printf '\n== %s\n' "$*"; }

# Runs node's test runner on the given files, printing the spec report, and fails when the files
# hold no tests at all. A test that runs 5 minutes without a timeout of its own fails, rather than
# holding the run until CI's limit.
run_tests() {
  local label=$1
  shift
  if [ "$#" -eq 0 ]; then
    echo "no $label test files found" >&2
    exit 1
  fi
  step "$label tests ($# files)"
  local tap
  tap=$(mktemp)
  node --import tsx --test --test-concurrency=1 --test-timeout=300000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "$@"
  local count
  count=$(sed -n 's/^# tests \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
  rm -f "$tap"
  if [ "${count:-0}" -eq 0 ]; then
    echo "no $label tests ran" >&2
    exit 1
  fi
}

step "system packages"
bash scripts/ensure-system-packages.sh

step "type-check"
npm run --silent typecheck

step "lint"
npm run --silent lint

# The package's reference from its TSDoc: an undocumented export, a broken {@link} or any other
# TypeDoc warning fails the run.
step "API reference (typedoc)"
npm run --silent docs:api

mapfile -t unit < <(find lib app docs bench -type f \( -name '*.test.ts' -o -name '*.test.tsx' \) | sort)
run_tests unit "${unit[@]}"

step "production build"
build_log=$(mktemp)
npm run --silent build 2>&1 | tee "$build_log"
# Next only warns about a stylesheet it cannot parse, and the rules after the error are lost.
if grep -q 'Parsing CSS source code failed' "$build_log"; then
  echo "the production build could not parse a stylesheet (see above)" >&2
  exit 1
fi
rm -f "$build_log"

mapfile -t e2e < <(find e2e -type f -name '*.test.ts' | sort)
run_tests end-to-end "${e2e[@]}"

# Playwright fails by itself when it finds no test.
step "browser tests (Chromium: production build, then development server)"
npx playwright test

# Node 24 LTS: the same unit and end-to-end test files again, with Node 24.22.3 first on PATH, so
# the test runner and every server, worker and driver the tests start (process.execPath) run on
# it, against the production build above; better-sqlite3 loads an addon built for Node 24
# (SQLITE_NATIVE_BINDING). scripts/node24.sh takes Node 24 from the npm registry and caches it and
# the addon (a first run fetches it and compiles SQLite: 1.5 to 3 min on 2 cores). The pass takes
# some 7 min (unit 1.5, end-to-end 5.5), every file kept: the end-to-end ones are what start the
# server, dev supervisor, fault drivers and the example's install on Node 24. The browser tests are
# not repeated: Chromium gets the same pages and frames whichever Node serves them.
# Node 24's runner reads file arguments as globs, and leaves out without a word a file that no
# pattern matches, as `[name]` in docs/guide/app/counters/[name]/ (a character class) would not
# match itself: each [, * and ? is escaped as a class of its own.
step "Node 24 LTS"
node24_env=$(bash scripts/node24.sh)
mapfile -t unit24 < <(printf '%s\n' "${unit[@]}" | sed 's/[[*?]/[&]/g')
mapfile -t e2e24 < <(printf '%s\n' "${e2e[@]}" | sed 's/[[*?]/[&]/g')
(
  eval "$node24_env"
  node --version
  run_tests "unit (Node 24)" "${unit24[@]}"
  run_tests "end-to-end (Node 24)" "${e2e24[@]}"
)

step "all tests passed"
