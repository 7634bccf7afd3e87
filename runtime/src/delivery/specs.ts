/**
 * The requests a server delivers at least once, by request and by reply Type: what it needs to
 * match a reply to a pending delivery it did not start itself (started before a restart, or by
 * another process sharing the store), and to judge whether that reply is final.
 */
import type { MessageDef, RequestSpec } from "../codec.js";
import { InvalidOptionsError } from "../errors.js";

/** One delivered request as the delivery engine uses it. */
export interface KnownSpec {
  readonly requestType: number;
  readonly requestName: string;
  readonly replyDef: MessageDef<unknown>;
  readonly replyKey: (reply: unknown) => string;
  /** The spec's `isFinal`, else the `isFinal` of the last delivery started with it, else every reply. */
  isFinal: (reply: unknown) => boolean;
}

const EVERY_REPLY = () => true;

/** See the module comment. */
export class DeliverySpecs {
  readonly #byRequest = new Map<number, KnownSpec>();
  /** By reply Type, in a 256-slot array: every inbound frame of a logged-in device looks here. */
  readonly #byReply: Array<KnownSpec[] | undefined> = new Array(256).fill(undefined);

  /** Learns `spec` (idempotent); `isFinal` of a delivery call is remembered when the spec has none. */
  learn(spec: RequestSpec<unknown, unknown>, isFinal?: (reply: unknown) => boolean): KnownSpec {
    const { requestKey, replyKey } = spec;
    if (requestKey === undefined || replyKey === undefined) {
      throw new InvalidOptionsError(
        `spec ${spec.request.name}`,
        "deliver() needs requestKey and replyKey to match replies to the request",
      );
    }
    const known = this.#byRequest.get(spec.request.type);
    if (known !== undefined) {
      if (known.replyDef.type !== spec.reply.type) {
        throw new InvalidOptionsError(
          `spec ${spec.request.name}`,
          `request Type ${spec.request.type} is delivered with two replies (${known.replyDef.name}, ${spec.reply.name})`,
        );
      }
      if (spec.isFinal === undefined && isFinal !== undefined) known.isFinal = isFinal;
      return known;
    }
    const added: KnownSpec = {
      requestType: spec.request.type,
      requestName: spec.request.name,
      replyDef: spec.reply,
      replyKey,
      isFinal: spec.isFinal ?? isFinal ?? EVERY_REPLY,
    };
    this.#byRequest.set(added.requestType, added);
    const forReply = this.#byReply[added.replyDef.type];
    if (forReply === undefined) this.#byReply[added.replyDef.type] = [added];
    else forReply.push(added);
    return added;
  }

  /** The specs answered by reply Type `type` (undefined: no delivery is answered by it). */
  byReply(type: number): readonly KnownSpec[] | undefined {
    return this.#byReply[type & 0xff];
  }

  /** The reply definition of `type`, when some delivery is answered by it. */
  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#byReply[type & 0xff]?.[0]?.replyDef;
  }
}
