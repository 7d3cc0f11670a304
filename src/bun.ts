// wasmsocket/bun: the core, plus servers and clients on Bun (src/adapters/bun).
export * from "./index.js";
export { serve } from "./adapters/bun/server.js";
export { connect, type ClientOptions } from "./adapters/bun/client.js";
export type { ServeOptions, Server, ServerAddress } from "./adapters/serve.js";
export type { OnConnection } from "./adapters/runtime-server.js";
export { defaultDeflateEngine as deflateEngine } from "./adapters/deflate.js";
export { RedisBroker, BrokerQueueFullError, type RedisBrokerOptions } from "./adapters/redis-broker.js";
