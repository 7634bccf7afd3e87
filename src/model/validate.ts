/**
 * The wire rules: which annotated messages can travel, and whether the Type table they form is
 * consistent (unique Types per direction, replies that exist and answer the other way, matching
 * correlation fields, one message per role).
 */
import type { MessageAnnotation } from "./annotations.js";
import type { EnumDraft, MessageDraft } from "./build.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { compareStrings, formatPosition } from "./diagnostics.js";
import { describeField } from "./field-text.js";
import { checkIdentities } from "./identity-rules.js";
import { replyFinality } from "./reply-finality.js";
import { formatType } from "./type-number.js";
import type { Direction, ReplyFinality, SourcePosition, WireInfo } from "./types.js";

const DIRECTION_NAMES: Record<Direction, string> = { up: "UPLINK", down: "DOWNLINK", both: "BOTH" };
/** Roles the device sends (its login flow and heartbeat), so they travel up. */
const DEVICE_ROLES = new Set(["register", "login", "heartbeat"]);

/** An annotated message that may travel, with its checked Type and direction. */
export interface Candidate {
  readonly fullName: string;
  readonly annotation: MessageAnnotation;
  readonly type: number;
  readonly typePosition: SourcePosition;
  readonly direction: Direction;
}

/**
 * Checks every annotation and returns the wire info of the messages that may travel, by full name.
 * Errors and warnings go to `diagnostics`.
 */
export function validateWire(
  annotations: ReadonlyMap<string, MessageAnnotation>,
  messages: ReadonlyMap<string, MessageDraft>,
  enums: ReadonlyMap<string, EnumDraft>,
  diagnostics: DiagnosticBag,
): Map<string, WireInfo> {
  const sorted = [...annotations.values()].sort((a, b) =>
    compareStrings(a.symbol.fullName, b.symbol.fullName),
  );
  const candidates: Candidate[] = [];
  const invalidCorrelations = new Set<string>();
  for (const annotation of sorted) {
    if (!checkCorrelationField(annotation, messages, diagnostics))
      invalidCorrelations.add(annotation.symbol.fullName);
    const candidate = checkMessage(annotation, diagnostics);
    if (candidate !== undefined) candidates.push(candidate);
  }
  const byName = new Map(candidates.map((c) => [c.fullName, c]));
  checkDuplicateTypes(candidates, diagnostics);
  checkRoles(candidates, diagnostics);
  const finality = new Map<string, ReplyFinality>();
  for (const candidate of candidates) {
    const final = checkReply(candidate, byName, annotations, messages, enums, diagnostics);
    if (final !== undefined) finality.set(candidate.fullName, final);
  }
  checkUnusedCorrelations(
    candidates.filter((c) => !invalidCorrelations.has(c.fullName)),
    annotations,
    diagnostics,
  );
  const identities = checkIdentities(sorted, candidates, messages, diagnostics);

  const wire = new Map<string, WireInfo>();
  for (const { fullName, annotation, type, direction } of candidates) {
    const facts = [
      annotation.type,
      annotation.direction,
      annotation.reply,
      annotation.role,
      annotation.correlation,
      annotation.serial,
      annotation.deviceId,
    ];
    const sources = new Set(facts.filter((f) => f !== undefined).map((f) => f.source));
    const source = sources.size === 1 ? [...sources][0]! : "both";
    wire.set(fullName, {
      type,
      direction,
      ...(annotation.reply === undefined ? {} : { reply: annotation.reply.value }),
      ...(annotation.role === undefined ? {} : { role: annotation.role.value }),
      ...(annotation.correlation === undefined ? {} : { correlationField: annotation.correlation.value }),
      ...identities.get(fullName),
      source,
      ...(finality.has(fullName) ? { replyFinal: finality.get(fullName)! } : {}),
    });
  }
  return wire;
}

function checkMessage(annotation: MessageAnnotation, diagnostics: DiagnosticBag): Candidate | undefined {
  const name = annotation.symbol.fullName;
  const messageFacts = [annotation.type, annotation.direction, annotation.reply, annotation.role].filter(
    (f) => f !== undefined,
  );
  if (messageFacts.length === 0) return undefined;
  if (annotation.symbol.parent !== undefined) {
    diagnostics.error(
      "annotation-not-top-level",
      `${name} is annotated but nested in ${annotation.symbol.parent}: only top-level messages can travel on the wire`,
      messageFacts[0]!.position,
    );
    return undefined;
  }
  const typeFact = annotation.type;
  if (typeFact === undefined) {
    if (annotation.invalid.has("type")) return undefined;
    diagnostics.error(
      "missing-type",
      `message ${name} has paynet annotations but no Type`,
      messageFacts[0]!.position,
    );
    return undefined;
  }
  const typeNumber = typeFact.value;
  if (typeNumber.kind !== "integer") {
    diagnostics.error(
      "type-out-of-range",
      `Type ${typeNumber.text} of message ${name} is not an integer in 1..255`,
      typeFact.position,
    );
    return undefined;
  }
  const type = typeNumber.value;
  if (type < 1 || type > 255) {
    diagnostics.error(
      "type-out-of-range",
      `Type ${typeNumber.text} of message ${name} is out of range 1..255`,
      typeFact.position,
    );
    return undefined;
  }
  if (annotation.direction === undefined) {
    if (annotation.invalid.has("direction")) return undefined;
    diagnostics.error(
      "missing-direction",
      `message ${name} has Type ${formatType(type)} but no direction (UPLINK, DOWNLINK or BOTH)`,
      typeFact.position,
    );
    return undefined;
  }
  if (type >= 0xf0 && type <= 0xfe) {
    diagnostics.warning(
      "reserved-range",
      `Type ${formatType(type)} of message ${name} is in the reserved range 0xF0..0xFE`,
      typeFact.position,
    );
  }
  return {
    fullName: name,
    annotation,
    type,
    typePosition: typeFact.position,
    direction: annotation.direction.value,
  };
}

/** Whether the correlation field (if any) can be one: reported when it cannot. */
function checkCorrelationField(
  annotation: MessageAnnotation,
  messages: ReadonlyMap<string, MessageDraft>,
  diagnostics: DiagnosticBag,
): boolean {
  const fact = annotation.correlation;
  if (fact === undefined) return true;
  const field = messages.get(annotation.symbol.fullName)?.fields.find((f) => f.protoName === fact.value);
  if (field === undefined) return true;
  if (field.repeated || field.mapKey !== undefined || field.value.kind === "message") {
    diagnostics.error(
      "correlation-invalid-field",
      `correlation field ${annotation.symbol.fullName}.${field.protoName} must be a single scalar or enum value, not ${describeField(field)}`,
      fact.position,
    );
    return false;
  }
  return true;
}

function overlaps(a: Direction, b: Direction): boolean {
  return a === b || a === "both" || b === "both";
}

function comparePositions(a: SourcePosition, b: SourcePosition): number {
  return compareStrings(a.file, b.file) || a.line - b.line || a.column - b.column;
}

function checkDuplicateTypes(candidates: readonly Candidate[], diagnostics: DiagnosticBag): void {
  const inOrder = [...candidates].sort(
    (a, b) => comparePositions(a.typePosition, b.typePosition) || compareStrings(a.fullName, b.fullName),
  );
  for (let j = 0; j < inOrder.length; j++) {
    const later = inOrder[j]!;
    const earlier = inOrder
      .slice(0, j)
      .find((c) => c.type === later.type && overlaps(c.direction, later.direction));
    if (earlier === undefined) continue;
    diagnostics.error(
      "duplicate-type",
      `Type ${formatType(later.type)} is used by ${earlier.fullName} (${DIRECTION_NAMES[earlier.direction]}, ${formatPosition(earlier.typePosition)}) ` +
        `and ${later.fullName} (${DIRECTION_NAMES[later.direction]}, ${formatPosition(later.typePosition)}); a Type must be unique per direction`,
      later.typePosition,
    );
  }
}

function checkRoles(candidates: readonly Candidate[], diagnostics: DiagnosticBag): void {
  const withRole = candidates
    .filter((c) => c.annotation.role !== undefined)
    .sort(
      (a, b) =>
        comparePositions(a.annotation.role!.position, b.annotation.role!.position) ||
        compareStrings(a.fullName, b.fullName),
    );
  const first = new Map<string, Candidate>();
  for (const candidate of withRole) {
    const role = candidate.annotation.role!;
    const roleName = role.value.toUpperCase();
    const earlier = first.get(role.value);
    if (earlier !== undefined) {
      diagnostics.error(
        "duplicate-role",
        `role ${roleName} is given to ${earlier.fullName} (${formatPosition(earlier.annotation.role!.position)}) and to ${candidate.fullName}; each role belongs to one message`,
        role.position,
      );
      continue;
    }
    first.set(role.value, candidate);
    if (DEVICE_ROLES.has(role.value) && candidate.direction === "down") {
      diagnostics.warning(
        "role-direction",
        `${candidate.fullName} has role ${roleName}, which the device sends, but travels DOWNLINK`,
        role.position,
      );
    }
    if (DEVICE_ROLES.has(role.value) && candidate.annotation.reply === undefined) {
      diagnostics.warning(
        "role-missing-reply",
        `${candidate.fullName} has role ${roleName} but no reply`,
        role.position,
      );
    }
  }
}

function checkReply(
  request: Candidate,
  candidates: ReadonlyMap<string, Candidate>,
  annotations: ReadonlyMap<string, MessageAnnotation>,
  messages: ReadonlyMap<string, MessageDraft>,
  enums: ReadonlyMap<string, EnumDraft>,
  diagnostics: DiagnosticBag,
): ReplyFinality | undefined {
  const replyFact = request.annotation.reply;
  if (replyFact === undefined) return undefined;
  const replyName = replyFact.value;
  const reply = candidates.get(replyName);
  if (reply === undefined) {
    // A reply with a Type that failed its own checks has been reported already.
    const target = annotations.get(replyName);
    if (target?.type === undefined && !target?.invalid.has("type")) {
      diagnostics.error(
        "reply-untyped",
        `reply ${replyName} of message ${request.fullName} has no Type`,
        replyFact.position,
      );
    }
    return undefined;
  }
  if (request.direction !== "both" && reply.direction === request.direction) {
    diagnostics.error(
      "reply-direction",
      `reply ${replyName} of message ${request.fullName} travels ${DIRECTION_NAMES[reply.direction]} like its request; a reply must travel the other way`,
      replyFact.position,
    );
  }
  if (request.direction === "both" && reply.direction !== "both") {
    // The request arrives on both sides, and each answers the other way; a one-way reply leaves one
    // side registering a reply its peer cannot decode.
    const stuck = reply.direction === "down" ? "device" : "cloud";
    const oneWay = reply.direction === "down" ? "UPLINK" : "DOWNLINK";
    diagnostics.error(
      "reply-direction",
      `reply ${replyName} of message ${request.fullName} travels only ${DIRECTION_NAMES[reply.direction]}, but ${request.fullName} travels BOTH ways: ` +
        `the ${stuck}, which also receives ${request.fullName}, could not send ${replyName} back; make ${replyName} BOTH or ${request.fullName} ${oneWay}`,
      replyFact.position,
    );
  }
  const requestField = request.annotation.correlation?.value;
  const replyCorrelation = reply.annotation.correlation;
  if (requestField === undefined) {
    if (replyCorrelation !== undefined) {
      diagnostics.warning(
        "correlation-one-sided",
        `${replyName}.${replyCorrelation.value} is a correlation field but its request ${request.fullName} has none: replies to ${request.fullName} are not matched by it`,
        replyCorrelation.position,
      );
    }
    return undefined;
  }
  const replyField = replyCorrelation?.value;
  if (replyField === undefined) {
    diagnostics.error(
      "correlation-missing",
      `${request.fullName} correlates by field ${requestField} but its reply ${replyName} has no correlation field`,
      replyFact.position,
    );
    return undefined;
  }
  const a = messages.get(request.fullName)?.fields.find((f) => f.protoName === requestField);
  const b = messages.get(replyName)?.fields.find((f) => f.protoName === replyField);
  if (a === undefined || b === undefined) return undefined;
  if (describeField(a) !== describeField(b)) {
    diagnostics.error(
      "correlation-type-mismatch",
      `correlation field ${request.fullName}.${requestField} is ${describeField(a)} but ${replyName}.${replyField} of its reply is ${describeField(b)}`,
      replyFact.position,
    );
    return undefined;
  }
  // Delivered at least once by the cloud: the reply must tell when the delivery is over.
  if (request.direction === "up") return undefined;
  return replyFinality(
    request.fullName,
    replyName,
    replyField,
    replyFact.position,
    messages,
    enums,
    diagnostics,
  );
}

/**
 * A correlation field only matters on a request (it has a reply) or on a reply (some request names
 * it). Only messages that can travel are checked: the others have been reported already.
 */
function checkUnusedCorrelations(
  candidates: readonly Candidate[],
  annotations: ReadonlyMap<string, MessageAnnotation>,
  diagnostics: DiagnosticBag,
): void {
  const replies = new Set(
    [...annotations.values()].flatMap((a) => (a.reply === undefined ? [] : [a.reply.value])),
  );
  for (const { annotation } of candidates) {
    const correlation = annotation.correlation;
    if (correlation === undefined || annotation.reply !== undefined || annotation.invalid.has("reply"))
      continue;
    const name = annotation.symbol.fullName;
    if (replies.has(name)) continue;
    diagnostics.warning(
      "correlation-unused",
      `${name}.${correlation.value} is a correlation field but ${name} is neither a request (no reply) nor the reply of one: the field is not used`,
      correlation.position,
    );
  }
}
