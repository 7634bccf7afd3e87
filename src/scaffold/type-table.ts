/**
 * The Type table of a model (`paynet-gen types list`): one row per wire message, sorted by Type
 * then direction, printed as an aligned text table or as JSON.
 */

import { formatType } from "../model/type-number.js";
import type { Direction, ProtoModel, Role } from "../model/types.js";

export interface TypeRow {
  /** Wire Type byte. */
  readonly type: number;
  /** `0x01` */
  readonly typeHex: string;
  readonly direction: Direction;
  /** TS name (`RegisterReq`). */
  readonly message: string;
  /** `paybox.RegisterReq` */
  readonly fullName: string;
  /** TS name of the reply, if any. */
  readonly reply: string | null;
  readonly role: Role | null;
  /** proto name of the correlation field, if any. */
  readonly correlation: string | null;
  /** Where the annotation comes from. */
  readonly source: "proto" | "map" | "both";
}

export function typeRows(model: ProtoModel): TypeRow[] {
  const tsNames = new Map(model.messages.map((message) => [message.fullName, message.tsName]));
  return [...model.wire]
    .sort((a, b) => a.wire.type - b.wire.type || a.wire.direction.localeCompare(b.wire.direction, "en"))
    .map(({ message, wire }) => ({
      type: wire.type,
      typeHex: formatType(wire.type),
      direction: wire.direction,
      message: message.tsName,
      fullName: message.fullName,
      reply: wire.reply === undefined ? null : (tsNames.get(wire.reply) ?? wire.reply),
      role: wire.role ?? null,
      correlation: wire.correlationField ?? null,
      source: wire.source,
    }));
}

const COLUMNS: ReadonlyArray<{ readonly title: string; readonly cell: (row: TypeRow) => string }> = [
  { title: "TYPE", cell: (row) => row.typeHex },
  {
    title: "DIRECTION",
    cell: (row) =>
      ({ up: "up   device → cloud", down: "down cloud → device", both: "both device ↔ cloud" })[
        row.direction
      ],
  },
  { title: "MESSAGE", cell: (row) => row.message },
  { title: "REPLY", cell: (row) => row.reply ?? "-" },
  { title: "ROLE", cell: (row) => row.role ?? "-" },
  { title: "CORRELATION", cell: (row) => row.correlation ?? "-" },
];

/** Aligned columns, one line per row, no trailing spaces. */
export function formatTypeTable(rows: readonly TypeRow[]): string {
  if (rows.length === 0)
    return "No annotated messages: add one with `paynet-gen types add <Message> --type 0x01 --direction up`.\n";
  const cells = [
    COLUMNS.map((column) => column.title),
    ...rows.map((row) => COLUMNS.map((column) => column.cell(row))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => [...(line[i] ?? "")].length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => cell + " ".repeat((widths[i] ?? 0) - [...cell].length))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}
