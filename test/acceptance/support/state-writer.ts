/**
 * A process that rewrites a paynetd state file without pause, for the crash test: it registers
 * devices in batches of 200, flushes after each batch and prints `written N` (N devices in the file)
 * once the write completed, until it is killed.
 */
import { PaynetdState } from "../../../examples/paynetd/state.js";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: state-writer.ts STATE_FILE");
const state = PaynetdState.open({ path, writer: { delayMs: 0 } });
for (let batch = 0; batch < 400; batch++) {
  for (let i = 0; i < 200; i++) state.register(`SN-${batch}-${i}`);
  await state.flush();
  process.stdout.write(`written ${state.size.devices}\n`);
}
