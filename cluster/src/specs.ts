/** The requests a cluster carries between nodes, by request and by reply Type. */
import { InvalidOptionsError, type MessageDef, type RequestSpec } from "@paynet/runtime";
import type { ClusterSpec } from "./options.js";

/** Lookup of {@link ClusterSpec}s; see `RedisClusterOptions.specs`. */
export class SpecTable {
  readonly #byRequest = new Map<number, ClusterSpec>();
  /** By reply Type, in a 256-slot array: every inbound frame of a logged-in device looks here. */
  readonly #byReply: Array<ClusterSpec[] | undefined> = new Array(256).fill(undefined);

  constructor(specs: readonly ClusterSpec[]) {
    for (const spec of specs) {
      const known = this.#byRequest.get(spec.request.type);
      if (known !== undefined && known.reply.type !== spec.reply.type) {
        throw new InvalidOptionsError(
          "specs",
          `${spec.request.name} is listed twice with different replies (${known.reply.name}, ${spec.reply.name})`,
        );
      }
      this.#byRequest.set(spec.request.type, spec);
      const forReply = this.#byReply[spec.reply.type] ?? [];
      forReply.push(spec);
      this.#byReply[spec.reply.type] = forReply;
    }
  }

  /** The listed spec of `spec`'s request; throws `InvalidOptionsError` when it is not listed. */
  require<Req, Rep>(spec: RequestSpec<Req, Rep>, use: string): ClusterSpec {
    const listed = this.#byRequest.get(spec.request.type);
    if (listed === undefined || listed.reply.type !== spec.reply.type) {
      throw new InvalidOptionsError(
        `spec ${spec.request.name}`,
        `${use} across the cluster needs the spec in redisCluster({ specs: [...] }) so every node can carry it`,
      );
    }
    return listed;
  }

  byRequest(type: number): ClusterSpec | undefined {
    return this.#byRequest.get(type);
  }

  byReply(type: number): readonly ClusterSpec[] | undefined {
    return this.#byReply[type & 0xff];
  }

  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#byReply[type & 0xff]?.[0]?.reply as MessageDef<unknown> | undefined;
  }
}

/** Whether `reply` ends a delivery of `spec` (every reply does when the spec has no `isFinal`). */
export function isFinalReply(spec: ClusterSpec, reply: unknown): boolean {
  return spec.isFinal === undefined ? true : spec.isFinal(reply);
}
