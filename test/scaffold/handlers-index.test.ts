import { describe, expect, it } from "vitest";
import { inspectIndex, registerHandlers } from "../../src/scaffold/handlers-index.js";

const TYPE = "PayboxServerHandlers";
const FACTORY = "createPayboxServer";
const coinAck = { property: "CoinAck", identifier: "coinAck", module: "./coin-ack.js" };
const ping = { property: "Ping", identifier: "ping", module: "./ping.js" };

const INDEX = `// Handlers of the cloud side. Keep this list sorted by hand!
import type { PayboxServerHandlers } from "../../generated/index.js";
import { loginReq } from "./login-req.js"; // login

/** Everything the cloud answers. */
export const serverHandlers: PayboxServerHandlers = {
  // registration is special
  RegisterReq: async () => ({ deviceId: "x" }),
  LoginReq: loginReq, // keeps a trailing comment
};
`;

describe("registerHandlers", () => {
  it("adds the import after the last import and the property after the last one, keeping comments", () => {
    const edited = registerHandlers(INDEX, "index.ts", TYPE, FACTORY, [coinAck]);
    expect(edited).toBe(
      INDEX.replace("// login\n", '// login\nimport { coinAck } from "./coin-ack.js";\n').replace(
        "// keeps a trailing comment\n",
        "// keeps a trailing comment\n  CoinAck: coinAck,\n",
      ),
    );
    expect(registerHandlers(edited, "index.ts", TYPE, FACTORY, [coinAck])).toBe(edited);
    expect(inspectIndex(edited, "index.ts", TYPE, FACTORY).properties).toEqual(
      new Set(["RegisterReq", "LoginReq", "CoinAck"]),
    );
  });

  it("adds the missing trailing comma and follows single quotes without semicolons", () => {
    const text =
      "import type { PayboxServerHandlers } from '../gen/index.js'\n\nexport default {\n    LoginReq: login // c\n} satisfies PayboxServerHandlers\n";
    expect(registerHandlers(text, "index.ts", TYPE, FACTORY, [coinAck, ping])).toBe(
      "import type { PayboxServerHandlers } from '../gen/index.js'\nimport { coinAck } from './coin-ack.js'\nimport { ping } from './ping.js'\n\nexport default {\n    LoginReq: login, // c\n    CoinAck: coinAck,\n    Ping: ping,\n} satisfies PayboxServerHandlers\n",
    );
  });

  it("fills an empty object and a one-line object", () => {
    const empty =
      'import type { PayboxServerHandlers } from "./g.js";\nexport const h: PayboxServerHandlers = {};\n';
    expect(registerHandlers(empty, "index.ts", TYPE, FACTORY, [coinAck])).toBe(
      'import type { PayboxServerHandlers } from "./g.js";\nimport { coinAck } from "./coin-ack.js";\nexport const h: PayboxServerHandlers = {\n  CoinAck: coinAck,\n};\n',
    );
    const oneLine =
      'import type { PayboxServerHandlers } from "./g.js";\nexport const h: PayboxServerHandlers = { Ping: ping };\n';
    expect(registerHandlers(oneLine, "index.ts", TYPE, FACTORY, [coinAck])).toContain(
      "{ Ping: ping, CoinAck: coinAck }",
    );
  });

  it("finds the object passed to the facade and counts methods and shorthands as handlers", () => {
    const text = `import { createPayboxServer } from "./g.js";\nconst Ping = () => {};\ncreatePayboxServer(options, {\n  Ping,\n  CoinAck(message, ctx) {},\n});\n`;
    expect(inspectIndex(text, "main.ts", TYPE, FACTORY).properties).toEqual(new Set(["Ping", "CoinAck"]));
    expect(registerHandlers(text, "main.ts", TYPE, FACTORY, [coinAck, ping])).toBe(text);
  });

  it("explains what it looked for when there is no handlers object", () => {
    expect(() =>
      inspectIndex("export const x = 1;\n", "src/handlers/server/index.ts", TYPE, FACTORY),
    ).toThrow(
      /src\/handlers\/server\/index.ts has no handlers object: expected an object literal typed as PayboxServerHandlers/,
    );
  });
});
