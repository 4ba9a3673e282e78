// Property tests of the users-file loader (issue "Survive faults and hostile input"): whatever text,
// value or bytes it is given, it returns a valid DesiredState or throws a ConfigError whose every issue
// says where (file, line, column) and what — never any other exception, never a hang; and a valid
// users map written out as YAML reads back as exactly what was written.
//
// Runs are bounded (sizes and counts) and seeded: a failure prints the seed and the shrunk
// counterexample (fast-check's default report); re-run with that seed to reproduce it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify, type ToStringOptions } from "yaml";
import {
  ConfigError,
  formatIssue,
  type LoadOptions,
  loadDesiredState,
  parseDesiredState,
} from "../../src/config/load.js";
import type { DesiredState } from "../../src/config/types.js";
import { parseYaml, parseYamlFast, parseYamlWithLibrary, type YEntry, type YMap } from "../../src/config/yamlTree.js";
import type { AccountState } from "../../src/domain/account.js";
import type { ExternalId } from "../../src/domain/attributes.js";
import type { DesiredUser, PasswordRef } from "../../src/domain/desired.js";

const S = "example.org";
const SEED = 0x5eed_0002;
const RUNS = { numRuns: 200, seed: SEED } as const;
/** A generous bound per document: far above the normal (milliseconds), far below a hang. */
const SLOW_MS = 5_000;

const STATES: AccountState[] = ["active", "deactivated", "erased"];

/** The annotated example of the repository, and a compact file with every feature. */
const EXAMPLE_FILE = readFileSync(new URL("../../examples/users.yaml", import.meta.url), "utf8");
const FULL_FILE = `version: 1
homeserver: https://matrix.example.org
serverName: example.org
policy:
  unmanaged: deactivate
  maxDeactivations: 3
  maxErasures: 1
  protected: ["@*-bot:example.org", "@root:example.org"]
users:
  alice:
    state: active
    displayname: Alice Liddell
    admin: false
    locked: false
    emails: [Alice@Example.org, a2@example.org]
    externalIds: [{ provider: oidc, id: "a1b2c3" }]
  bob: deactivated
  carol: erased
  "@dave:example.org":
    allowReactivation: true
    password: { env: DAVE_PW }
  erin:
    password:
      file: /run/secrets/erin
    emails:
      - erin@example.org
`;

// ---------------------------------------------------------------------------------------------------
// The oracle: a valid DesiredState, or a ConfigError with well-formed issues, and nothing else
// ---------------------------------------------------------------------------------------------------

type Outcome = "valid" | "invalid";

function lineLengths(text: string): number[] {
  return text.split("\n").map((line) => line.length);
}

/** Checks every issue of a ConfigError against the files it is about. */
function checkIssues(error: ConfigError, files: { name: string; text: string }[]): void {
  expect(error.issues.length, "a ConfigError without issues").toBeGreaterThan(0);
  const names = new Set(files.map((f) => f.name));
  for (const issue of error.issues) {
    const at = JSON.stringify(issue);
    expect(typeof issue.file, at).toBe("string");
    if (files.length > 0) expect(names.has(issue.file), at).toBe(true);
    expect(Number.isInteger(issue.line) && issue.line >= 0, at).toBe(true);
    expect(Number.isInteger(issue.column) && issue.column >= 0, at).toBe(true);
    expect(typeof issue.message === "string" && issue.message.trim().length > 0, at).toBe(true);
    expect(typeof issue.path, at).toBe("string");
    // 0:0 means the file as a whole; otherwise the position is in the file: a line it has, and a
    // column on that line (one past its end at most, for "expected more here").
    if (issue.line === 0) {
      expect(issue.column, at).toBe(0);
    } else {
      const lengths = lineLengths(files.find((f) => f.name === issue.file)!.text);
      expect(issue.line, at).toBeLessThanOrEqual(lengths.length);
      expect(issue.column, at).toBeGreaterThanOrEqual(1);
      expect(issue.column, at).toBeLessThanOrEqual(lengths[issue.line - 1]! + 1);
    }
  }
  // The message is every issue, formatted. (That each issue is one line, as ConfigError promises,
  // is checked below, in "regressions it found".)
  expect(error.message).toBe(error.issues.map(formatIssue).join("\n"));
}

/** Checks what a valid DesiredState promises. */
function checkState(state: DesiredState, files: { name: string; text: string }[], options: LoadOptions): void {
  expect(state.files).toEqual(files.map((f) => f.name));
  expect(state.sha256).toMatch(/^[0-9a-f]{64}$/);
  const { policy } = state;
  expect(["ignore", "report", "deactivate"]).toContain(policy.unmanaged);
  expect(Number.isInteger(policy.maxDeactivations) && policy.maxDeactivations >= 0).toBe(true);
  expect(Number.isInteger(policy.maxErasures) && policy.maxErasures >= 0).toBe(true);
  if (options.serverName !== undefined) expect(state.serverName).toBe(options.serverName);
  for (const [id, user] of state.users) {
    expect(user.userId).toBe(id);
    // On the server's name; offline (no name known), a full ID keeps its own and a localpart gets
    // one that cannot exist.
    const server = state.serverName ?? id.slice(id.indexOf(":") + 1);
    expect(id.startsWith("@") && id.endsWith(`:${server}`), id).toBe(true);
    // Any printable ASCII but `:` (historical IDs included), marked when outside today's grammar.
    const localpart = id.slice(1, -server.length - 1);
    expect(localpart, id).toMatch(/^[\x21-\x39\x3b-\x7e]+$/);
    expect(user.historical ?? false, id).toBe(!/^[a-z0-9._=\-/+]+$/.test(localpart));
    expect(STATES).toContain(user.state);
    if (user.state !== "active") {
      const attributes = ["displayname", "admin", "locked", "emails", "externalIds", "password"] as const;
      expect(
        attributes.filter((a) => user[a] !== undefined),
        id,
      ).toEqual([]);
      expect(user.allowReactivation).toBe(false);
    }
    for (const email of user.emails ?? []) expect(email).toBe(email.toLowerCase());
    expect(files.map((f) => f.name)).toContain(user.source.file);
    expect(user.source.line).toBeGreaterThanOrEqual(1);
    expect(user.source.column).toBeGreaterThanOrEqual(1);
  }
}

/** Loads the files: valid, or a well-formed ConfigError; any other exception fails the property. */
function load(files: { name: string; text: string }[], options: LoadOptions = { serverName: S }): Outcome {
  const started = performance.now();
  let state: DesiredState;
  try {
    state = parseDesiredState(files, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      const e = error as Error;
      expect.fail(`threw ${e?.name}, not a ConfigError: ${e?.message}\n${e?.stack}`);
    }
    checkIssues(error, files);
    return "invalid";
  } finally {
    expect(performance.now() - started, "took too long").toBeLessThan(SLOW_MS);
  }
  checkState(state, files, options);
  return "valid";
}

const one = (text: string) => [{ name: "users.yaml", text }];

/** Both with the server's name and offline (no server name: `validate`). */
const optionsArb = fc.constantFrom<LoadOptions>({ serverName: S }, {}, { serverName: "other.org" });

// ---------------------------------------------------------------------------------------------------
// Generators of hostile input
// ---------------------------------------------------------------------------------------------------

/** Pieces of YAML and of users files, to make text that is nearly YAML and nearly a users file. */
const TOKENS = [
  "version",
  "version: 1\n",
  "users:\n",
  "users",
  "policy",
  "protected",
  "maxDeactivations",
  "maxErasures",
  "unmanaged",
  "homeserver",
  "serverName",
  "state",
  "active",
  "deactivated",
  "erased",
  "displayname",
  "admin",
  "locked",
  "emails",
  "externalIds",
  "provider",
  "id",
  "password",
  "env",
  "file",
  "allowReactivation",
  "alice",
  '"@bob:example.org"',
  "@x:other.org",
  "a@b.org",
  ":",
  ": ",
  "- ",
  "-",
  "? ",
  ",",
  "[",
  "]",
  "{",
  "}",
  "#",
  " #",
  "&a ",
  "*a",
  "&b",
  "*b",
  "<<: *a",
  "!!str ",
  "!!map",
  "!!binary ",
  "!!set ",
  "!!omap ",
  "!!timestamp 2001-12-14 ",
  "!!int ",
  "!!float ",
  "!!seq ",
  "!<tag:yaml.org,2002:str> ",
  "!local ",
  "[a, b]: ",
  "<<",
  "|",
  ">",
  "|-",
  ">+2",
  "'",
  '"',
  "\\",
  "\\u12",
  "%YAML 1.2\n",
  "%TAG ! tag:x,2000:\n",
  "---",
  "---\n",
  "...",
  "\n...\n",
  "@",
  "`",
  "\n",
  "\r\n",
  "\r",
  "\t",
  " ",
  "  ",
  "    ",
  "1",
  "-1",
  "0x1F",
  "1e999",
  "9007199254740993",
  ".inf",
  ".nan",
  "true",
  "no",
  "null",
  "~",
  "__proto__",
  "constructor",
  "\u0000",
  "\ufeff",
  "\u2028",
  "\u0085",
  "é",
  "😀",
  "\ud800",
];

const tokenSoupArb = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => t.join(""));

/** Lines shaped like a users file, but with random indentation, keys, separators and values. */
const lineSoupArb = fc
  .array(
    fc.tuple(
      fc.nat(8),
      fc.constantFrom("", "- ", "? ", "-"),
      fc.constantFrom(...TOKENS.filter((t) => !t.includes("\n"))),
      fc.constantFrom(":", ": ", " :", ":  ", "", ": - "),
      fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 10 })),
    ),
    { maxLength: 30 },
  )
  .map((lines) => lines.map(([indent, lead, key, sep, value]) => `${" ".repeat(indent)}${lead}${key}${sep}${value}`))
  .map((lines) => lines.join("\n"));

const randomTextArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.string({ unit: "binary-ascii", maxLength: 300 }),
  tokenSoupArb,
  lineSoupArb,
  tokenSoupArb.map((t) => `version: 1\nusers:\n  ${t}`),
  lineSoupArb.map((t) => `version: 1\nusers:\n${t}`),
);

/** Scalars that YAML and the schema treat specially. */
const oddScalarArb = fc.constantFrom<unknown>(
  "",
  " ",
  "active",
  "Active",
  "deactivated",
  "erased",
  "1",
  "true",
  "null",
  "~",
  "@bob:example.org",
  "@bob:other.org",
  "@:x",
  "*",
  "__proto__",
  "a\nb",
  "x: y",
  "- x",
  "#",
  "\u0000",
  "\ufeff",
  1,
  0,
  -1,
  1.5,
  2 ** 53 + 2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  null,
  [],
  {},
);

const anyValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: oddScalarArb },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

function validOr<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 30, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValueArb });
}

const localpartArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9._=\-/+]{1,12}$/),
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "1", "007", "true", "null", "-", "+1"),
);

const userKeyArb = fc.oneof(
  { weight: 20, arbitrary: localpartArb },
  { weight: 5, arbitrary: localpartArb.map((lp) => `@${lp}:${S}`) },
  { weight: 1, arbitrary: localpartArb.map((lp) => `@${lp}:other.org`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("Alice", "@Alice:example.org", "@:example.org", "@a", "a:b", "") },
);

/** Now and then, an unknown key next to the known ones. */
function withJunk(arb: fc.Arbitrary<Record<string, unknown>>, key: string): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(arb, fc.nat(15), anyValueArb)
    .map(([value, dice, junk]) => (dice === 0 ? { ...value, [key]: junk } : value));
}

const emailArb = fc.stringMatching(
  /^(?:[A-Za-z0-9_'+-]{1,4}\.){0,2}[A-Za-z0-9_'+-]{0,4}[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]{0,4}\.){1,2}[A-Za-z]{2,4}$/,
);
const nonEmptyArb = fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" });
const externalIdArb: fc.Arbitrary<ExternalId> = fc.record({
  provider: fc.oneof(nonEmptyArb, fc.constantFrom("oidc", "saml", "123")),
  id: fc.oneof(nonEmptyArb, fc.constantFrom("a1b2c3", "42", "true")),
});
const passwordArb: fc.Arbitrary<PasswordRef> = fc.oneof(
  nonEmptyArb.map((env) => ({ env })),
  nonEmptyArb.map((file) => ({ file })),
);

/** A users-file-shaped document with, here and there, a wrong value, a missing or an unknown key. */
const nearlyValidDocArb: fc.Arbitrary<unknown> = withJunk(
  fc.record(
    {
      version: validOr(fc.constant(1)),
      homeserver: validOr(fc.constantFrom("https://matrix.example.org", "http://localhost:8008")),
      serverName: validOr(fc.constant(S)),
      policy: validOr(
        withJunk(
          fc.record(
            {
              unmanaged: validOr(fc.constantFrom("ignore", "report", "deactivate")),
              maxDeactivations: validOr(fc.nat(20)),
              maxErasures: validOr(fc.nat(20)),
              protected: validOr(fc.array(fc.constantFrom("@*-bot:example.org", "@root:example.org", "@*:*"))),
            },
            { requiredKeys: [] },
          ),
          "extra",
        ),
      ),
      users: validOr(
        fc.dictionary(
          userKeyArb,
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(...STATES) },
            {
              weight: 5,
              arbitrary: withJunk(
                fc.record(
                  {
                    state: validOr(fc.constant("active")),
                    displayname: validOr(fc.string({ maxLength: 20 })),
                    admin: validOr(fc.boolean()),
                    locked: validOr(fc.boolean()),
                    emails: validOr(fc.array(emailArb, { maxLength: 3 })),
                    externalIds: validOr(fc.array(externalIdArb, { maxLength: 2 })),
                    password: validOr(passwordArb),
                    allowReactivation: validOr(fc.boolean()),
                  },
                  { requiredKeys: [] },
                ),
                "sate",
              ),
            },
            {
              // Often with an attribute, which only active users may have.
              weight: 1,
              arbitrary: fc.record(
                { state: validOr(fc.constantFrom("deactivated", "erased")), displayname: fc.string({ maxLength: 5 }) },
                { requiredKeys: ["state"] },
              ),
            },
            { weight: 1, arbitrary: anyValueArb },
          ),
          { maxKeys: 5 },
        ),
      ),
    },
    { requiredKeys: ["version", "users"] },
  ),
  "junk",
);

/** The `yaml` library's ways of writing the same values. */
const stringifyOptionsArb: fc.Arbitrary<ToStringOptions> = fc.record(
  {
    indent: fc.integer({ min: 1, max: 6 }),
    indentSeq: fc.boolean(),
    collectionStyle: fc.constantFrom("any", "block", "flow"),
    defaultStringType: fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE", "BLOCK_LITERAL", "BLOCK_FOLDED"),
    defaultKeyType: fc.constantFrom(null, "PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE"),
    lineWidth: fc.constantFrom(0, 20, 80),
    minContentWidth: fc.constantFrom(0, 20),
    flowCollectionPadding: fc.boolean(),
    doubleQuotedAsJSON: fc.boolean(),
    directives: fc.boolean(),
  },
  { requiredKeys: [] },
);

/**
 * The same, for the round trip: without `indentSeq: false`, with which yaml 2.9.1 writes an empty
 * list under a key as `key:\n[]` at the key's own indent, which it then cannot read (its bug, not ours).
 */
const roundTripStyleArb: fc.Arbitrary<ToStringOptions> = stringifyOptionsArb.map(({ indentSeq: _, ...style }) => style);

function yamlText(value: unknown, options: ToStringOptions): string {
  return stringify(value, options) ?? "";
}

/** Deeply nested documents, of every kind of nesting, some inside a users file. */
const deepArb = fc
  .tuple(
    fc.integer({ min: 1, max: 3000 }),
    fc.constantFrom("flow-seq", "flow-map", "block-map", "block-seq-inline", "block-seq", "mixed-flow"),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([depth, kind, closed, inUsers]) => {
    const prefix = inUsers ? "version: 1\nusers:\n  alice: " : "";
    let body: string;
    switch (kind) {
      case "flow-seq":
        body = "[".repeat(depth) + (closed ? "]".repeat(depth) : "");
        break;
      case "flow-map":
        body = `${"{a: ".repeat(depth)}x${closed ? "}".repeat(depth) : ""}`;
        break;
      case "mixed-flow":
        body = `${"[{a: ".repeat(depth)}x${closed ? "}]".repeat(depth) : ""}`;
        break;
      case "block-seq-inline":
        body = `${"- ".repeat(depth)}x`;
        break;
      case "block-map":
        body = `\n${Array.from({ length: Math.min(depth, 200) }, (_, i) => `${" ".repeat(i + (inUsers ? 4 : 0))}k${i}:`).join("\n")} x`;
        break;
      default:
        body = `\n${Array.from({ length: Math.min(depth, 200) }, (_, i) => `${" ".repeat(i * 2 + (inUsers ? 4 : 0))}- `).join("\n")}x`;
    }
    return prefix + body;
  });

/** Alias bombs ("billion laughs") and alias oddities, at the top or inside a user. */
const aliasArb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 10 }), fc.constantFrom("top", "user", "policy"))
  .map(([levels, width, where]) => {
    const defs = [`a0: &a0 ${JSON.stringify("lol")}`];
    for (let i = 1; i <= levels; i++)
      defs.push(
        `a${i}: &a${i} [${Array(width)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    const top = `x:\n${defs.map((d) => `  ${d}`).join("\n")}\n`;
    if (where === "top") return `version: 1\n${top}users: *a${levels}\n`;
    if (where === "user") return `version: 1\n${top}users:\n  alice: *a${levels}\n  bob: &b deactivated\n  carol: *b\n`;
    return `version: 1\n${top}policy:\n  protected: *a${levels}\nusers: {}\n`;
  });

/** One way of damaging a text: numbers are taken modulo the text's lines or length. */
type Mutation =
  | { kind: "delete-line" | "duplicate-line" | "dedent" | "to-tab" | "join-lines"; at: number }
  | { kind: "swap-lines"; at: number; other: number }
  | { kind: "indent"; at: number; by: number }
  | { kind: "insert"; at: number; token: string }
  | { kind: "delete-chars"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "line-endings"; to: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("delete-line", "duplicate-line", "dedent", "to-tab", "join-lines"),
    at: fc.nat(),
  }) as fc.Arbitrary<Mutation>,
  fc.record({ kind: fc.constant("swap-lines"), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant("indent"), at: fc.nat(), by: fc.integer({ min: 1, max: 5 }) }),
  fc.record({
    kind: fc.constant("insert"),
    at: fc.nat(),
    token: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4, unit: "binary" })),
  }),
  fc.record({ kind: fc.constant("delete-chars"), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant("truncate"), at: fc.nat() }),
  fc.record({ kind: fc.constant("line-endings"), to: fc.constantFrom("\r\n", "\r", "\n\n") }),
);

function mutate(text: string, mutation: Mutation): string {
  const lines = text.split("\n");
  const line = "at" in mutation ? mutation.at % lines.length : 0;
  switch (mutation.kind) {
    case "delete-line":
      lines.splice(line, 1);
      return lines.join("\n");
    case "duplicate-line":
      lines.splice(line, 0, lines[line]!);
      return lines.join("\n");
    case "swap-lines": {
      const other = mutation.other % lines.length;
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      return lines.join("\n");
    }
    case "indent":
      lines[line] = " ".repeat(mutation.by) + lines[line];
      return lines.join("\n");
    case "dedent":
      lines[line] = lines[line]!.replace(/^ {1,2}/, "");
      return lines.join("\n");
    case "to-tab":
      lines[line] = lines[line]!.replace(/^ +/, "\t");
      return lines.join("\n");
    case "join-lines":
      if (line + 1 < lines.length) lines.splice(line, 2, `${lines[line]} ${lines[line + 1]!.trimStart()}`);
      return lines.join("\n");
    case "insert": {
      const at = mutation.at % (text.length + 1);
      return text.slice(0, at) + mutation.token + text.slice(at);
    }
    case "delete-chars": {
      const at = mutation.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + mutation.length);
    }
    case "truncate":
      return text.slice(0, mutation.at % (text.length + 1));
    case "line-endings":
      return text.replaceAll("\n", mutation.to);
  }
}

const mutatedArb = fc
  .tuple(fc.constantFrom(EXAMPLE_FILE, FULL_FILE), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
  .map(([base, mutations]) => mutations.reduce(mutate, base));

// ---------------------------------------------------------------------------------------------------
// Properties: hostile input
// ---------------------------------------------------------------------------------------------------

describe("loader properties: any input gives a DesiredState or a ConfigError that says where", () => {
  it("random text: characters, YAML tokens, users-file-like lines", () => {
    fc.assert(
      fc.property(randomTextArb, optionsArb, (text, options) => {
        load(one(text), options);
      }),
      { ...RUNS, numRuns: 400 },
    );
  });

  it("random values written as YAML by the `yaml` library, in all its styles", () => {
    const outcomes = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
          { weight: 1, arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true }) },
          { weight: 4, arbitrary: nearlyValidDocArb },
        ),
        stringifyOptionsArb,
        fc.constantFrom<LoadOptions>({ serverName: S }, {}),
        (value, style, options) => {
          outcomes[load(one(yamlText(value, style)), options)]++;
        },
      ),
      RUNS,
    );
    // Not vacuous: some documents make it through, most are refused somewhere.
    expect(outcomes.valid).toBeGreaterThan(RUNS.numRuns / 20);
    expect(outcomes.invalid).toBeGreaterThan(RUNS.numRuns / 4);
  });

  it("deeply nested documents and alias bombs are refused, not a stack overflow or a hang", () => {
    fc.assert(
      fc.property(fc.oneof(deepArb, aliasArb), optionsArb, (text, options) => {
        load(one(text), options);
      }),
      { ...RUNS, numRuns: 100 },
    );
  });

  it("a valid file with lines deleted, duplicated, swapped, re-indented, joined or cut", () => {
    const outcomes = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(mutatedArb, optionsArb, (text, options) => {
        outcomes[load(one(text), options)]++;
      }),
      { ...RUNS, numRuns: 400 },
    );
    expect(outcomes.valid).toBeGreaterThan(10);
    expect(outcomes.invalid).toBeGreaterThan(10);
  });

  it("several damaged files at once: every issue names one of them", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutatedArb, randomTextArb), { maxLength: 3 }), optionsArb, (texts, options) => {
        load(
          texts.map((text, i) => ({ name: `team-${i}.yaml`, text })),
          options,
        );
      }),
      RUNS,
    );
  });

  it("the fast YAML parser answers as the library does, wherever it answers", () => {
    let answered = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedArb,
          tokenSoupArb,
          lineSoupArb,
          fc.tuple(nearlyValidDocArb, stringifyOptionsArb).map(([v, o]) => yamlText(v, o)),
        ),
        (text) => {
          const fast = parseYamlFast(text);
          if (fast === undefined) return;
          answered++;
          const library = parseYamlWithLibrary(text);
          expect(library.problems).toEqual([]);
          expect(fast).toEqual(library.root);
        },
      ),
      { ...RUNS, numRuns: 400 },
    );
    // Not vacuous: the fast parser answers for many of them.
    expect(answered).toBeGreaterThan(50);
  });

  it("streamed users are the entries of the tree, at the line and column of their keys", () => {
    let streamedFiles = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedArb,
          lineSoupArb,
          fc.tuple(nearlyValidDocArb, stringifyOptionsArb).map(([v, o]) => yamlText(v, o)),
        ),
        (text) => {
          const streamed: { entry: YEntry; line: number; column: number }[] = [];
          const tree = parseYaml(text, (entry, line, column) => streamed.push({ entry, line, column }));
          const whole = parseYaml(text);
          if (!tree.usersStreamed) {
            // Not streamed (or given up half way, and read whole by the library): the tree is the whole tree.
            expect(tree.root).toEqual(whole.root);
            return;
          }
          streamedFiles++;
          const users = (whole.root as YMap).entries.find((e) => e.key === "users")!.value as YMap;
          expect(streamed.map((s) => s.entry)).toEqual(users.entries);
          const lines = text.split(/\r?\n/);
          for (const { entry, line, column } of streamed) {
            const before = text.slice(0, entry.keyOffset).split("\n");
            expect([line, column]).toEqual([before.length, before.at(-1)!.length + 1]);
            expect(lines[line - 1]!.length).toBeGreaterThanOrEqual(column);
          }
        },
      ),
      { ...RUNS, numRuns: 300 },
    );
    expect(streamedFiles).toBeGreaterThan(30);
  });

  describe("random bytes from disk", () => {
    let dir = "";
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "synapse-gitops-property-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const encoder = new TextEncoder();
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // A valid file with bytes flipped: often no longer UTF-8.
      fc
        .tuple(fc.constantFrom(FULL_FILE, EXAMPLE_FILE), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 5 }))
        .map(([text, flips]) => {
          const bytes = encoder.encode(text);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          return bytes;
        }),
      // A byte-order mark, and the file in UTF-16.
      fc.constantFrom(
        new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(FULL_FILE)]),
        new Uint8Array(Buffer.from(`\ufeff${FULL_FILE}`, "utf16le")),
      ),
    );

    it("are read as a DesiredState or refused with a ConfigError", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(bytesArb, async (bytes) => {
          const file = join(dir, `run-${run++}.yaml`);
          writeFileSync(file, bytes);
          try {
            const state = await loadDesiredState(file, { serverName: S });
            const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
            checkState(state, [{ name: file, text }], { serverName: S });
          } catch (error) {
            if (!(error instanceof ConfigError)) {
              const e = error as Error;
              expect.fail(`threw ${e?.name}, not a ConfigError: ${e?.message}\n${e?.stack}`);
            }
            let text: string;
            try {
              text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
            } catch {
              // Not UTF-8: one issue for the whole file.
              expect(error.issues).toEqual([
                { file, line: 0, column: 0, path: "", message: "the file is not valid UTF-8 text" },
              ]);
              return;
            }
            checkIssues(error, [{ name: file, text }]);
          } finally {
            rmSync(file, { force: true });
          }
        }),
        { ...RUNS, numRuns: 100 },
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties: valid users maps round-trip through YAML text
// ---------------------------------------------------------------------------------------------------

/** One generated user: its key in the file, the value written there, and what the loader must make of it. */
interface Intent {
  key: string;
  value: unknown;
  expected: Omit<DesiredUser, "source" | "index">;
}

/** Display names that YAML writes in every style: quotes, colons, comments, numbers, blank, Unicode. */
const displaynameArb = fc.oneof(
  fc.string({ maxLength: 30, unit: "grapheme" }),
  fc.constantFrom(
    "",
    " ",
    "true",
    "null",
    "~",
    "1",
    "0x10",
    "1e3",
    "-",
    "- x",
    "a: b",
    "a #b",
    "#x",
    " lead",
    "trail ",
    "multi\nline",
    "crlf\r\nline",
    "tab\there",
    "'",
    '"',
    "\\",
    "@bob:example.org",
    "*a",
    "&a",
    "!tag",
    "%x",
    "`x`",
    "{a}",
    "[a]",
    "|",
    ">",
    "…",
    "Zoë 😀",
  ),
);

function intentArb(localpart: string): fc.Arbitrary<Intent> {
  // A localpart starting with `@` can only be written as a full ID.
  const key = localpart.startsWith("@")
    ? fc.constant(`@${localpart}:${S}`)
    : fc.constantFrom(localpart, `@${localpart}:${S}`);
  const userId = `@${localpart}:${S}`;
  // Outside today's grammar (`Old.Admin`, "a`b|c"): a historical ID, marked as such.
  const mark: { historical?: true } = /^[a-z0-9._=\-/+]+$/.test(localpart) ? {} : { historical: true };
  const inactive = fc
    .tuple(key, fc.constantFrom<AccountState>("deactivated", "erased"), fc.boolean())
    .map(([k, state, short]) => ({
      key: k,
      value: short ? state : { state },
      expected: { userId, state, allowReactivation: false, ...mark },
    }));
  const active = fc
    .tuple(
      key,
      fc.boolean(),
      fc.record(
        {
          displayname: displaynameArb,
          admin: fc.boolean(),
          locked: fc.boolean(),
          // Distinct case-insensitively: a repeated address is another matter (see plan.property.test.ts).
          emails: fc.uniqueArray(emailArb, { maxLength: 3, selector: (e) => e.toLowerCase() }),
          externalIds: fc.uniqueArray(externalIdArb, { maxLength: 2, selector: (e) => `${e.provider}\u0000${e.id}` }),
          password: passwordArb,
          allowReactivation: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([k, explicitState, attributes]) => {
      const value: Record<string, unknown> = explicitState ? { state: "active", ...attributes } : { ...attributes };
      const expected: Omit<DesiredUser, "source" | "index"> = {
        userId,
        state: "active",
        ...attributes,
        allowReactivation: attributes.allowReactivation ?? false,
        ...mark,
      };
      if (attributes.emails) expected.emails = attributes.emails.map((e) => e.toLowerCase());
      // `alice: active` says the same as an empty map.
      const bare = Object.keys(value).length === 0 || (Object.keys(value).length === 1 && explicitState);
      return { key: k, value: bare && explicitState ? "active" : value, expected };
    });
  return fc.oneof(active, inactive);
}

/** Plain objects as Maps, as `parse(text, { mapAsMap: true })` reads them. */
function asMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asMaps);
  const entries =
    value instanceof Map ? [...value] : value !== null && typeof value === "object" ? Object.entries(value) : undefined;
  return entries ? new Map(entries.map(([k, v]) => [k, asMaps(v)])) : value;
}

/**
 * Whether the `yaml` library itself reads the text it wrote as the value it was given. Its writer
 * has bugs of its own (with `indent: 1`, a block scalar's leading spaces are lost or mis-indented):
 * such texts do not say what was meant, and are left out of the round trip.
 */
function libraryReadsBack(text: string, value: unknown): boolean {
  try {
    return isDeepStrictEqual(parse(text, { mapAsMap: true, logLevel: "error" }), asMaps(value));
  } catch {
    return false;
  }
}

const intentsArb: fc.Arbitrary<Intent[]> = fc
  .uniqueArray(
    fc.oneof(
      { weight: 4, arbitrary: localpartArb.filter((lp) => /^[a-z0-9._=\-/+]+$/.test(lp)) },
      // Historical localparts: any printable ASCII but `:`.
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x39\x3b-\x7e]{1,12}$/) },
    ),
    { maxLength: 8 },
  )
  .chain((localparts) => fc.tuple(...localparts.map(intentArb)));

describe("loader properties: a valid users map reads back as written", () => {
  it("round-trips through YAML text in any style, one file or several", () => {
    const roundTrips = { total: 0, skipped: 0 };
    fc.assert(
      fc.property(
        intentsArb,
        roundTripStyleArb,
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (intents, style, fileCount, withHeader) => {
          // Users dealt to the files in turn; a Map keeps their order (an object would put "1" first).
          const files = Array.from({ length: fileCount }, (_, i) => {
            const mine = intents.filter((_, j) => j % fileCount === i);
            const doc = new Map<string, unknown>([["version", 1]]);
            if (withHeader && i === 0) {
              doc.set("serverName", S);
              doc.set("policy", { unmanaged: "deactivate", protected: [`@*-bot:${S}`] });
            }
            doc.set("users", new Map(mine.map((intent) => [intent.key, intent.value])));
            return { name: `${i}.yaml`, text: yamlText(doc, style), intents: mine, doc };
          });
          roundTrips.total++;
          if (!files.every((file) => libraryReadsBack(file.text, file.doc))) roundTrips.skipped++;
          fc.pre(files.every((file) => libraryReadsBack(file.text, file.doc)));
          const state = parseDesiredState(
            files.map(({ name, text }) => ({ name, text })),
            { serverName: S },
          );
          // In file order, file by file, numbered in that order.
          const expected = files
            .flatMap((f) => f.intents.map((intent) => intent.expected))
            .map((user, index) => ({ ...user, index }));
          const got = [...state.users.values()].map(({ source: _, ...user }) => user);
          expect(got).toEqual(expected);
          expect([...state.users.keys()]).toEqual(expected.map((u) => u.userId));
          // Each user's source points at its key in its file.
          for (const file of files) {
            const lines = file.text.split("\n");
            for (const intent of file.intents) {
              const { source } = state.users.get(intent.expected.userId)!;
              expect(source.file).toBe(file.name);
              const at = lines[source.line - 1]!.slice(source.column - 1);
              expect(
                [
                  intent.key,
                  `"${intent.key}`,
                  `'${intent.key}`,
                  // Quoted with escapes: `"a\\b"`, `'it''s'` (historical IDs may hold both).
                  JSON.stringify(intent.key),
                  `'${intent.key.replaceAll("'", "''")}'`,
                ].some((k) => at.startsWith(k)),
                `${file.name}:${source.line}:${source.column} is ${JSON.stringify(at)}, not ${intent.key}\n${file.text}`,
              ).toBe(true);
            }
          }
          if (withHeader) {
            expect(state.policy).toEqual({
              unmanaged: "deactivate",
              maxDeactivations: 10,
              maxErasures: 5,
              protected: [`@*-bot:${S}`],
            });
          }
        },
      ),
      RUNS,
    );
    // Not vacuous: the library reads back nearly everything it writes.
    expect(roundTrips.skipped).toBeLessThan(roundTrips.total / 10);
  });
});

// ---------------------------------------------------------------------------------------------------
// Found by the properties above. FAILS on the current src/ — a real bug, reported; see the comment.
// ---------------------------------------------------------------------------------------------------

describe("loader properties: regressions it found", () => {
  // Found by property testing, now fixed (kept as a regression test): ConfigError promises "every problem …, one per
  // line: FILE:LINE:COLUMN PATH: MESSAGE", but a key is put into the issue's path and message as
  // written, and some `yaml` library messages quote the source: a key holding a line break (a quoted
  // key, "a\nb") makes one issue several lines. A hostile pull request can so put lines of its choosing
  // into the CLI's output in CI, e.g. one starting "::error::", which GitHub Actions may read as a
  // workflow command. (Terminal escapes in keys, "\e[2J", are echoed raw the same way.)
  // Quoting keys in paths and messages (JSON.stringify), and flattening library messages, fixes it.
  it.each([
    ["a user key with a line break", 'version: 1\nusers:\n  "@a\\n::error::x:example.org": active\n'],
    ["an unknown top-level key with a line break", 'version: 1\n"a\\nb": 1\nusers: {}\n'],
    ["an unknown user attribute with a line break", 'version: 1\nusers:\n  alice:\n    "x\\ny": 1\n'],
    ["a YAML error quoting the source", '":version\nversion:\\u12\nversion:version'],
  ])("every issue is one line of the message, even for %s", (_what, text) => {
    let error: unknown;
    try {
      parseDesiredState(one(text), { serverName: S });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(message.split(/\r\n|\r|\n/)).toHaveLength(issues.length);
    for (const issue of issues) expect(`${issue.path} ${issue.message}`).not.toMatch(/[\r\n]/);
  });
});
