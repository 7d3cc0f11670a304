// wasmsocket: WebSocket (RFC 6455) with a WebAssembly SIMD core and a sans-I/O protocol layer.
export { mask, unmask, isValidUtf8, Utf8Validator } from "./core/api.js";
export { FrameScanner, type FrameScannerOptions, type FrameSink } from "./core/frame-scanner.js";
export { init, backendInfo, useBackend, NotInitializedError } from "./core/select.js";
export type { BackendName } from "./core/backend.js";
export { ScanError } from "./core/layout.js";
export { Connection } from "./protocol/connection.js";
export type { ConnectionOptions, BinaryFactory } from "./protocol/options.js";
export type { MessageCodec, ExtensionNegotiator } from "./protocol/extensions/codec.js";
export { webText, type TextCodec } from "./core/text.js";
export type { ConnectionEvent, ReadyState, Clock } from "./protocol/events.js";
export { CloseCode, isValidWireCloseCode } from "./protocol/close-codes.js";
export { Opcode } from "./protocol/opcodes.js";
export { DEFAULT_LIMITS } from "./protocol/limits.js";
export {
  WebSocketError, ProtocolError, InvalidPayloadError, MessageTooBigError, HandshakeError, TimeoutError, InvalidStateError,
  isWebSocketError, isHandshakeError,
} from "./protocol/errors.js";
export type { UpgradeRequest, AcceptOptions } from "./protocol/handshake/server.js";
export { acceptKey } from "./protocol/handshake/accept.js";
export {
  DeflateCodec, deflateForServer, deflateForClient, negotiateServer, clientOffer, validateDeflateResponse,
  type DeflateOptions, type DeflateParams,
} from "./protocol/extensions/permessage-deflate.js";
export type { DeflateEngine, Compressor, Decompressor, DeflateSettings } from "./protocol/extensions/deflate-engine.js";
export { pakoEngine } from "./protocol/extensions/pako-engine.js";
export { overStreams, type StreamPair } from "./adapters/streams/over-streams.js";
export type { UpgradeOptions } from "./adapters/runtime-server.js";
export { WebSocketConnection } from "./adapters/socket.js";
export { ConnectionDriver, type Transport } from "./adapters/driver.js";
export { WhatwgWebSocket, messages, socketStreams, type EventSocket, type FlowSocket } from "./adapters/whatwg.js";
export type { Broker } from "./adapters/broker.js";
export type { PublishData, TopicOptions } from "./adapters/topics.js";
