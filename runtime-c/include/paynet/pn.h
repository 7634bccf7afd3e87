/*
 * paynet C runtime: common definitions.
 *
 * The runtime never allocates (no malloc), starts no threads and keeps no global state: every
 * buffer belongs to the caller and every object lives where the caller puts it (static storage,
 * stack, a struct of the application). Functions report what happened with a pn_status; the
 * names of the statuses match the error codes of the TypeScript runtime where both have one.
 */
#ifndef PAYNET_PN_H
#define PAYNET_PN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Outcome of a runtime call: PN_OK (0), PN_AGAIN (1, not yet: call again later), or an error (< 0). */
typedef enum pn_status {
  PN_OK = 0,
  /** Not done yet, nothing failed: the transport would block, or a step is still in progress. */
  PN_AGAIN = 1,
  /** The output buffer is too small for what is written into it. */
  PN_ERR_OVERFLOW = -1,
  /** The input ends inside a value (a varint, a fixed value or a length-delimited field). */
  PN_ERR_TRUNCATED = -2,
  /** The input is not valid protobuf: a varint over 10 bytes, a bad wire type or field number. */
  PN_ERR_MALFORMED = -3,
  /** A string/bytes value over its (paynet.max_size), or more elements than its (paynet.max_count). */
  PN_ERR_BOUND = -4,
  /** A proto2 `required` field is missing. */
  PN_ERR_MISSING_REQUIRED = -5,
  /** A frame header announced more bytes than the receive buffer holds; the link is closed. */
  PN_ERR_FRAME_TOO_LARGE = -6,
  /** The byte stream violates the framing rules (Len 0); the link is closed. */
  PN_ERR_PROTOCOL = -7,
  /** The transport failed (socket error, DNS, connection refused). */
  PN_ERR_IO = -8,
  /** The TLS handshake or a TLS record failed (certificate refused, alert). */
  PN_ERR_TLS = -9,
  /** The peer closed the connection. */
  PN_ERR_CLOSED = -10,
  /** TCP connect plus TLS handshake took longer than connect_timeout_ms. */
  PN_ERR_CONNECT_TIMEOUT = -11,
  /** No register/login reply within login_timeout_ms. */
  PN_ERR_LOGIN_TIMEOUT = -12,
  /** The server refused the register or login step (its reply carried a non-zero code). */
  PN_ERR_LOGIN_REFUSED = -13,
  /** Nothing was received for heartbeat_timeout_ms: the peer is taken as dead. */
  PN_ERR_HEARTBEAT_TIMEOUT = -14,
  /** A frame of a Type this device does not know. */
  PN_ERR_UNKNOWN_TYPE = -15,
  /** The outbound buffer has no room for the frame now (it drains as the transport sends). */
  PN_ERR_QUEUE_FULL = -16,
  /** Sending needs a logged-in connection. */
  PN_ERR_NOT_CONNECTED = -17,
  /** The storage of the command record failed: the command must not run. */
  PN_ERR_STORAGE = -18,
  /** Every record slot holds a command still running: a new command cannot be recorded. */
  PN_ERR_RECORD_FULL = -19,
  /** An argument is out of range (documented per function). */
  PN_ERR_INVALID = -20,
  /** The client was stopped. */
  PN_ERR_STOPPED = -21
} pn_status;

/** Stable name of a status: "OK", "AGAIN", "FRAME_TOO_LARGE", "HEARTBEAT_TIMEOUT", ... */
const char *pn_status_name(pn_status status);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_H */
