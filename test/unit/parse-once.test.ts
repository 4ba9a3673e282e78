// The users file is parsed once per run, whatever path the loader takes: when the fast parser gives
// up half way through the users it was handing over (and the library reads the file), and when the
// file names another server than the admin token's. Each parse is counted at parseYaml.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigError, type DesiredFile, parseDesiredState } from "../../src/config/load.js";
import * as yamlTree from "../../src/config/yamlTree.js";

vi.mock("../../src/config/yamlTree.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/config/yamlTree.js")>();
  return { ...original, parseYaml: vi.fn(original.parseYaml) };
});
const parseYaml = vi.mocked(yamlTree.parseYaml);

const S = "example.org";
const lines = (...rows: string[]) => `${rows.join("\n")}\n`;

/** Parses per file name. */
function parses(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [text] of parseYaml.mock.calls) {
    const name = /^# (\S+)/.exec(text)?.[1] ?? "?";
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error("expected a ConfigError");
}

// Two users the fast parser hands over as it reads them, then one it leaves to the library (a block scalar).
const GIVES_UP_HALF_WAY = lines(
  "# users.yaml",
  "version: 1",
  "users:",
  "  alice: active",
  "  bob:",
  "    displayname: Bob",
  "  carol:",
  "    displayname: |",
  "      Carol",
  "  dave: deactivated",
);

beforeEach(() => parseYaml.mockClear());

describe("the users file is parsed once", () => {
  it("when the fast parser gives up half way through the users", () => {
    const state = parseDesiredState([{ name: "users.yaml", text: GIVES_UP_HALF_WAY }], { serverName: S });
    expect(parses()).toEqual({ "users.yaml": 1 });
    // The users it had handed over are not declared twice, and every user is numbered once, in file order.
    expect([...state.users.values()].map((u) => [u.userId, u.index, u.source.line, u.displayname])).toEqual([
      [`@alice:${S}`, 0, 4, undefined],
      [`@bob:${S}`, 1, 5, "Bob"],
      [`@carol:${S}`, 2, 7, "Carol\n"],
      [`@dave:${S}`, 3, 10, undefined],
    ]);
    // As read offline, where nothing is handed over.
    const offline = parseDesiredState([{ name: "users.yaml", text: `${GIVES_UP_HALF_WAY}serverName: ${S}\n` }]);
    expect([...offline.users.values()]).toEqual([...state.users.values()]);
  });

  it("when the fast parser gives up half way on a syntax error: only that error is reported", () => {
    // As offline: a file that is not YAML has no users to check (here, an invalid localpart before the error).
    const text = lines("# users.yaml", "version: 1", "users:", "  Alice: active", "  bob: [active", "  carol: x");
    expect(issuesOf(() => parseDesiredState([{ name: "users.yaml", text }], { serverName: S }))).toEqual([
      "6:3 : Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    expect(parses()).toEqual({ "users.yaml": 1 });
  });

  it("when a file of a directory gives up half way, after a file read whole", () => {
    const files: DesiredFile[] = [
      {
        name: "_root.yaml",
        text: lines("# _root.yaml", "version: 1", `serverName: ${S}`, "users:", "  root: active"),
        part: "root",
      },
      { name: "team.yaml", text: GIVES_UP_HALF_WAY.replace("# users.yaml", "# team.yaml"), part: "member" },
    ];
    const state = parseDesiredState(files, { serverName: S });
    expect(parses()).toEqual({ "_root.yaml": 1, "team.yaml": 1 });
    expect([...state.users.values()].map((u) => [u.userId, u.index])).toEqual([
      [`@root:${S}`, 0],
      [`@alice:${S}`, 1],
      [`@bob:${S}`, 2],
      [`@carol:${S}`, 3],
      [`@dave:${S}`, 4],
    ]);
  });

  it("when the file names another server than the admin token's", () => {
    const text = lines("# users.yaml", "version: 1", "serverName: other.org", "users:", "  alice: active");
    expect(issuesOf(() => parseDesiredState([{ name: "users.yaml", text }], { serverName: S }))).toEqual([
      `3:13 serverName: serverName "other.org" differs from the server's "${S}"`,
    ]);
    expect(parses()).toEqual({ "users.yaml": 1 });
  });
});
