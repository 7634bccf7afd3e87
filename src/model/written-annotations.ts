/**
 * The paynet annotations written in a .proto file, read from its text: what `types add` infers a
 * direction from, even when the protos do not load yet.
 */
import { existingOptions, locate, type MessageOptionKey, messageBlocks, readPackage } from "./proto-text.js";
import type { Direction } from "./types.js";

/** The direction and reply a message's paynet options say, as written in a .proto. */
export interface WrittenAnnotation {
  /** Full name (`paybox.LoginReq`, `pkg.Outer.Inner`). */
  readonly fullName: string;
  readonly direction?: Direction;
  /** Full name of the reply, resolved the simple way (relative names are taken as package-level). */
  readonly reply?: string;
}

// A Map, so that `constructor` written as a direction finds nothing.
const DIRECTION_OF: ReadonlyMap<string, Direction> = new Map([
  ["UPLINK", "up"],
  ["DOWNLINK", "down"],
  ["BOTH", "both"],
]);

/**
 * The `(paynet.direction)` and `(paynet.reply)` options of every message in `source`, read from the
 * text: what `types add` infers a direction from, even when the protos do not load yet.
 */
export function writtenAnnotations(source: string): WrittenAnnotation[] {
  const tokens = locate(source);
  const packageName = readPackage(tokens);
  const qualify = (name: string) =>
    name.startsWith(".")
      ? name.slice(1)
      : packageName && !name.startsWith(`${packageName}.`)
        ? `${packageName}.${name}`
        : name;
  const found: WrittenAnnotation[] = [];
  for (const { names, block } of messageBlocks(source, tokens)) {
    const options = existingOptions(block);
    const value = (key: MessageOptionKey) => {
      const statement = options.get(key)?.tokens;
      const equals = statement?.findIndex((token) => token.text === "=") ?? -1;
      return equals < 0 ? undefined : statement?.[equals + 1];
    };
    const direction = DIRECTION_OF.get(value("direction")?.text ?? "");
    const reply = value("reply");
    found.push({
      fullName: qualify(names.join(".")),
      ...(direction === undefined ? {} : { direction }),
      ...(reply?.kind === "string" ? { reply: qualify(reply.text) } : {}),
    });
  }
  return found;
}
