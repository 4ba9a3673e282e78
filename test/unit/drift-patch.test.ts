// drift --format patch: the users file edited to match the server, comments and layout kept.
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyPatch, parsePatch } from "diff";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type DesiredFile, parseDesiredState } from "../../src/config/load.js";
import { driftPatch } from "../../src/config/patch.js";
import { writePatchedFiles } from "../../src/config/writePatch.js";
import type { ActualUser } from "../../src/domain/account.js";
import { type DriftReport, detectDrift } from "../../src/plan/drift.js";
import { renderPatchMarkdown, renderPatchText } from "../../src/report/patch.js";
import { HOSTILE } from "../support/hostile.js";
import { fullUser as have, OWN, SERVER as S } from "../support/users.js";

function driftOf(files: DesiredFile[], actual: ActualUser[]) {
  const desired = parseDesiredState(files, { serverName: S });
  const drift = detectDrift({
    now: 0,
    desired: desired.users,
    serverName: S,
    ownUserId: OWN,
    policy: desired.policy,
    actual: new Map(actual.map((u) => [u.userId, u])),
  });
  return { desired, drift };
}

/** The patch for `files` against `actual`, and the drift left once it is applied. */
function patchAndCheck(files: DesiredFile[], actual: ActualUser[]) {
  const { desired, drift } = driftOf(files, actual);
  const patch = driftPatch(files, desired, drift);
  const after = files.map((f) => ({ ...f, text: patch.files.find((p) => p.name === f.name)?.after ?? f.text }));
  // The printed diff, applied to the files as read, gives the same texts.
  for (const one of patch.diff === "" ? [] : parsePatch(patch.diff)) {
    const file = files.find((f) => f.name === one.oldFileName)!;
    expect(applyPatch(file.text, one)).toBe(after.find((f) => f.name === file.name)!.text);
  }
  const again = driftOf(after, actual).drift;
  return { patch, after, drift, again };
}

const ADMIN = have("admin", "active", { admin: true });

const ODD = `# yaml-language-server: $schema=../schema/synapse-gitops.schema.json
version: 1
policy:   {unmanaged: report,   maxDeactivations: 3}   # odd spacing kept
users:
    # the boss
    alice:   # trailing comment
        displayname:   'Alice Liddell'   # her name
        admin: false
        emails:
        - alice@example.org
    bob: deactivated  # left in May


    carol: {displayname: "Carol", admin: true}   # flow map
    admin: {admin: true}
    "@dave:example.org":
      state: active
      displayname: Dave # keeps
      password: { env: DAVE_PW }
      allowReactivation: true
    erin: erased # GDPR request 42
    gone: deactivated
`;

describe("drift --format patch", () => {
  it("takes each kind of drift into the file, keeping comments and layout; drift then reports nothing", () => {
    const { patch, after, drift, again } = patchAndCheck(
      [{ name: "users.yaml", text: ODD }],
      [
        ADMIN,
        have("alice", "active", { displayname: "Alice L.", emails: ["alice@example.org", "al@example.org"] }),
        have("bob", "active"), // reactivated in an admin UI
        have("carol", "active", { displayname: "Carol", admin: false }),
        have("dave", "deactivated"),
        have("erin", "erased"),
        have("mallory", "active", { displayname: "Mallory", admin: true }),
      ],
    );
    expect(drift.items.map((i) => `${i.class} ${i.userId}`).sort()).toEqual(
      [
        `reactivated @bob:${S}`,
        `deactivated-out-of-band @dave:${S}`,
        `missing @gone:${S}`,
        `attributes @alice:${S}`,
        `attributes @carol:${S}`,
        `unmanaged @mallory:${S}`,
      ].sort(),
    );
    expect(again.items).toEqual([]);
    expect(patch.accepted).toBe(6);
    expect(patch.left).toEqual([]);
    const text = after[0]!.text;
    // Comments survive, and lines no edit touched stay as they were written.
    for (const kept of [
      "policy:   {unmanaged: report,   maxDeactivations: 3}   # odd spacing kept\n",
      "    # the boss\n",
      "# trailing comment",
      "# her name",
      "    admin: {admin: true}\n",
      "# GDPR request 42",
      "bob: active # left in May\n\n\n",
      "# flow map",
    ])
      expect(text).toContain(kept);
    // Only the lines of the users that drifted change.
    const changed = patch.diff.split("\n").filter((l) => /^[-+][^-+]/.test(l));
    expect(changed.some((l) => l.includes("policy") || l.includes("erin") || l.includes("admin: {"))).toBe(false);
    // dave is deactivated: what only an active user carries goes.
    expect(text).toMatch(/"@dave:example.org":\n {8}state: deactivated\n {4}erin/);
    expect(text).not.toContain("gone:");
    // An unmanaged user comes in by its ID and state only: none of its personal data is printed.
    expect(text).toMatch(/^ {4}mallory: active$/m);
    expect(patch.diff).not.toContain("Mallory");
    expect(parse(text).users.alice.emails.sort()).toEqual(["al@example.org", "alice@example.org"]);
    expect(parse(text).users.carol).toEqual({ displayname: "Carol", admin: false });
  });

  it("never un-erases in the file: an erased user stays erased, and is left for apply; a server erasure is taken", () => {
    const text = "version: 1\nusers:\n  admin: { admin: true }\n  erin: erased\n  fay: erased\n  gus: deactivated\n";
    const files = [{ name: "u.yaml", text }];
    const { patch, after, again } = patchAndCheck(files, [
      ADMIN,
      have("erin", "active"), // reactivated, which un-erased it in Synapse
      have("fay", "deactivated"),
      have("gus", "erased"),
    ]);
    expect(patch.left.map((l) => `${l.class} ${l.userId}`)).toEqual([`reactivated @erin:${S}`, `erasure @fay:${S}`]);
    expect(patch.left[0]!.reason).toMatch(/never undone in the file; apply erases it again/);
    expect(after[0]!.text).toBe(text.replace("gus: deactivated", "gus: erased"));
    expect(again.items.map((i) => i.userId)).toEqual([`@erin:${S}`, `@fay:${S}`]);
  });

  it("leaves what apply carries out anyway: a scheduled step that came due, a complete erasure not finished", () => {
    const text =
      "version: 1\nusers:\n  admin: { admin: true }\n  hal: { deactivateOn: 1970-01-01 }\n  ivy: { state: erased, erasure: complete }\n";
    const files = [{ name: "u.yaml", text }];
    const { patch, after } = patchAndCheck(files, [
      ADMIN,
      have("hal", "active"), // the file's date has passed (the clock is 0 = 1970-01-01) and apply has not run
      have("ivy", "erased", { residue: { rooms: ["!r:x"], messages: 2, media: 0 } }),
    ]);
    expect(patch.left.map((l) => `${l.class} ${l.userId}`)).toEqual([`erasure @ivy:${S}`, `due @hal:${S}`]);
    expect(patch.left[1]!.reason).toMatch(/date has passed; apply carries it out; to cancel it, remove the date/);
    expect(patch.left[0]!.reason).toMatch(/complete erasure is not finished on the server: apply finishes it/);
    expect(after[0]!.text).toBe(text);
    expect(patch.diff).toBe("");
  });

  it("leaves what the file cannot settle: MAS and Synapse disagreeing, a Synapse-only account, a room's members", () => {
    const text = "version: 1\nusers:\n  admin: { admin: true }\n  jo: active\n  kim: active\n";
    const files = [{ name: "u.yaml", text }];
    const { desired, drift } = driftOf(files, [
      ADMIN,
      have("jo", "active", { disagreement: "active in Synapse, deactivated in MAS" }),
      have("kim", "active", { synapseOnly: true }),
    ]);
    drift.items.push({
      class: "member-left",
      userId: `@jo:${S}`,
      room: "#eng:example.org",
      expected: "joined",
      actual: "leave",
    });
    const patch = driftPatch(files, desired, drift);
    expect(patch.left.map((l) => `${l.class} ${l.userId}`).sort()).toEqual([
      `backends-disagree @jo:${S}`,
      `member-left @jo:${S}`,
      `synapse-only @kim:${S}`,
    ]);
    expect(patch.diff).toBe("");
  });

  it("a user deactivated or erased on the server: the shorthand's word changes, a map gets its state and loses its attributes", () => {
    const text =
      "version: 1\nusers:\n  admin: { admin: true }\n  hal: active # short\n  ivy: { displayname: Ivy, admin: false, allowReactivation: true } # flow\n";
    const { after, again } = patchAndCheck(
      [{ name: "u.yaml", text }],
      [ADMIN, have("hal", "deactivated"), have("ivy", "erased")],
    );
    expect(again.items).toEqual([]);
    expect(after[0]!.text).toBe(
      "version: 1\nusers:\n  admin: { admin: true }\n  hal: deactivated # short\n  ivy: { state: erased } # flow\n",
    );
  });

  it("a file whose lists are indented two ways: the edit still lands, the file still loads", () => {
    // Found by a fuzzer: a line-by-line merge of this file is not valid YAML (a list at two
    // indentations), which must make the patch fall back to a coarser merge, not fail.
    const text = [
      "version: 1",
      "users:",
      "   admin: {admin: true}",
      "   u0:",
      '      displayname:  "D0" # c100',
      "      emails:",
      "        - u0@example.org",
      "   u4:",
      '      displayname:  "D4"',
      "      emails:",
      "      - u4@example.org",
      "   u5:  active # c5",
      "",
    ].join("\n");
    const { after, again } = patchAndCheck(
      [{ name: "u.yaml", text }],
      [
        ADMIN,
        have("u0", "active", { displayname: "D0", emails: ["u0@example.org", "x@example.org"] }),
        have("u4", "active", { displayname: "D4", emails: ["u4@example.org", "y@example.org"] }),
        have("u5", "deactivated"),
      ],
    );
    expect(again.items).toEqual([]);
    expect(after[0]!.text).toContain("u5: deactivated # c5");
  });

  it("edits each user in the file of a directory that declares it; new users go to the root file", () => {
    const files: DesiredFile[] = [
      {
        name: "users/_root.yaml",
        part: "root",
        text: "version: 1\npolicy:\n  unmanaged: report\nusers:\n  admin: { admin: true }\n",
      },
      {
        name: "users/team-a.yaml",
        part: "member",
        text: "version: 1\nusers:\n  # team A\n  alice:\n    displayname: Alice\n",
      },
      {
        name: "users/team-b.yaml",
        part: "member",
        text: "version: 1\nusers:\n  bob: deactivated # B\n  carl: active\n",
      },
    ];
    const { patch, after, again } = patchAndCheck(files, [
      ADMIN,
      have("alice", "active", { displayname: "Alice Liddell" }),
      have("bob", "active"),
      have("carl", "active"),
      have("zed", "active", { displayname: "Zed" }),
    ]);
    expect(again.items).toEqual([]);
    expect(patch.files.map((f) => f.name)).toEqual(["users/_root.yaml", "users/team-a.yaml", "users/team-b.yaml"]);
    expect(after[0]!.text).toBe(
      "version: 1\npolicy:\n  unmanaged: report\nusers:\n  admin: { admin: true }\n  zed: active\n",
    );
    expect(after[1]!.text).toBe("version: 1\nusers:\n  # team A\n  alice:\n    displayname: Alice Liddell\n");
    expect(after[2]!.text).toBe("version: 1\nusers:\n  bob: active # B\n  carl: active\n");
    expect(parsePatch(patch.diff).map((p) => p.oldFileName)).toEqual(patch.files.map((f) => f.name));
  });

  it("adds new users in order where the file's users are sorted (as export writes them), else at the end", () => {
    const sorted = [
      { name: "u.yaml", text: "version: 1\nusers:\n  admin: {admin: true}\n  bea: active\n  dan: active\n" },
    ];
    const server = [ADMIN, have("bea", "active"), have("dan", "active"), have("cy", "active"), have("<<", "active")];
    const a = patchAndCheck(sorted, server);
    expect(Object.keys(parse(a.after[0]!.text).users)).toEqual(["<<", "admin", "bea", "cy", "dan"]);
    expect(a.after[0]!.text).toContain('"<<":');
    const unsorted = [
      { name: "u.yaml", text: "version: 1\nusers:\n  dan: active\n  admin: {admin: true}\n  bea: active\n" },
    ];
    const b = patchAndCheck(unsorted, server);
    expect(Object.keys(parse(b.after[0]!.text).users)).toEqual(["dan", "admin", "bea", "<<", "cy"]);
  });

  it("takes an attribute out of the file, with a note, when the file cannot hold the server's value", () => {
    const files = [
      {
        name: "u.yaml",
        text: "version: 1\nusers:\n  admin: {admin: true}\n  al:\n    avatarUrl: mxc://example.org/abc\n    displayname: Al\n",
      },
    ];
    const { patch, after, again } = patchAndCheck(files, [ADMIN, have("al", "active", { displayname: null })]);
    expect(again.items).toEqual([]);
    expect(after[0]!.text).toBe('version: 1\nusers:\n  admin: {admin: true}\n  al:\n    displayname: ""\n');
    expect(patch.notes).toEqual([
      { userId: `@al:${S}`, text: expect.stringMatching(/^avatarUrl is no longer managed/) },
    ]);
  });

  const YAML_SPECIALS = [
    "Bob: the builder",
    "# not a comment",
    "a #b",
    "- item",
    "? key",
    "&anchor",
    "*alias",
    "!tag",
    "%YAML",
    "{ flow: map }",
    "[1, 2]",
    "'single'",
    '"double"',
    "true",
    "null",
    "~",
    "123",
    "0x1F",
    "1e3",
    "---",
    "...",
    "|",
    ">",
    " leading and trailing ",
    "tab\there",
    "two\nlines",
    "three\n\nlines\n",
    "@alice:example.org",
    "<<",
    "\\ backslash \\n",
    "a display name longer than forty characters\nwith a second line",
  ];

  it("writes hostile display names through the yaml library: each reads back as the server's; a new user's are not written", () => {
    const names = [...YAML_SPECIALS, ...HOSTILE];
    const localparts = names.map((_, i) => `u${i}`);
    const text = `version: 1\nusers:\n  admin: {admin: true}\n${localparts.map((l) => `  ${l}: {displayname: x}  # keep ${l}\n`).join("")}`;
    const server = [
      ADMIN,
      ...names.map((name, i) => have(localparts[i]!, "active", { displayname: name })),
      ...names.map((name, i) => have(`new${i}`, "active", { displayname: name })),
    ];
    const { patch, after, again } = patchAndCheck([{ name: "u.yaml", text }], server);
    expect(again.items).toEqual([]);
    const users = parse(after[0]!.text).users;
    names.forEach((name, i) => {
      expect(users[`u${i}`].displayname).toBe(name);
      expect(users[`new${i}`]).toBe("active");
    });
    for (const l of localparts) expect(after[0]!.text).toContain(`# keep ${l}\n`);
    // Each user stays on one line: a line break in a value is written `\n`, never folded.
    expect(after[0]!.text).toContain('  u25: { displayname: "two\\nlines" } # keep u25\n');
    expect(after[0]!.text).toContain(
      '  u30: { displayname: "a display name longer than forty characters\\nwith a second line" } # keep u30\n',
    );
    // The printed patch holds no control or format character raw (but the joiners scripts need).
    const printed = renderPatchText(patch);
    expect(printed).not.toMatch(/(?![\n\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  });

  it("adds a user the file does not manage by its ID and state only: none of its personal data reaches the patch or the issue", () => {
    const files = [
      { name: "u.yaml", text: "version: 1\npolicy: {unmanaged: report}\nusers:\n  admin: {admin: true}\n" },
    ];
    const secret = {
      displayname: "Zoe Private",
      avatarUrl: "mxc://example.org/zoeface",
      admin: true,
      emails: ["zoe.private@example.com"],
      externalIds: [{ provider: "oidc-corp", id: "zoe-subject-4711" }],
    };
    const { drift, desired } = driftOf(files, [ADMIN, have("zoe", "active", secret)]);
    const patch = driftPatch(files, desired, drift);
    expect(patch.files[0]!.after).toBe(
      "version: 1\npolicy: {unmanaged: report}\nusers:\n  admin: {admin: true}\n  zoe: active\n",
    );
    const printed = [JSON.stringify(drift), renderPatchText(patch), renderPatchMarkdown(drift, patch, "u.yaml")].join(
      "\n",
    );
    for (const data of ["Zoe Private", "zoeface", "zoe.private@example.com", "zoe-subject-4711", "oidc-corp"])
      expect(printed).not.toContain(data);
  });

  it("fences any patch so that no line of it closes the fence", () => {
    // A block scalar's line of backticks, shown as a context line: three spaces and a fence.
    const diff = "--- u.yaml\n+++ u.yaml\n@@ -1,2 +1,2 @@\n   ````\n-  a: b\n+  a: c\n   ```\n";
    const report = { serverName: S, drifted: true, counts: {}, items: [] } as unknown as DriftReport;
    const md = renderPatchMarkdown(
      report,
      { files: [{ name: "u.yaml", before: "", after: "" }], diff, accepted: 1, left: [], notes: [] },
      "u.yaml",
    );
    const fence = /^(`{3,})diff$/m.exec(md)![1]!;
    expect(fence.length).toBeGreaterThan(4);
    expect(md).toContain(`${fence}diff\n${diff}${fence}\n`);
  });

  it("puts the patch in the drift issue in a fence no line can close, next to the apply command", () => {
    const files = [{ name: "u.yaml", text: "version: 1\nusers:\n  admin: {admin: true}\n  bob: {displayname: Bob}\n" }];
    const name = "````\n# pwned\n````";
    const { drift, desired } = driftOf(files, [ADMIN, have("bob", "active", { displayname: name })]);
    const md = renderPatchMarkdown(drift, driftPatch(files, desired, drift), "u.yaml");
    expect(md).toContain("`synapse-gitops apply u.yaml`");
    expect(md).toContain("`synapse-gitops drift u.yaml --format patch --write`");
    const fence = /^(`{3,})diff$/m.exec(md)![1]!;
    const body = md.slice(md.indexOf(`${fence}diff\n`) + fence.length + 5).split("\n");
    // The first line that could close the fence is the fence itself, at the end.
    const closing = body.findIndex((l) => /^ {0,3}`{3,}\s*$/.test(l) && l.trim().length >= fence.length);
    expect(body[closing]).toBe(fence);
    expect(
      body
        .slice(closing + 1)
        .join("")
        .trim(),
    ).toBe("");
  });
});

describe("drift --format patch --write", () => {
  const dir = mkdtempSync(join(tmpdir(), "patch-write-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces the file atomically with the patched text, keeping its mode and leaving no temporary file", async () => {
    const name = join(dir, "ok.yaml");
    writeFileSync(name, "before\n");
    chmodSync(name, 0o640);
    await writePatchedFiles([{ name, before: "before\n", after: "after\n" }]);
    expect(readFileSync(name, "utf8")).toBe("after\n");
    expect(statSync(name).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["ok.yaml"]);
  });

  it("refuses, writing nothing, when any file changed since it was read", async () => {
    const a = join(dir, "a.yaml");
    const b = join(dir, "b.yaml");
    writeFileSync(a, "a\n");
    writeFileSync(b, "b changed by someone\n");
    await expect(
      writePatchedFiles([
        { name: a, before: "a\n", after: "A\n" },
        { name: b, before: "b\n", after: "B\n" },
      ]),
    ).rejects.toThrow(/b\.yaml changed since drift read it; nothing was written/);
    expect(readFileSync(a, "utf8")).toBe("a\n");
    expect(readFileSync(b, "utf8")).toBe("b changed by someone\n");
  });

  it("refuses a symbolic link and what is not a regular file", async () => {
    const target = join(dir, "target.yaml");
    writeFileSync(target, "t\n");
    const link = join(dir, "link.yaml");
    symlinkSync(target, link);
    await expect(writePatchedFiles([{ name: link, before: "t\n", after: "T\n" }])).rejects.toThrow(
      /link\.yaml is a symbolic link: --write replaces only regular files; nothing was written/,
    );
    expect(readFileSync(target, "utf8")).toBe("t\n");
    await expect(writePatchedFiles([{ name: dir, before: "", after: "x" }])).rejects.toThrow(/is not a regular file/);
  });
});
