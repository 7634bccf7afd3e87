import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ScaffoldError } from "../../src/scaffold/errors.js";
import { inspectIndex, registerHandlers } from "../../src/scaffold/handlers-index.js";
import { tempDir } from "./cli.js";

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

describe("handlers objects with spread elements", () => {
  const files = (entries: Record<string, string>) => {
    const { dir, remove } = tempDir("spread");
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
    return { dir, remove };
  };
  const BASE =
    "export const base = { Ping: async () => ({ timestamp: 1n }) };\nexport const maybe: { Ping?: () => void } = {};\n";
  const index = (spread: string) =>
    `import type { PayboxServerHandlers } from "./g.js";\nimport { base, maybe } from "./base.js";\n\nexport const h: PayboxServerHandlers = {\n  ${spread},\n  LoginReq: login,\n};\n`;

  it("counts the keys a spread always brings as registered, so they are never overridden", () => {
    const { dir, remove } = files({ "base.ts": BASE });
    try {
      const path = join(dir, "index.ts");
      const text = index("...base");
      expect(inspectIndex(text, path, TYPE, FACTORY).properties).toEqual(new Set(["Ping", "LoginReq"]));
      expect(registerHandlers(text, path, TYPE, FACTORY, [ping])).toBe(text);
      // Keys the spread does not bring are added after it as usual.
      expect(registerHandlers(text, path, TYPE, FACTORY, [ping, coinAck])).toContain(
        "  LoginReq: login,\n  CoinAck: coinAck,\n};",
      );
    } finally {
      remove();
    }
  });

  it("refuses when a spread may hold the handler or its keys are unknown", () => {
    const { dir, remove } = files({ "base.ts": BASE });
    try {
      const path = join(dir, "index.ts");
      expect(() => registerHandlers(index("...maybe"), path, TYPE, FACTORY, [ping])).toThrow(
        /spreads `maybe`, whose type declares Ping as optional, so it may already hold a handler for it; add Ping by hand or remove the spread/,
      );
      const unknown = index("...makeBase()");
      const error = (() => {
        try {
          registerHandlers(unknown, path, TYPE, FACTORY, [ping]);
        } catch (caught) {
          return caught as ScaffoldError;
        }
        return undefined;
      })();
      expect(error?.code).toBe("INDEX_SPREAD");
      expect(error?.message).toBe(
        `the handlers object in ${path} spreads \`makeBase()\`, whose keys cannot be determined (its type did not resolve); add Ping by hand or remove the spread`,
      );
      // A conditional spread brings its keys only sometimes.
      expect(() =>
        registerHandlers(index("...(process.env.X ? base : {})"), path, TYPE, FACTORY, [ping]),
      ).toThrow(/may already hold a handler for it; add Ping by hand/);
    } finally {
      remove();
    }
  });
});
