/**
 * @packageDocumentation
 * `@paynet/runtime`: frames (`Len | Type | protobuf`) over TLS 1.3 / mTLS for payment devices and
 * their cloud service. Generated SDKs build on it; it knows nothing about any particular protocol.
 */

export * from "./client/client.js";
export * from "./client/types.js";
export * from "./codec.js";
export * from "./connection.js";
export * from "./delivery/file-store.js";
export * from "./delivery/idempotency.js";
export * from "./delivery/pending.js";
export * from "./delivery/replies.js";
export * from "./delivery/reply-queue.js";
export * from "./delivery/types.js";
export * from "./errors.js";
export * from "./frame/decoder.js";
export * from "./frame/encoder.js";
export * from "./frame/options.js";
export * from "./logger.js";
export * from "./registry.js";
export * from "./server/cluster.js";
export * from "./server/directory.js";
export * from "./server/server.js";
export * from "./server/types.js";
export * from "./stats.js";
export * from "./timers.js";
export {
  CERTIFICATE_REJECTIONS,
  type CertificateRejection,
  type StaleCrlPolicy,
} from "./tls/trust-policy.js";
