#!/usr/bin/env bash
# npm run test:ws-suite: ws's own public-API tests (../shared/ws-suite, ws 8.21) against the built
# Node entry, i.e. whatever `require("wasmsocket/node")` resolves to. Fails when fewer tests pass
# than the floor below (the count measured when the README's table was written; raise it as it grows).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOR=${WS_SUITE_FLOOR:-225}
SUITE=${WS_SUITE_DIR:-../shared/ws-suite}
MODULE=$(node -p 'require.resolve("wasmsocket/node")')
out=$(bash "$SUITE/run.sh" "$MODULE" "${1:-$(mktemp -d)/ws-suite}")
echo "$out"
passing=$(echo "$out" | sed -n 's/^ws suite: \([0-9]*\) passing.*/\1/p')
[ -n "$passing" ] && [ "$passing" -ge "$FLOOR" ] || { echo "ws suite: ${passing:-?} passing, below the floor of $FLOOR" >&2; exit 1; }
