// The loader reads the forms nearly every user is written in (`bob: deactivated`, or a map of state,
// displayname, admin, locked, allowReactivation) straight from the YAML tree, without zod, for speed
// at scale (see bench/). This pins that shortcut to the schema: for any user value, the loader must
// give exactly what the zod schema and the loader's own rules say, or refuse what they refuse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigError, parseDesiredState } from "../../src/config/load.js";
import { userValueSchema } from "../../src/config/schema.js";
import type { DesiredUser } from "../../src/domain/desired.js";

const S = "example.org";
const fileWith = (value: string) => `version: 1\nusers:\n  alice:${value}\n`;

/** What the general path makes of a plain value: the schema, then "attributes only on active users". */
function expected(value: unknown): Omit<DesiredUser, "source"> | "refused" {
  const parsed = userValueSchema.safeParse(value);
  if (!parsed.success) return "refused";
  const userId = `@alice:${S}`;
  if (typeof parsed.data === "string") return { userId, index: 0, state: parsed.data, allowReactivation: false };
  const data = parsed.data;
  const attributes = [
    "displayname",
    "admin",
    "locked",
    "emails",
    "externalIds",
    "password",
    "allowReactivation",
  ] as const;
  if (data.state !== "active" && attributes.some((a) => data[a] !== undefined)) return "refused";
  const user: Omit<DesiredUser, "source"> = {
    userId,
    index: 0,
    state: data.state,
    allowReactivation: data.allowReactivation ?? false,
  };
  if (data.displayname !== undefined) user.displayname = data.displayname;
  if (data.admin !== undefined) user.admin = data.admin;
  if (data.locked !== undefined) user.locked = data.locked;
  if (data.emails !== undefined) user.emails = data.emails.map((e) => e.toLowerCase());
  if (data.externalIds !== undefined) user.externalIds = data.externalIds;
  // The schema lets exactly one of env and file through.
  if (data.password !== undefined) user.password = data.password as DesiredUser["password"];
  return user;
}

function loaded(text: string): Omit<DesiredUser, "source"> | "refused" {
  try {
    const { source, ...user } = parseDesiredState([{ name: "users.yaml", text }], { serverName: S }).users.get(
      `@alice:${S}`,
    )!;
    expect(source).toEqual({ file: "users.yaml", line: 3, column: 3 });
    return user;
  } catch (e) {
    if (e instanceof ConfigError) return "refused";
    throw e;
  }
}

const scalar = fc.oneof(
  fc.constantFrom("active", "deactivated", "erased", "Active", "", "yes", "true"),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constant(null),
);
const userMap = fc.dictionary(
  fc.constantFrom("state", "displayname", "admin", "locked", "allowReactivation", "emails", "stat", "__proto__"),
  fc.oneof(scalar, fc.constant(["a@example.org"]), fc.constant({ env: "X" })),
  { maxKeys: 5 },
);

describe("the loader's shortcut for the common forms of a user", () => {
  it("gives what the schema gives, for any state, map or value, in any YAML style", () => {
    const outcomes = { map: 0, state: 0, refused: 0 };
    fc.assert(
      fc.property(fc.oneof(scalar, userMap), fc.constantFrom<"block" | "flow">("block", "flow"), (value, style) => {
        const yaml =
          style === "flow" || typeof value !== "object" || value === null
            ? ` ${stringify(value, { collectionStyle: "flow" }).trim()}`
            : `\n${stringify(value)
                .trimEnd()
                .split("\n")
                .map((line) => `    ${line}`)
                .join("\n")}`;
        const want = expected(value);
        expect(loaded(fileWith(yaml))).toEqual(want);
        outcomes[want === "refused" ? "refused" : typeof value === "string" ? "state" : "map"]++;
      }),
      { numRuns: 500, seed: 0x5eed_0b01 },
    );
    // Every kind of outcome was tried, not only refusals.
    expect(Math.min(outcomes.map, outcomes.state, outcomes.refused)).toBeGreaterThan(20);
  });

  it("refuses a key given twice and attributes on an inactive user, as the general path does", () => {
    expect(loaded(fileWith("\n    state: active\n    state: deactivated"))).toBe("refused");
    expect(loaded(fileWith("\n    displayname: A\n    displayname: B"))).toBe("refused");
    expect(loaded(fileWith("\n    state: deactivated\n    admin: false"))).toBe("refused");
    expect(loaded(fileWith("\n    state: erased\n    allowReactivation: true"))).toBe("refused");
    expect(loaded(fileWith("\n    displayname:"))).toBe("refused");
    expect(loaded(fileWith(" {state: deactivated}"))).toEqual({
      userId: `@alice:${S}`,
      index: 0,
      state: "deactivated",
      allowReactivation: false,
    });
  });
});
