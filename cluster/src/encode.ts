import { EncodeError, type MessageDef } from "@paynet/runtime";

/** Encodes `message` once; a throwing codec becomes an `EncodeError` naming message and peer. */
export function encodeMessage<T>(def: MessageDef<T>, message: T, peer: string): Uint8Array {
  try {
    return def.codec.encode(message);
  } catch (cause) {
    // A broken size bound already names message, field and limit, and keeps its own code.
    if (cause instanceof EncodeError) throw cause;
    throw new EncodeError(
      `cannot encode ${def.name}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        peer,
        frameType: def.type,
        messageName: def.name,
        cause,
      },
    );
  }
}
