import { describe, expect, it } from "vitest";
import { DuplicateRegistrationError, InvalidOptionsError } from "../../runtime/src/errors.js";
import { Registry } from "../../runtime/src/registry.js";
import { PaynetServer } from "../../runtime/src/server/server.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import { AckDef, CommandDef, PingDef } from "../helpers/messages.js";

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("Registry", () => {
  it("refuses a second registration of the same Type with DuplicateRegistrationError naming both", () => {
    const registry = new Registry<ServerContext>().register(CommandDef, { handler: () => undefined });
    const error = thrown(() => registry.register({ ...AckDef, type: CommandDef.type }));
    expect(error).toBeInstanceOf(DuplicateRegistrationError);
    expect(error).toMatchObject({
      code: "DUPLICATE_REGISTRATION",
      message: "type 0x04 is already registered to paytest.Command; cannot register paytest.Ack",
    });
    // The first registration is untouched.
    expect(registry.get(CommandDef.type)?.def).toBe(CommandDef);
    expect(registry.types()).toEqual([CommandDef.type]);
  });

  it("refuses the same message registered twice", () => {
    const registry = new Registry().register(PingDef);
    expect(thrown(() => registry.register(PingDef))).toBeInstanceOf(DuplicateRegistrationError);
  });

  it.each([0, 256, -1, 1.5, Number.NaN])("refuses Type %s (only 1..255 fit the Type byte)", (type) => {
    const error = thrown(() => new Registry().register({ ...PingDef, type }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe(
      `invalid option type of paytest.Ping: expected an integer 1..255, got ${type}`,
    );
  });

  it("accepts the bounds 1 and 255, and looks registrations up by Type", () => {
    const registry = new Registry()
      .register({ ...PingDef, type: 1 })
      .register({ ...AckDef, type: 255 }, { reply: PingDef });
    expect(registry.has(1)).toBe(true);
    expect(registry.has(255)).toBe(true);
    expect(registry.has(2)).toBe(false);
    expect(registry.get(255)?.reply).toBe(PingDef);
    expect(registry.get(0)).toBeUndefined();
    expect(registry.types()).toEqual([1, 255]);
  });

  it("a duplicate is a startup error: the server is never constructed around a broken registry", () => {
    const build = () =>
      new PaynetServer({
        tls: { cert: "unused", key: "unused" },
        registry: new Registry<ServerContext>().register(PingDef).register(PingDef),
      });
    expect(thrown(build)).toBeInstanceOf(DuplicateRegistrationError);
  });
});
