// drift --format patch: the users file edited to match the server, comments and layout kept.
import { applyPatch, parsePatch } from "diff";
import { describe, expect, it } from "vitest";
import { type DesiredFile, parseDesiredState } from "../../src/config/load.js";
import { driftPatch } from "../../src/config/patch.js";
import type { ActualUser } from "../../src/domain/account.js";
import { detectDrift } from "../../src/plan/drift.js";

const S = "example.org";
const OWN = `@admin:${S}`;

function have(localpart: string, state: ActualUser["state"], more: Partial<ActualUser> = {}): ActualUser {
  return {
    userId: localpart.startsWith("@") ? localpart : `@${localpart}:${S}`,
    state,
    locked: false,
    admin: false,
    displayname: null,
    avatarUrl: null,
    userType: null,
    isGuest: false,
    shadowBanned: false,
    creationTs: 0,
    emails: [],
    externalIds: [],
    appserviceId: null,
    ...more,
  };
}

function driftOf(files: DesiredFile[], actual: ActualUser[]) {
  const desired = parseDesiredState(files, { serverName: S });
  const drift = detectDrift({
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
  for (const one of parsePatch(patch.diff)) {
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
    console.log(patch.diff);
    for (const kept of [
      "# odd spacing kept",
      "# the boss",
      "# trailing comment",
      "# her name",
      "# left in May",
      "# flow map",
      "# GDPR request 42",
      "policy:   {unmanaged",
    ])
      expect(text).toContain(kept);
  });
});
