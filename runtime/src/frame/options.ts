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
  /** Bound of the per-connection outbound queue used while the socket is backed up. */
  outboundQueue?: { maxFrames?: number; maxBytes?: number };
}

export type LengthMode = "type+payload" | "payload";

export const DEFAULT_MAX_FRAME = 65_536;
export const DEFAULT_OUTBOUND_MAX_FRAMES = 1_024;
export const DEFAULT_OUTBOUND_MAX_BYTES = 1_048_576;
