import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  type ConfigIssue,
  formatIssue,
  type LoadOptions,
  loadDesiredState,
  parseDesiredState,
  UNKNOWN_SERVER,
} from "../../src/config/load.js";
import { usersFileJsonSchema } from "../../src/config/schema.js";
import { parseYamlFast, parseYamlWithLibrary } from "../../src/config/yamlTree.js";
import { readCapped } from "../../src/util/files.js";

const SERVER: LoadOptions = { serverName: "example.org" };

/** The file of the format's documentation. */
const EXAMPLE = `# yaml-language-server: $schema=../schema/synapse-gitops.schema.json
version: 1
homeserver: https://matrix.example.org   # optional (a URL)
serverName: example.org                  # optional
policy:                                  # optional; these are the defaults
  unmanaged: report        # ignore | report | deactivate
  maxDeactivations: 10     # non-negative integer
  maxErasures: 5           # non-negative integer
  protected: []            # full user IDs or globs with * ("@*-bot:example.org")
users:
  alice:                                 # a localpart, or a full ID "@alice:example.org"
    state: active                        # the default
    displayname: Alice Liddell
    admin: false
    locked: false
    emails: [Alice@Example.org]
    externalIds: [{ provider: oidc, id: "a1b2c3" }]
  bob: deactivated                       # shorthand: just the state
  carol: erased
  dave:
    state: active
    allowReactivation: true
    password: { env: DAVE_INITIAL_PASSWORD }   # or { file: path }
`;

function parse(text: string, options: LoadOptions = SERVER) {
  return parseDesiredState([{ name: "users.yaml", text }], options);
}

function issuesOf(files: Record<string, string>, options: LoadOptions = SERVER): ConfigIssue[] {
  try {
    parseDesiredState(
      Object.entries(files).map(([name, text]) => ({ name, text })),
      options,
    );
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    // The message is every issue, one per line.
    expect(message).toBe(issues.map(formatIssue).join("\n"));
    return issues;
  }
  throw new Error("expected a ConfigError");
}

/** `[where, path, message fragment]`, where is `FILE:LINE:COLUMN` (or `FILE` for a whole file). */
type Expected = [string, string, string];

function expectIssues(issues: ConfigIssue[], expected: Expected[]) {
  const actual = issues.map((i) => [i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file, i.path, i.message]);
  expect(actual.map(([where, path]) => [where, path])).toEqual(expected.map(([where, path]) => [where, path]));
  for (const [n, [, , fragment]] of expected.entries()) expect(actual[n]![2]).toContain(fragment);
}

const lines = (...rows: string[]) => `${rows.join("\n")}\n`;

describe("a valid file", () => {
  it("gives the users by full ID, in file order and numbered in it, with their sources and attributes", () => {
    const state = parse(EXAMPLE);
    expect([...state.users.keys()]).toEqual([
      "@alice:example.org",
      "@bob:example.org",
      "@carol:example.org",
      "@dave:example.org",
    ]);
    expect([...state.users.values()].map((u) => u.index)).toEqual([0, 1, 2, 3]);
    expect(state.users.get("@alice:example.org")).toEqual({
      userId: "@alice:example.org",
      index: 0,
      state: "active",
      displayname: "Alice Liddell",
      admin: false,
      locked: false,
      emails: ["alice@example.org"], // lower-cased
      externalIds: [{ provider: "oidc", id: "a1b2c3" }],
      allowReactivation: false,
      source: { file: "users.yaml", line: 11, column: 3 },
    });
    expect(state.users.get("@bob:example.org")).toEqual({
      userId: "@bob:example.org",
      index: 1,
      state: "deactivated",
      allowReactivation: false,
      source: { file: "users.yaml", line: 18, column: 3 },
    });
    expect(state.users.get("@carol:example.org")?.state).toBe("erased");
    expect(state.users.get("@dave:example.org")).toMatchObject({
      state: "active",
      allowReactivation: true,
      password: { env: "DAVE_INITIAL_PASSWORD" },
    });
    expect(state.homeserver).toBe("https://matrix.example.org");
    expect(state.serverName).toBe("example.org");
    expect(state.policy).toEqual({ unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [] });
    expect(state.files).toEqual(["users.yaml"]);
    expect(state.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("fills in the defaults", () => {
    const state = parse(lines("version: 1", "users:", "  erin: {}", "  frank:", "    admin: true"));
    expect(state.policy).toEqual({ unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [] });
    expect(state.users.get("@erin:example.org")).toEqual({
      userId: "@erin:example.org",
      index: 0,
      state: "active",
      allowReactivation: false,
      source: { file: "users.yaml", line: 3, column: 3 },
    });
    expect(state.users.get("@frank:example.org")).toMatchObject({ state: "active", admin: true });
    expect(state.homeserver).toBeUndefined();
    // The server's name when the file has none, with no position in the file.
    expect(state.serverName).toBe("example.org");
  });

  it("accepts an empty users map, full IDs, and keys YAML would read as numbers or booleans", () => {
    expect(parse(lines("version: 1", "users: {}")).users.size).toBe(0);
    const state = parse(
      lines(
        "version: 1",
        "users:",
        "  123: active",
        '  "@zed:example.org": active',
        "  true: erased",
        "  null: active",
      ),
    );
    expect([...state.users.keys()]).toEqual([
      "@123:example.org",
      "@zed:example.org",
      "@true:example.org",
      "@null:example.org",
    ]);
  });

  it("reads policy, a password file and protected globs", () => {
    const state = parse(
      lines(
        "version: 1",
        "policy:",
        "  unmanaged: deactivate",
        "  maxDeactivations: 0",
        '  protected: ["@admin:example.org", "@*-bot:example.org"]',
        "users:",
        "  eve:",
        "    password: { file: /run/secrets/eve }",
      ),
    );
    expect(state.policy).toEqual({
      unmanaged: "deactivate",
      maxDeactivations: 0,
      maxErasures: 5,
      protected: ["@admin:example.org", "@*-bot:example.org"],
    });
    expect(state.users.get("@eve:example.org")?.password).toEqual({ file: "/run/secrets/eve" });
  });

  it("accepts an http URL without a dot (a local test server)", () => {
    expect(parse(lines("version: 1", "homeserver: http://localhost:8008", "users: {}")).homeserver).toBe(
      "http://localhost:8008",
    );
  });

  it("reads CRLF line ends, block lists and anchors alike", () => {
    const crlf = parse(EXAMPLE.replaceAll("\n", "\r\n"));
    expect(crlf.users.get("@alice:example.org")?.source).toEqual({ file: "users.yaml", line: 11, column: 3 });
    const block = parse(
      lines(
        "version: 1",
        "users:",
        "  alice:",
        "    emails:",
        "    - a@example.org",
        "    externalIds:",
        "      - provider: oidc",
        "        id: x1",
        "  bob: &gone deactivated",
        "  carol: *gone",
      ),
    );
    expect(block.users.get("@alice:example.org")).toMatchObject({
      emails: ["a@example.org"],
      externalIds: [{ provider: "oidc", id: "x1" }],
    });
    expect(block.users.get("@carol:example.org")?.state).toBe("deactivated");
  });

  it("keys users by localpart on an unknown server when offline, and checks no server", () => {
    const state = parse(
      lines("version: 1", "users:", "  bob: active", '  "@x:a.org": active', '  "@x:b.org": active'),
      {},
    );
    expect([...state.users.keys()]).toEqual([`@bob:${UNKNOWN_SERVER}`, "@x:a.org", "@x:b.org"]);
    expect(state.serverName).toBeUndefined();
  });

  it("hashes the files' names and contents", () => {
    const text = lines("version: 1", "users: {}");
    const a = parseDesiredState([{ name: "a.yaml", text }]).sha256;
    expect(parseDesiredState([{ name: "a.yaml", text }]).sha256).toBe(a);
    expect(parseDesiredState([{ name: "dir/a.yaml", text }]).sha256).toBe(a); // the name, not the path typed
    expect(parseDesiredState([{ name: "b.yaml", text }]).sha256).not.toBe(a);
    expect(parseDesiredState([{ name: "a.yaml", text: `${text}# changed\n` }]).sha256).not.toBe(a);
  });
});

describe("historical user IDs (accounts older servers let be named outside today's grammar)", () => {
  const file = lines(
    "version: 1",
    "users:",
    "  Old.Admin: active",
    "  old.admin: deactivated",
    '  "@Mixed.Case:example.org":',
    "    displayname: Mixed",
    "    admin: true",
    "  _Legacy_Bot: erased",
    '  "a`b|c*d<e%f/g": active',
    "  '*star''s': active",
    '  "#hash?and&more": active',
    '  "@@at>gt=!~^[x]{y}\\"q\\\\:example.org":',
    "    locked: true",
    "  plain.new: active",
  );

  it("accepts them as keys, quoted or not, as localparts or full IDs, and marks them", () => {
    for (const options of [SERVER, {}]) {
      const server = options.serverName ?? UNKNOWN_SERVER;
      const state = parse(file, options);
      const id = (localpart: string) => `@${localpart}:${server}`;
      expect([...state.users.keys()]).toEqual([
        id("Old.Admin"),
        id("old.admin"),
        "@Mixed.Case:example.org",
        id("_Legacy_Bot"),
        id("a`b|c*d<e%f/g"),
        id("*star's"),
        id("#hash?and&more"),
        '@@at>gt=!~^[x]{y}"q\\:example.org',
        id("plain.new"),
      ]);
      const historical = [...state.users.values()].filter((u) => u.historical).map((u) => u.userId);
      expect(historical).toEqual([
        id("Old.Admin"),
        "@Mixed.Case:example.org",
        id("_Legacy_Bot"),
        id("a`b|c*d<e%f/g"),
        id("*star's"),
        id("#hash?and&more"),
        '@@at>gt=!~^[x]{y}"q\\:example.org',
      ]);
      // `old.admin` is a user of its own (IDs compare exactly), in today's grammar.
      expect(state.users.get(id("old.admin"))).toEqual({
        userId: id("old.admin"),
        index: 1,
        state: "deactivated",
        allowReactivation: false,
        source: { file: "users.yaml", line: 4, column: 3 },
      });
      expect(state.users.get("@Mixed.Case:example.org")).toMatchObject({
        state: "active",
        displayname: "Mixed",
        admin: true,
        historical: true,
      });
    }
  });

  it("reads them the same from a flow map (the library's parser)", () => {
    const state = parse(lines("version: 1", 'users: { Old.Admin: active, "a`b|c": erased, "@X:example.org": active }'));
    expect([...state.users.values()].map((u) => [u.userId, u.state, u.historical])).toEqual([
      ["@Old.Admin:example.org", "active", true],
      ["@a`b|c:example.org", "erased", true],
      ["@X:example.org", "active", true],
    ]);
  });

  it("validates the rest of the entry as for any user", () => {
    expectIssues(
      issuesOf({
        "users.yaml": lines(
          "version: 1",
          "users:",
          "  Old.Admin:",
          "    colour: blue",
          "  Gone: { state: erased, admin: true }",
          "  Old.Admin: active",
          `  ${"X".repeat(250)}: active`,
        ),
      }),
      [
        ["users.yaml:4:5", "users.Old.Admin.colour", 'unknown key "colour"'],
        ["users.yaml:5:26", "users.Gone.admin", "attributes are only allowed on active users"],
        ["users.yaml:6:3", "users.Old.Admin", "is already declared at users.yaml:3:3"],
        ["users.yaml:7:3", `users.${"X".repeat(250)}`, "is longer than 255 characters"],
      ],
    );
  });
});

describe("an invalid file: every issue, with its position, path and message", () => {
  const cases: [string, string, Expected[], LoadOptions?][] = [
    [
      "an unknown key, at the key",
      lines("version: 1", "users:", "  bob:", "    sate: active"),
      [["users.yaml:4:5", "users.bob.sate", 'unknown key "sate"']],
    ],
    [
      "a wrong type",
      lines("version: 1", "users:", "  bob:", '    admin: "yes"', "    displayname: 42"),
      [
        ["users.yaml:4:12", "users.bob.admin", 'expected a boolean (true or false), got "yes"'],
        ["users.yaml:5:18", "users.bob.displayname", "expected a string, got 42 (quote it"],
      ],
    ],
    ["another version", lines("version: 2", "users: {}"), [["users.yaml:1:10", "version", "unsupported version 2"]]],
    [
      "missing keys, at the map that lacks them",
      lines("# a comment", "homeserver: https://m.example.org"),
      [
        ["users.yaml:2:1", "version", "is required"],
        ["users.yaml:2:1", "users", "is required"],
      ],
    ],
    [
      "users that is not a map",
      lines("version: 1", "users: [bob]"),
      [["users.yaml:2:8", "users", "expected a map, got a list"]],
    ],
    [
      "an unknown state",
      lines("version: 1", "users:", "  bob: activ"),
      [["users.yaml:3:8", "users.bob", "must be one of active, deactivated, erased"]],
    ],
    [
      "a user that is neither a state nor a map",
      lines("version: 1", "users:", "  bob: 5", "  carol:"),
      [
        ["users.yaml:3:8", "users.bob", "expected a state (active, deactivated, erased) or a map of attributes, got 5"],
        ["users.yaml:4:9", "users.carol", "got an empty value"],
      ],
    ],
    [
      "a user map: its own errors, not the union's",
      lines("version: 1", "users:", "  bob: { state: gone, admin: 1 }"),
      [
        ["users.yaml:3:17", "users.bob.state", "must be one of active, deactivated, erased"],
        ["users.yaml:3:30", "users.bob.admin", "expected a boolean"],
      ],
    ],
    [
      "a literal password",
      lines("version: 1", "users:", "  bob:", "    password: hunter2"),
      [
        [
          "users.yaml:4:15",
          "users.bob.password",
          "a literal password is not allowed: use { env: NAME } or { file: PATH }",
        ],
      ],
    ],
    [
      "password references that are not exactly one env or file",
      lines(
        "version: 1",
        "users:",
        "  a:",
        "    password: { env: A, file: b }",
        "  b:",
        "    password: {}",
        "  c:",
        "    password: { envv: A }",
        "  d:",
        '    password: { env: "" }',
      ),
      [
        ["users.yaml:4:15", "users.a.password", "use exactly one of { env: NAME } or { file: PATH }"],
        ["users.yaml:6:15", "users.b.password", "use exactly one of"],
        ["users.yaml:8:17", "users.c.password.envv", 'unknown key "envv"'],
        ["users.yaml:10:22", "users.d.password.env", "must not be empty"],
      ],
    ],
    [
      "attributes on users that are not active",
      lines(
        "version: 1",
        "users:",
        "  bob:",
        "    state: deactivated",
        "    displayname: Bob",
        "    emails: [bob@example.org]",
        "  carol:",
        "    state: erased",
        "    allowReactivation: true",
      ),
      [
        ["users.yaml:5:5", "users.bob.displayname", "attributes are only allowed on active users (bob is deactivated)"],
        ["users.yaml:6:5", "users.bob.emails", "attributes are only allowed on active users (bob is deactivated)"],
        ["users.yaml:9:5", "users.carol.allowReactivation", "(carol is erased)"],
      ],
    ],
    [
      "emails and external IDs",
      lines(
        "version: 1",
        "users:",
        "  bob:",
        "    emails: [bob@example.org, nope]",
        "    externalIds: [{ provider: oidc, id: 123 }, { provider: '' }, { provider: a, id: b, x: 1 }]",
      ),
      [
        ["users.yaml:4:31", "users.bob.emails[1]", '"nope" is not an email address'],
        ["users.yaml:5:41", "users.bob.externalIds[0].id", "expected a string, got 123"],
        ["users.yaml:5:48", "users.bob.externalIds[1].id", "is required"],
        ["users.yaml:5:60", "users.bob.externalIds[1].provider", "must not be empty"],
        ["users.yaml:5:88", "users.bob.externalIds[2].x", 'unknown key "x"'],
      ],
    ],
    [
      "invalid user keys (not even a historical ID: a space, a colon, non-ASCII)",
      lines(
        "version: 1",
        "users:",
        '  "bob smith": active',
        '  "@x:other.org": active',
        '  "@bob": active',
        '  "@carol lewis:example.org": active',
        "  dave:smith: active",
        "  zoë: active",
        '  "@Old.Admin:other.org": active',
      ),
      [
        [
          "users.yaml:3:3",
          "users.bob smith",
          'invalid localpart "bob smith": use a-z, 0-9 and . _ = - / + (an existing account\'s may also hold other printable ASCII, but no space or ":")',
        ],
        ["users.yaml:4:3", "users.@x:other.org", "@x:other.org is not on this server (example.org)"],
        ["users.yaml:5:3", "users.@bob", 'invalid user ID "@bob"'],
        ["users.yaml:6:3", "users.@carol lewis:example.org", 'invalid localpart "carol lewis"'],
        ["users.yaml:7:3", "users.dave:smith", 'invalid localpart "dave:smith"'],
        ["users.yaml:8:3", "users.zoë", 'invalid localpart "zoë"'],
        ["users.yaml:9:3", "users.@Old.Admin:other.org", "@Old.Admin:other.org is not on this server (example.org)"],
      ],
    ],
    [
      "a server name that differs from the server's, at the file's serverName",
      lines("version: 1", "serverName: example.org", "users: {}"),
      [["users.yaml:2:13", "serverName", 'serverName "example.org" differs from the server\'s "test.local"']],
      { serverName: "test.local" },
    ],
    [
      "a server name that is not one",
      lines("version: 1", "serverName: not a server", "users: {}"),
      [["users.yaml:2:13", "serverName", "is not a valid server name"]],
    ],
    [
      "a user declared twice, named by its first declaration",
      lines(
        "version: 1",
        "users:",
        "  bob: active",
        '  "@bob:example.org": deactivated',
        "  carol: active",
        "  carol: erased",
      ),
      [
        ["users.yaml:4:3", "users.@bob:example.org", "@bob:example.org is already declared at users.yaml:3:3"],
        ["users.yaml:6:3", "users.carol", "@carol:example.org is already declared at users.yaml:5:3"],
      ],
    ],
    [
      "offline, a localpart and a full ID with that localpart",
      lines(
        "version: 1",
        "users:",
        "  bob: active",
        '  "@bob:anywhere.org": active',
        '  "@carol:a.org": active',
        "  carol: active",
      ),
      [
        ["users.yaml:4:3", "users.@bob:anywhere.org", "@bob:anywhere.org is already declared at users.yaml:3:3"],
        ["users.yaml:6:3", "users.carol", "carol is already declared at users.yaml:5:3"],
      ],
      {},
    ],
    [
      "duplicate keys",
      lines("version: 1", "users:", "  bob:", "    admin: true", "    admin: false", "version: 1"),
      [
        ["users.yaml:5:5", "users.bob.admin", 'duplicate key "admin" (first at users.yaml:4:5)'],
        ["users.yaml:6:1", "version", 'duplicate key "version" (first at users.yaml:1:1)'],
      ],
    ],
    [
      "a YAML syntax error",
      lines("version: 1", "users:", "  bob: [active", "  carol: active"),
      [["users.yaml:4:3", "", "Flow sequence in block collection must be sufficiently indented and end with a ]"]],
    ],
    ["tabs", lines("version: 1", "users:", "\tbob: active"), [["users.yaml:3:1", "", "Tabs are not allowed"]]],
    [
      "an unquoted full user ID",
      lines("version: 1", "users:", "  @bob:example.org: active"),
      [["users.yaml:3:3", "", 'quote full user IDs, e.g. "@alice:example.org": active']],
    ],
    [
      "an alias bomb",
      lines(
        "version: 1",
        "a: &a [x, x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "users: {}",
      ),
      [["users.yaml:3:8", "", "too many aliases"]],
    ],
    [
      "an alias without its anchor",
      lines("version: 1", "users:", "  bob: *state"),
      [["users.yaml:3:8", "", "alias *state has no anchor &state before it"]],
    ],
    [
      "two documents in one file",
      lines("version: 1", "users: {}", "---", "version: 1"),
      [["users.yaml:3:1", "", "a second YAML document"]],
    ],
    [
      "absurdly deep nesting",
      lines("version: 1", `users: ${"[".repeat(60)}${"]".repeat(60)}`),
      [["users.yaml:2:57", "", "nested too deeply (more than 50 levels)"]],
    ],
    ["a list", lines("- version: 1"), [["users.yaml:1:1", "", "expected a map (version, users, …) at the top level"]]],
    ["a scalar", lines("hello"), [["users.yaml:1:1", "", "expected a map"]]],
    ["an empty file", "", [["users.yaml:1:1", "", "the file is empty"]]],
    ["a file of comments", lines("# nothing yet"), [["users.yaml:1:1", "", "the file is empty"]]],
    ["a lone document start", lines("---"), [["users.yaml:1:1", "", "the file is empty"]]],
    [
      "policy values",
      lines(
        "version: 1",
        "policy:",
        "  unmanaged: delete",
        "  maxDeactivations: -1",
        "  maxErasures: 1.5",
        '  protected: ["@*-bot:example.org", bob, "@bob"]',
        "  max: 3",
        "users: {}",
      ),
      [
        ["users.yaml:3:14", "policy.unmanaged", "must be one of ignore, report, deactivate"],
        ["users.yaml:4:21", "policy.maxDeactivations", "must be at least 0"],
        ["users.yaml:5:16", "policy.maxErasures", "expected an integer, got 1.5"],
        ["users.yaml:6:37", "policy.protected[1]", '"bob" is not a full user ID'],
        ["users.yaml:6:42", "policy.protected[2]", '"@bob" is not a full user ID'],
        ["users.yaml:7:3", "policy.max", 'unknown key "max"'],
      ],
    ],
    [
      "a homeserver that is not an http(s) URL",
      lines("version: 1", "homeserver: ftp://matrix.example.org", "users: {}"),
      [["users.yaml:2:13", "homeserver", "must be an http(s) URL"]],
    ],
  ];

  it.each(cases)("%s", (_name, text, expected, options) => {
    expectIssues(issuesOf({ "users.yaml": text }, options ?? SERVER), expected);
  });

  it("collects every issue of every file before throwing, in file and text order", () => {
    const issues = issuesOf({
      "a.yaml": lines("version: 1", "users:", '  "B d": active', "  ok:", "    colour: blue", "    admin: 3"),
      "b.yaml": lines("version: 3", "users: {}"),
    });
    expectIssues(issues, [
      ["a.yaml:3:3", "users.B d", "invalid localpart"],
      ["a.yaml:5:5", "users.ok.colour", 'unknown key "colour"'],
      ["a.yaml:6:12", "users.ok.admin", "expected a boolean"],
      ["b.yaml:1:10", "version", "unsupported version 3"],
    ]);
  });

  it("formats the message as FILE:LINE:COLUMN PATH: MESSAGE, one issue per line", () => {
    const issues = issuesOf({ "conf/users.yaml": lines("version: 1", "users:", "  bob:", "    sate: active") });
    expect(new ConfigError(issues).message).toBe('conf/users.yaml:4:5 users.bob.sate: unknown key "sate"');
  });
});

describe("a directory", () => {
  const made: string[] = [];
  afterAll(() => {
    for (const path of made) rmSync(path, { recursive: true, force: true });
  });

  function dir(files: Record<string, string>): string {
    const path = mkdtempSync(join(tmpdir(), "synapse-gitops-config-"));
    made.push(path);
    for (const [name, text] of Object.entries(files)) {
      if (name.endsWith("/")) mkdirSync(join(path, name));
      else writeFileSync(join(path, name), text);
    }
    return path;
  }

  async function loadIssues(path: string, options: LoadOptions = SERVER): Promise<ConfigIssue[]> {
    const error = await loadDesiredState(path, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }

  it("merges its *.yaml and *.yml files, the root file first and the others in name order, and only those", async () => {
    const path = dir({
      "b.yml": lines("version: 1", "users:", "  bea: deactivated"),
      "a.yaml": lines("version: 1", "users:", "  ann: active", "  sam: active"),
      "_root.yaml": lines("version: 1", "serverName: example.org", "users:", "  root-admin: active"),
      "README.md": "not a users file",
      ".#a.yaml": "an editor's lock file",
      "sub/": "",
      "sub.yaml/": "",
    });
    const state = await loadDesiredState(path);
    expect(state.files).toEqual([join(path, "_root.yaml"), join(path, "a.yaml"), join(path, "b.yml")]);
    expect([...state.users.keys()]).toEqual([
      "@root-admin:example.org",
      "@ann:example.org",
      "@sam:example.org",
      "@bea:example.org",
    ]);
    expect(state.users.get("@bea:example.org")?.source).toEqual({ file: join(path, "b.yml"), line: 3, column: 3 });
  });

  it("takes homeserver, serverName and policy from its root file, _root.yaml or _root.yml", async () => {
    for (const root of ["_root.yaml", "_root.yml"]) {
      const path = dir({
        [root]: lines(
          "version: 1",
          "homeserver: https://matrix.example.org",
          "serverName: example.org",
          "policy: { maxErasures: 0 }",
          "users: {}",
        ),
        "team.yaml": lines("version: 1", "users:", "  ann: active"),
      });
      const state = await loadDesiredState(path, {});
      expect(state.homeserver).toBe("https://matrix.example.org");
      expect(state.serverName).toBe("example.org");
      expect(state.policy.maxErasures).toBe(0);
      expect([...state.users.keys()]).toEqual(["@ann:example.org"]);
    }
  });

  it("refuses homeserver, serverName or policy in any other file of the directory, even with no root file", async () => {
    const path = dir({
      "_root.yaml": lines("version: 1", "policy: { maxDeactivations: 2 }", "users: {}"),
      "team-a.yaml": lines(
        "version: 1",
        "policy: { maxDeactivations: 100000, unmanaged: deactivate, protected: [] }",
        "users: {}",
      ),
      "team-b.yaml": lines("version: 1", "users: {}", "homeserver: https://evil.example", "serverName: evil.example"),
    });
    const move = "may only be set in the directory's root file (_root.yaml): move it there";
    expectIssues(await loadIssues(path), [
      [`${join(path, "team-a.yaml")}:2:1`, "policy", `policy ${move}`],
      [`${join(path, "team-b.yaml")}:3:1`, "homeserver", `homeserver ${move}`],
      [`${join(path, "team-b.yaml")}:4:1`, "serverName", `serverName ${move}`],
    ]);
    const alone = dir({ "only.yaml": lines("version: 1", "serverName: example.org", "users: {}") });
    expectIssues(await loadIssues(alone), [[`${join(alone, "only.yaml")}:2:1`, "serverName", move]]);
  });

  it("refuses two root files", async () => {
    const path = dir({ "_root.yaml": lines("version: 1", "users: {}"), "_root.yml": lines("version: 1", "users: {}") });
    expectIssues(await loadIssues(path), [[path, "", "both _root.yaml and _root.yml are here: keep one root file"]]);
  });

  it("reports a user declared in two files, naming both", async () => {
    const path = dir({
      "a-team.yaml": lines("version: 1", "users:", "  ann: active", "  sam: active"),
      "b-team.yml": lines("version: 1", "users:", "  bea: deactivated", "  sam: active"),
    });
    expectIssues(await loadIssues(path), [
      [
        join(path, "b-team.yml:4:3"),
        "users.sam",
        `@sam:example.org is already declared at ${join(path, "a-team.yaml")}:4:3`,
      ],
    ]);
  });

  it("wants version in every file", async () => {
    const path = dir({
      "_root.yml": lines("users: {}"),
      "1.yaml": lines("version: 1", "users: {}"),
      "2.yaml": lines("users: {}"),
    });
    expectIssues(await loadIssues(path), [
      [`${join(path, "_root.yml")}:1:1`, "version", "is required"],
      [`${join(path, "2.yaml")}:1:1`, "version", "is required"],
    ]);
  });

  it("refuses a directory without YAML files", async () => {
    const path = dir({ "notes.txt": "" });
    expectIssues(await loadIssues(path), [[path, "", "no .yaml or .yml file in this directory"]]);
  });

  it("refuses a missing path, a file over 50 MB and a file that is not UTF-8", async () => {
    const missing = join(tmpdir(), "synapse-gitops-no-such-file.yaml");
    await expect(loadDesiredState(missing)).rejects.toThrow(`${missing}: no such file or directory`);

    const path = dir({ "big.yaml": "", "latin1.yaml": "" });
    truncateSync(join(path, "big.yaml"), 51 * 1024 * 1024); // sparse: nothing is written
    writeFileSync(join(path, "latin1.yaml"), Buffer.from("version: 1\nusers:\n  caf\xe9: active\n", "latin1"));
    expectIssues(await loadIssues(path), [
      [join(path, "big.yaml"), "", "files over 50 MB are refused"],
      [join(path, "latin1.yaml"), "", "not valid UTF-8"],
    ]);
  });

  it("reads a single file by the path given", async () => {
    const path = dir({ "users.yaml": EXAMPLE });
    const state = await loadDesiredState(join(path, "users.yaml"));
    expect(state.files).toEqual([join(path, "users.yaml")]);
    expect(state.sha256).toBe(parse(EXAMPLE).sha256);
  });
});

describe("files given without a directory", () => {
  it("may each set homeserver, serverName and policy, but one file only", () => {
    const a = { name: "a.yaml", text: lines("version: 1", "serverName: example.org", "users: {}") };
    const b = { name: "b.yaml", text: lines("version: 1", "serverName: example.org", "users: {}") };
    const error = (() => {
      try {
        parseDesiredState([a, b]);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expectIssues(error!.issues, [["b.yaml:2:1", "serverName", "serverName is already set at a.yaml:2:1"]]);
  });
});

describe("hostile files", () => {
  const made: string[] = [];
  afterAll(() => {
    for (const path of made) rmSync(path, { recursive: true, force: true });
  });

  /** A temporary directory holding a repository (`repo/`, with `.git/`) and a directory outside it. */
  function sandbox(): { repo: string; outside: string } {
    const base = mkdtempSync(join(tmpdir(), "synapse-gitops-hostile-"));
    made.push(base);
    const repo = join(base, "repo");
    const outside = join(base, "outside");
    mkdirSync(join(repo, ".git"), { recursive: true });
    mkdirSync(outside);
    return { repo, outside };
  }

  const VALID = lines("version: 1", "users:", "  ann: active");
  const SECRET = lines("version: 1", "users:", "  the-runner-s-secret: active");

  async function loadIssues(path: string): Promise<ConfigIssue[]> {
    const error = await loadDesiredState(path, SERVER).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }

  it("refuses a device at once (reading /dev/zero never ends)", async () => {
    for (const device of ["/dev/zero", "/dev/null", "/dev/urandom"]) {
      expectIssues(await loadIssues(device), [[device, "", "is a device: only a regular file can be a users file"]]);
    }
  });

  it("refuses a FIFO without waiting for a writer, as the file or in a directory", async () => {
    const { repo } = sandbox();
    execFileSync("mkfifo", [join(repo, "users.yaml")]);
    expectIssues(await loadIssues(join(repo, "users.yaml")), [[join(repo, "users.yaml"), "", "is a FIFO"]]);
    const config = join(repo, "config");
    mkdirSync(config);
    writeFileSync(join(config, "a.yaml"), VALID);
    execFileSync("mkfifo", [join(config, "b.yaml")]);
    expectIssues(await loadIssues(config), [[join(config, "b.yaml"), "", "is a FIFO"]]);
  });

  it("refuses a symbolic link that leaves the repository, and names neither content nor secret", async () => {
    const { repo, outside } = sandbox();
    writeFileSync(join(outside, "secret.yaml"), SECRET);
    symlinkSync(join(outside, "secret.yaml"), join(repo, "users.yaml"));
    const issues = await loadIssues(join(repo, "users.yaml"));
    expectIssues(issues, [[join(repo, "users.yaml"), "", "leads through a symbolic link to"]]);
    expect(issues[0]!.message).toMatch(/outside the repository/);
    expect(JSON.stringify(issues)).not.toContain("the-runner-s-secret");
  });

  it("refuses a link out from a directory's files, and a linked directory that leads out", async () => {
    const { repo, outside } = sandbox();
    writeFileSync(join(outside, "secret.yaml"), SECRET);
    const config = join(repo, "config");
    mkdirSync(config);
    writeFileSync(join(config, "a.yaml"), VALID);
    symlinkSync(join(outside, "secret.yaml"), join(config, "b.yaml"));
    expectIssues(await loadIssues(config), [[join(config, "b.yaml"), "", "outside the repository"]]);
    symlinkSync(outside, join(repo, "linked"));
    expectIssues(await loadIssues(join(repo, "linked")), [[join(repo, "linked", "secret.yaml"), "", "outside"]]);
    expectIssues(await loadIssues(join(repo, "linked", "secret.yaml")), [
      [join(repo, "linked", "secret.yaml"), "", "outside the repository"],
    ]);
  });

  it("follows a symbolic link that stays inside the repository", async () => {
    const { repo } = sandbox();
    mkdirSync(join(repo, "teams"));
    writeFileSync(join(repo, "teams", "users.yaml"), VALID);
    symlinkSync(join("teams", "users.yaml"), join(repo, "users.yaml"));
    const state = await loadDesiredState(join(repo, "users.yaml"), SERVER);
    expect([...state.users.keys()]).toEqual(["@ann:example.org"]);
  });

  it("without .git above the file, counts the file's own directory as the repository", async () => {
    const base = mkdtempSync(join(tmpdir(), "synapse-gitops-nogit-"));
    made.push(base);
    // As a Kubernetes ConfigMap is mounted: each file a link into a hidden directory beside it.
    const config = join(base, "config");
    mkdirSync(join(config, "..2026_01_01"), { recursive: true });
    writeFileSync(join(config, "..2026_01_01", "users.yaml"), VALID);
    symlinkSync("..2026_01_01", join(config, "..data"));
    symlinkSync(join("..data", "users.yaml"), join(config, "users.yaml"));
    expect((await loadDesiredState(join(config, "users.yaml"), SERVER)).users.size).toBe(1);
    expect((await loadDesiredState(config, SERVER)).users.size).toBe(1);
    // A link out of that directory is refused, wherever the command runs.
    writeFileSync(join(base, "secret.yaml"), SECRET);
    symlinkSync(join(base, "secret.yaml"), join(config, "out.yaml"));
    expectIssues(await loadIssues(join(config, "out.yaml")), [
      [join(config, "out.yaml"), "", "outside the repository"],
    ]);
    const cwd = process.cwd();
    try {
      process.chdir(base);
      expectIssues(await loadIssues("config/out.yaml"), [["config/out.yaml", "", "outside the repository"]]);
    } finally {
      process.chdir(cwd);
    }
    // Nor is a directory reached through a link followed out of the directory that holds the link.
    const other = mkdtempSync(join(tmpdir(), "synapse-gitops-nogit-"));
    made.push(other);
    symlinkSync(join(config, "..2026_01_01"), join(other, "linked"));
    expectIssues(await loadIssues(join(other, "linked")), [
      [join(other, "linked", "users.yaml"), "", "outside the repository"],
    ]);
  });
});

describe("readCapped", () => {
  it("counts the bytes it reads, whatever size the file reported", async () => {
    const base = mkdtempSync(join(tmpdir(), "synapse-gitops-cap-"));
    const read = async (sizeHint: number, limit: number) => {
      const handle = await open(join(base, "f"), "r");
      try {
        return (await readCapped(handle, sizeHint, limit))?.toString();
      } finally {
        await handle.close();
      }
    };
    try {
      writeFileSync(join(base, "f"), "0123456789abcdefghij");
      // Told the file is empty (as /proc files and devices say), it still stops past the limit.
      expect(await read(0, 10)).toBeUndefined();
      expect(await read(0, 19)).toBeUndefined();
      expect(await read(0, 20)).toBe("0123456789abcdefghij");
      expect(await read(1_000_000, 20)).toBe("0123456789abcdefghij");
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("the fast YAML parser", () => {
  // Shapes a users file is written in: these must not fall back to the slow library.
  const common = [
    EXAMPLE,
    EXAMPLE.replaceAll("\n", "\r\n"),
    lines("---", "version: 1", "users:", "  alice:", "    emails:", "      - a@example.org", "    externalIds:"),
    lines("users:", "- a: 1", "  b: [x, 'y', \"z\"]", "-", "  c: {d: e}", "x: y # c", "z:", "  # c", "  - 1"),
    lines("a: 'it''s'", 'b: "\\u00e9\\n"', "c: ~", "d: 1.5", "e: 0x1F", "f: Zoë", "g: a#b", "h: http://x.org/#y"),
    lines("displayname: -=Bob=-", "max: -1", "-k: [-x, ?y, :z]", "list: Foo [Bot], {x}"),
  ];
  it.each(common.map((text) => [text]))("answers, as the library would: %j", (text) => {
    const fast = parseYamlFast(text);
    expect(fast).not.toBeUndefined();
    expect(fast).toEqual(parseYamlWithLibrary(text).root);
  });

  // The edges of its subset: each case says whether the fast parser must answer (and then as the
  // library would) or must leave the text to the library (which then has the last word).
  const other: [text: string, fast: "answers" | "leaves"][] = [
    ["a: b\n  c\n", "leaves"], // a multi-line plain scalar
    ["a: |\n  x\n", "leaves"], // a block scalar
    ["a: &x 1\nb: *x\n", "leaves"], // an anchor and an alias
    ["a: !!str 1\n", "leaves"], // a tag
    ["a: b: c\n", "leaves"], // an error
    ["- a\n", "leaves"], // a sequence at the top
    ["a: [1,\n 2]\n", "leaves"], // a flow collection over two lines
    ["a: 'x\n  y'\n", "leaves"], // a quoted scalar over two lines
    ["a: -1\n", "answers"],
    ['a: "x"#c\n', "leaves"], // an error: a comment needs a space before it
    ["a: [x, ]\n", "leaves"], // a trailing comma
    ["a: {x}\n", "leaves"], // a flow map entry without a value
    ["a:\n  b: 1\n c: 2\n", "leaves"], // an error: bad indentation
    [" a: 1\n", "leaves"], // an indented top level
    ["a:\n- - x\n", "leaves"], // a sequence in a sequence on one line
    ['a: "\\x41"\n', "leaves"], // an escape YAML has and JSON has not
    ["---\n", "leaves"], // a document start and nothing else
    ["a: 1\n---\nb: 2\n", "leaves"], // a second document
    ["a: x:y\n", "answers"],
    ["a  : b\n", "answers"],
    ["a,b: 1\n", "answers"],
    ["a:\n- x\n- y\nb: 1\n", "answers"],
    ["a:\n  - b:\n    - x\n    c: 1\n", "answers"],
    ["__proto__: 1\n", "answers"],
    ["a: [a:b, c]\n", "answers"],
    ["a:\n\n  b: 1\n", "answers"],
  ];
  it.each(other)("at an edge of its subset: %j — it %s", (text, fast) => {
    const tree = parseYamlFast(text);
    if (fast === "leaves") {
      expect(tree).toBeUndefined();
    } else {
      expect(tree).not.toBeUndefined();
      expect(tree).toEqual(parseYamlWithLibrary(text).root);
    }
  });

  it("agrees with the library on generated documents", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const scalars = ["x", "x y", "1", "-1", "1.5", "true", "null", "~", "'q'", "'it''s'", '"d"', '"a\\"b"', "a@b.org"];
    const keys = ["a", "b", "x y", "'q'", '"@bob:x.org"', "123", "true", "a.b", "a,b", "é"];
    const flow = (depth: number): string => {
      const r = random();
      if (depth > 1 || r < 0.5) return pick(scalars);
      const items = Array.from({ length: Math.floor(random() * 3) }, () => flow(depth + 1));
      if (r < 0.75) return `[${items.join(", ")}]`;
      return `{${items.map((item, i) => `k${i}: ${item}`).join(", ")}}`;
    };
    const block = (indent: number, depth: number, out: string[]) => {
      const pad = " ".repeat(indent);
      if (depth > 0 && random() < 0.3) {
        for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
          if (random() < 0.6 || depth > 2) out.push(`${pad}- ${random() < 0.3 ? flow(0) : pick(scalars)}`);
          else {
            out.push(`${pad}-`);
            block(indent + 2, depth + 1, out);
          }
        }
        return;
      }
      for (const key of new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(keys)))) {
        const r = random();
        const comment = pick(["", "", " # c"]);
        if (r < 0.45 || depth > 2) out.push(`${pad}${key}: ${pick(scalars)}${comment}`);
        else if (r < 0.6) out.push(`${pad}${key}: ${flow(0)}${comment}`);
        else if (r < 0.65) out.push(`${pad}${key}:${comment}`);
        else {
          out.push(`${pad}${key}:${comment}`);
          block(indent + pick([0, 2, 4]), depth + 1, out);
        }
      }
    };
    let answered = 0;
    for (let n = 0; n < 3000; n++) {
      const out: string[] = [];
      block(0, 0, out);
      const text = `${out.join("\n")}\n`;
      const fast = parseYamlFast(text);
      if (fast === undefined) continue;
      answered++;
      const library = parseYamlWithLibrary(text);
      if (!isDeepStrictEqual(fast, library.root) || library.problems.length > 0) {
        expect({ text, fast }).toEqual({ text, fast: library.root });
      }
    }
    expect(answered).toBeGreaterThan(1500);
  });
});

describe("the JSON Schema", () => {
  const file = new URL("../../schema/synapse-gitops.schema.json", import.meta.url);

  it("in schema/ is the one generated from the zod schema", () => {
    const generated = `${JSON.stringify(usersFileJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") {
      writeFileSync(file, generated);
      return;
    }
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      // missing: reported below
    }
    expect(
      current === generated,
      "schema/ is out of date: run UPDATE_SCHEMA=1 npx vitest run test/unit/config.test.ts",
    ).toBe(true);
  });

  it("describes the file for editors", () => {
    const schema = usersFileJsonSchema() as {
      title: string;
      required: string[];
      properties: Record<string, { description?: string }>;
    };
    expect(schema.title).toBe("synapse-gitops users file");
    expect(schema.required).toEqual(["version", "users"]); // defaults are optional on the input side
    expect(schema.properties.users?.description).toContain("localpart");
  });

  it("lets editors accept the user keys the loader accepts, historical IDs included, and flag the others", () => {
    const users = (usersFileJsonSchema() as { properties: { users: { propertyNames: { pattern: string } } } })
      .properties.users;
    expect(users.propertyNames).toMatchObject({ type: "string", maxLength: 255 });
    const pattern = new RegExp(users.propertyNames.pattern);
    const keys = ["alice", "Old.Admin", "_x", "a`b|c*d<e%f/g", "*x", "@alice:example.org", "@@x:example.org"];
    const bad = ["bob smith", "a:b", "zoë", "@bob", "@x", "", "@a b:example.org", "tab\tx"];
    for (const key of [...keys, ...bad]) {
      const loads = (() => {
        try {
          parse(lines("version: 1", "users:", `  ${JSON.stringify(key)}: active`));
          return true;
        } catch {
          return false;
        }
      })();
      expect([key, pattern.test(key)]).toEqual([key, loads]);
      expect([key, loads]).toEqual([key, keys.includes(key)]);
    }
  });
});
