#!/usr/bin/env bash
# The whole test suite: lint, type-check, unit tests, then integration tests against real
# wharfd daemons (root: real runc, conmon, overlay mounts, bridges and firewall rules).
# Ends with one line: "N passed, M failed[, K skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
status=0

echo "==> lint"
npm run --silent lint || status=1
echo "==> typecheck (tests included)"
npx tsc -p tsconfig.test.json || status=1
echo "==> build"
npm run --silent build || status=1

echo "==> unit + integration tests"
npx vitest run --reporter=default --reporter=json --outputFile.json="$out/results.json" || status=1

node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const skipped = r.numPendingTests + (r.numTodoTests || 0);
let line = `${r.numPassedTests} passed, ${r.numFailedTests} failed`;
if (skipped) line += `, ${skipped} skipped`;
console.log(line);
' "$out/results.json" || { echo "0 passed, 1 failed"; status=1; }
rm -rf "$out"
exit $status
