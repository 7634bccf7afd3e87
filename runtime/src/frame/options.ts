/** Framing options shared by server, client and codec. */
export interface FrameOptions {
  /**
   * Largest accepted value of Len (bytes after the 4-byte Len field). Checked on the header, before
   * any body byte is buffered. Default 65 536.
   */
  maxFrame?: number;
  /**
   * What Len counts. `type+payload` (default, the paybox protocol): 1 + payload length.
   * `payload`: payload length only, for peers built that way.
   */
  lengthMode?: LengthMode;
  /**
   * Bound of the per-connection outbound queue used while the socket is backed up; a send beyond
   * it fails with `QueueFullError('outbound')`. Defaults 1 024 frames and 1 MiB.
   */
  outboundQueue?: { maxFrames?: number; maxBytes?: number };
}

/**
 * What the 4-byte Len of a frame counts: `type+payload` (1 + payload length, the paybox protocol
 * and the default) or `payload` (payload length only, for peers built that way).
 */
export type LengthMode = "type+payload" | "payload";

/** Default largest Len accepted: 64 KiB. A larger Len (or Len 0) is a protocol error. */
export const DEFAULT_MAX_FRAME = 65_536;
/** Default bound, in frames, of the outbound queue of a connection whose socket is backed up. */
export const DEFAULT_OUTBOUND_MAX_FRAMES = 1_024;
/** Default bound, in wire bytes (1 MiB), of the outbound queue of a backed-up connection. */
export const DEFAULT_OUTBOUND_MAX_BYTES = 1_048_576;
