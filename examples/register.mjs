/**
 * Runs the TypeScript examples in the node process itself:
 * `node --import ./examples/register.mjs examples/paynetd/main.ts`. tsx compiles on the fly with
 * examples/tsconfig.json, whose `paths` resolve @paynet/runtime from source (no build needed).
 *
 * Used instead of the `tsx` command, which starts the program as a child process: `npm run paynetd`
 * then runs node directly, so a SIGTERM or Ctrl-C reaches the program and nothing is left behind.
 */
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("./tsconfig.json", import.meta.url)) });
