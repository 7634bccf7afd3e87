import { Flags } from "@oclif/core";

/**
 * `-I/--proto-path DIR`, shared by every command that loads protos: the same letter, wording and
 * parsing everywhere. Non-greedy, so that positional proto files may follow it.
 */
export function protoPathFlag(note = "") {
  return Flags.string({
    char: "I",
    description: `directory to resolve imports from (repeatable)${note}`,
    multiple: true,
    multipleNonGreedy: true,
    helpValue: "DIR",
  });
}
