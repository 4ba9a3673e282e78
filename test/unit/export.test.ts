import { describe, expect, it } from "vitest";
import { parseDocument, type Scalar, type YAMLMap } from "yaml";
import { exportUsersFile } from "../../src/config/export.js";
import { parseDesiredState } from "../../src/config/load.js";
import type { ActualUser } from "../../src/domain/account.js";
import { actualUser, SERVER as S } from "../support/users.js";

const user = (localpart: string, fields: Partial<ActualUser> = {}): ActualUser =>
  actualUser(`@${localpart}:${S}`, "active", fields);

describe("export", () => {
  it("keeps every user, in user-ID order, whatever the localpart looks like", () => {
    const users = [user("zoe"), user("__proto__"), user("123"), user("007", { state: "deactivated" }), user("true")];
    const text = exportUsersFile(users, S, "");
    const desired = parseDesiredState([{ name: "export.yaml", text }], { serverName: S });
    expect([...desired.users.keys()]).toEqual(["007", "123", "__proto__", "true", "zoe"].map((l) => `@${l}:${S}`));
    expect(desired.users.get(`@007:${S}`)!.state).toBe("deactivated");
    expect(desired.users.get(`@__proto__:${S}`)!.state).toBe("active");
  });
});

describe("export of historical user IDs", () => {
  // Every printable ASCII character a localpart may hold (all but ":"), alone, leading, inside and
  // trailing, and the words and forms YAML would read as something other than a string.
  const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
    (c) => c !== ":",
  );
  const localparts = [
    "Old.Admin",
    "a`b|c*d<e%f/g",
    "_leading",
    "UPPER",
    "*star",
    "&anchor",
    "!tag",
    "%directive",
    "#comment",
    "@at",
    "|pipe",
    ">fold",
    "<lt",
    "'single",
    '"double',
    "`tick",
    "?question",
    "-dash",
    "[flow",
    "{flow",
    ",comma",
    "a#b",
    "a\\b",
    "\\",
    "~",
    "Null",
    "TRUE",
    "False",
    "NaN",
    ".inf",
    "-.Inf",
    "0x1F",
    "0o17",
    "1e3",
    "1_000",
    "---",
    "...",
    "<<",
    "=",
    printable.join(""),
    ...printable,
    ...printable.map((c) => `x${c}`),
    ...printable.map((c) => `${c}x`),
  ];

  it("writes keys that read back as the same users, each quoted only where YAML needs it", () => {
    const unique = [...new Set(localparts)];
    const users = unique.map((l, i) =>
      user(l, i % 3 === 0 ? { state: "deactivated" } : { displayname: `Name of ${l}`, admin: i % 2 === 0 }),
    );
    const text = exportUsersFile(users, S, "# exported\n");
    const desired = parseDesiredState([{ name: "export.yaml", text }], { serverName: S });
    const sorted = users.map((u) => u.userId).sort();
    expect([...desired.users.keys()]).toEqual(sorted);
    for (const u of users) {
      const back = desired.users.get(u.userId)!;
      expect(back.state).toBe(u.state);
      if (u.state === "active") expect(back).toMatchObject({ displayname: u.displayname, admin: u.admin });
    }
    // Quoted where YAML needs it, plain where it does not; a localpart starting with `@` as a full ID.
    for (const key of ['"*star"', '"~"', '"%directive"', '"#comment"', '"|pipe"', '"TRUE"', '"<<"', '"\'single"']) {
      expect(text).toMatch(new RegExp(`^ {2}${key.replace(/[*|]/g, "\\$&")}:`, "m"));
    }
    for (const key of ["Old.Admin", "a`b|c*d<e%f/g", "_leading", "a#b", "<lt"]) expect(text).toContain(`\n  ${key}:`);
    expect(text).toContain('\n  "@@at:example.org":');
    // Any YAML 1.2 reader (not only this tool's, which takes every key as a string) reads each key as that string.
    const keys = (parseDocument(text).get("users") as YAMLMap).items.map((p) => (p.key as Scalar).value);
    const written = sorted.map((id) => (id.startsWith("@@") ? id : id.slice(1, -`:${S}`.length)));
    expect(keys).toEqual(written);
  });
});
