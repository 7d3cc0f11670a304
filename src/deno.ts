// wasmsocket/deno: the core, plus servers and clients on Deno (src/adapters/deno).
export * from "./index.js";
export { serve } from "./adapters/deno/server.js";
export { connect, type ClientOptions } from "./adapters/deno/client.js";
export type { ServeOptions, Server, ServerAddress } from "./adapters/serve.js";
export type { OnConnection } from "./adapters/runtime-server.js";
export { defaultDeflateEngine as deflateEngine } from "./adapters/deflate.js";
export { RedisBroker, BrokerQueueFullError, type RedisBrokerOptions } from "./adapters/redis-broker.js";
