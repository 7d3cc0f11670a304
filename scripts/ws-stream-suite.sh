#!/usr/bin/env bash
# ws's test/create-websocket-stream.test.js against OUR createWebSocketStream (src/adapters/node/stream.ts)
# with the real ws WebSocket/WebSocketServer classes from node_modules/ws.
# Why not just ../shared/ws-suite/run.sh: that test file takes createWebSocketStream from
# require('../lib/stream'), i.e. ws's own, so run.sh's count for it measures ws's function (only the
# first test, "is exposed as a property", looks at the module's). Here lib/stream.js re-exports the
# function under test, and lib/constants.js is the real ws's so EMPTY_BUFFER identity holds.
# usage: scripts/ws-stream-suite.sh [WORKDIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d)/ws-stream-suite}
REALWS=$(cd "$ROOT/node_modules/ws" && pwd)
rm -rf "$W" && mkdir -p "$W" && tar -xzf /work/shared/ws-suite/ws-src.tar.gz -C "$W"
cd "$W" && npm install --silent --no-audit --no-fund --no-save mocha@10 >/dev/null 2>&1
npx --prefix "$ROOT" esbuild "$ROOT/src/adapters/node/stream.ts" --bundle --platform=node --format=cjs \
  --log-level=warning --outfile="$W/under-test.cjs"
cat > index.js <<JS
'use strict';
const realWs = require('$REALWS');
// a subclass (statics inherited) so the real ws class keeps its own createWebSocketStream
class WebSocket extends realWs.WebSocket {}
WebSocket.WebSocket = WebSocket;
WebSocket.createWebSocketStream = require('./under-test.cjs').createWebSocketStream;
module.exports = WebSocket;
JS
echo "module.exports = require('..').createWebSocketStream;" > lib/stream.js
echo "module.exports = require('$REALWS/lib/constants');" > lib/constants.js
npx mocha --exit --reporter spec --timeout 4000 test/create-websocket-stream.test.js
