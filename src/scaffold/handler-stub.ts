/**
 * The text of a new handler file: one exported constant typed with the generated handler interface,
 * so the message, the context and the reply are all checked by the compiler. Pure: no file access.
 */

import { formatType } from "../model/type-number.js";
import type { Side } from "./config.js";

export interface HandlerStubInput {
  /** Service name of the SDK (`Paybox`). */
  readonly service: string;
  readonly side: Side;
  /** TS name of the message, also the handler property (`CoinAck`). */
  readonly messageName: string;
  /** `paybox.CoinAck` */
  readonly fullName: string;
  readonly type: number;
  /** `device → cloud` */
  readonly directionText: string;
  /** TS name of the reply message, when the message has one. */
  readonly replyName: string | undefined;
  /** TS property names of the message's fields, for the TODO. */
  readonly fields: readonly string[];
  /** Exported name of the handler (`coinAck`). */
  readonly identifier: string;
  /** Import specifier of the generated SDK's index from the handler file (`../../generated/index.js`). */
  readonly sdkImport: string;
}

export function handlerInterfaceName(service: string, side: Side): string {
  return `${service}${side === "server" ? "Server" : "Client"}Handlers`;
}

export function facadeFactoryName(service: string, side: Side): string {
  return `create${service}${side === "server" ? "Server" : "Client"}`;
}

export function renderHandlerStub(input: HandlerStubInput): string {
  const handlers = handlerInterfaceName(input.service, input.side);
  const answer =
    input.replyName === undefined
      ? ""
      : `; the returned value is sent back as \`${input.replyName}\` (fields left out take their defaults)`;
  const fields = input.fields.length === 0 ? "" : ` (fields: ${input.fields.join(", ")})`;
  const body = input.replyName === undefined ? "" : "  return {};\n";
  return `import type { ${handlers} } from "${input.sdkImport}";

/** Handles \`${input.fullName}\` (${formatType(input.type)}, ${input.directionText})${answer}. */
export const ${input.identifier}: NonNullable<${handlers}["${input.messageName}"]> = async (_message, _ctx) => {
  // TODO: handle ${input.messageName}${fields}.
${body}};
`;
}
