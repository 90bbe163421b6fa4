#!/usr/bin/env bash
# The whole test run, as CI runs it: system packages, types, lint, the API reference, unit tests,
# production build, end-to-end tests with raw sockets, then browser tests in Chromium.
# Every test file is listed explicitly (Node 20's test runner has no globs), and a run in which no
# test ran fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

step() { printf '\n== %s\n' "$*"; }

# Runs node's test runner on the given files, printing the spec report, and fails when the files
# hold no tests at all.
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
  node --import tsx --test --test-concurrency=1 \
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
npm run --silent build

mapfile -t e2e < <(find e2e -type f -name '*.test.ts' | sort)
run_tests end-to-end "${e2e[@]}"

# Playwright fails by itself when it finds no test.
step "browser tests (Chromium: production build, then development server)"
npx playwright test

step "all tests passed"
