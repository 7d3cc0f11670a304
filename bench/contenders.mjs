// Loads the libraries we compare against, each in the configurations ../shared/DESIGN.md §3 names.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
/** A file inside a package, past its "exports" map. */
const inside = (pkg, file) => join(dirname(require.resolve(pkg)), file);

/** Loads ws's modules with or without its native addon (bufferutil), via a fresh module cache. */
export function loadWs(native) {
  for (const k of Object.keys(require.cache)) if (k.includes("/node_modules/ws/") || k.includes("/bufferutil/")) delete require.cache[k];
  const saved = process.env.WS_NO_BUFFER_UTIL;
  if (native) delete process.env.WS_NO_BUFFER_UTIL;
  else process.env.WS_NO_BUFFER_UTIL = "1";
  const mods = {
    Receiver: require(inside("ws", "lib/receiver.js")),
    Sender: require(inside("ws", "lib/sender.js")),
    bufferUtil: require(inside("ws", "lib/buffer-util.js")),
    PerMessageDeflate: require(inside("ws", "lib/permessage-deflate.js")),
  };
  if (saved === undefined) delete process.env.WS_NO_BUFFER_UTIL;
  else process.env.WS_NO_BUFFER_UTIL = saved;
  return mods;
}

export const bufferutil = require("bufferutil");
export const bufferutilFallback = require(inside("bufferutil", "fallback.js"));
export const utf8Validate = require("utf-8-validate");
export const Hybi = require(inside("websocket-driver", "driver/hybi.js"));
