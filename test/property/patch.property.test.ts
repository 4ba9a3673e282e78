// Property test of drift --format patch: whatever the layout of the users file (indentation,
// spacing, comments, blank lines, short, block and flow users, lists indented or not) and whatever
// changed on the server, the patched file loads, drift against the same server reports only what the
// patch leaves (an erased user), the printed patch applied to the file gives the written text, and
// the comments of users that did not drift survive. Seeded: a failure prints the seed and the case.
import { applyPatch, parsePatch } from "diff";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DesiredFile, parseDesiredState } from "../../src/config/load.js";
import { driftPatch } from "../../src/config/patch.js";
import type { AccountState, ActualUser } from "../../src/domain/account.js";
import { detectDrift } from "../../src/plan/drift.js";
import { fullUser as have, SERVER as S } from "../support/users.js";

const RUNS = { numRuns: 150, seed: 0x5eed_0015 } as const;
const STATES: AccountState[] = ["active", "deactivated", "erased"];

const space = fc.constantFrom("", " ", "   ");
const userCase = fc.record({
  form: fc.constantFrom("short", "block", "flow"),
  state: fc.constantFrom(...STATES),
  comment: fc.boolean(),
  before: fc.constantFrom("", "comment", "blank"),
  flatList: fc.boolean(),
  space,
  server: fc.constantFrom("same", "same", ...STATES, "absent"),
  name: fc.constantFrom("same", "X: y", "a\nb", "#z", " lead", "'q'"),
  moreEmail: fc.boolean(),
});
const fileCase = fc.record({
  indent: fc.constantFrom("  ", "   ", "    "),
  unmanaged: fc.constantFrom("report", "ignore"),
  users: fc.array(userCase, { minLength: 1, maxLength: 8 }),
  newcomer: fc.option(fc.constantFrom("New", "New: #1", "two\nlines"), { nil: undefined }),
});

type FileCase = typeof fileCase extends fc.Arbitrary<infer T> ? T : never;

/** The users file and the server the case describes. */
function build(c: FileCase) {
  const i = c.indent;
  let text = `# head\nversion: 1\npolicy: {unmanaged: ${c.unmanaged}}\nusers:\n${i}admin: {admin: true}\n`;
  const actual = [have("admin", "active", { admin: true })];
  c.users.forEach((u, n) => {
    const name = `u${n}`;
    const note = u.comment ? `${u.space} # c${n}` : "";
    if (u.before === "comment") text += `${i}# before u${n}\n`;
    if (u.before === "blank") text += "\n";
    const simple = u.form === "short" || u.state !== "active";
    if (simple) text += `${i}${name}:${u.space} ${u.state}${note}\n`;
    else if (u.form === "flow") text += `${i}${name}: {displayname:${u.space} D${n},${u.space}admin: false}${note}\n`;
    else
      text += `${i}${name}:${note}\n${i}${i}displayname:${u.space} "D${n}"\n${i}${i}emails:\n${i}${i}${u.flatList ? "" : "  "}- ${name}@example.org\n`;
    const state = u.server === "same" ? u.state : u.server;
    if (state === "absent") return;
    const attributes = simple
      ? {}
      : {
          displayname: u.name === "same" ? `D${n}` : u.name,
          emails: u.form === "block" ? [`${name}@example.org`, ...(u.moreEmail ? ["x@example.org"] : [])] : [],
        };
    actual.push(have(name, state as AccountState, attributes));
  });
  if (c.newcomer !== undefined) actual.push(have("zz-new", "active", { displayname: c.newcomer }));
  return { text, actual };
}

function driftOf(files: DesiredFile[], actual: ActualUser[]) {
  const desired = parseDesiredState(files, { serverName: S });
  const drift = detectDrift({
    now: 0,
    desired: desired.users,
    serverName: S,
    ownUserId: `@admin:${S}`,
    policy: desired.policy,
    actual: new Map(actual.map((u) => [u.userId, u])),
  });
  return { desired, drift };
}

describe("drift --format patch, on any layout", () => {
  it("leaves only what it cannot take, prints what it writes, and keeps the comments of users that did not drift", () => {
    fc.assert(
      fc.property(fileCase, (c) => {
        const { text, actual } = build(c);
        const files = [{ name: "u.yaml", text }];
        const { desired, drift } = driftOf(files, actual);
        const patch = driftPatch(files, desired, drift);
        const after = patch.files[0]?.after ?? text;
        for (const one of parsePatch(patch.diff)) expect(applyPatch(text, one)).toBe(after);
        const again = driftOf([{ name: "u.yaml", text: after }], actual).drift;
        expect(again.items.map((i) => i.userId)).toEqual(patch.left.map((l) => l.userId));
        const drifted = new Set(drift.items.map((i) => i.userId));
        for (const [comment, n] of text.matchAll(/# (?:c|before u)(\d+)/g)) {
          if (!drifted.has(`@u${n}:${S}`)) expect(after).toContain(comment);
        }
        expect(after).toContain("# head\n");
      }),
      RUNS,
    );
  });
});
