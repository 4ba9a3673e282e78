// Complete erasure and suspension (issue 15) in the pure parts: the planner, drift, the reports, the
// loader, what the read phase is asked to fetch, and the order apply runs a purge in.
import { describe, expect, it } from "vitest";
import { redactAndWait } from "../../src/accounts/purge.js";
import { applyPlan } from "../../src/apply/apply.js";
import type { ApplyLock } from "../../src/apply/lock.js";
import { ConfigError, parseDesiredState } from "../../src/config/load.js";
import type { AccountState, ErasureResidue } from "../../src/domain/account.js";
import type { AccountsBackend, UserChanges } from "../../src/domain/accounts.js";
import type { Plan } from "../../src/domain/plan.js";
import { detectDrift } from "../../src/plan/drift.js";
import { needsResidue } from "../../src/plan/erasure.js";
import { planUsers } from "../../src/plan/plan.js";
import { policyChanges } from "../../src/plan/policy.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderPlanText } from "../../src/report/text.js";
import { planFromSnapshot, readSnapshot, writeSnapshot } from "../../src/snapshot/snapshot.js";
import type { SynapseClient } from "../../src/synapse/client.js";
import { have, planInput as input, OWN, SERVER as S, want } from "../support/users.js";

const residue = (messages: number, media: number, rooms = 2): ErasureResidue => ({
  rooms: Array.from({ length: rooms }, (_, i) => `!r${i}:${S}`),
  messages,
  media,
});

describe("planning a complete erasure", () => {
  it("an active or deactivated user: an irreversible erase carrying the counts", () => {
    for (const from of ["active", "deactivated"] as const) {
      const plan = planUsers(
        input([want("bob", "erased", { erasure: "complete" })], [have("bob", from, { residue: residue(7, 3) })]),
      );
      expect(plan.refusals).toEqual([]);
      expect(plan.actions).toMatchObject([
        { kind: "erase", from, to: "erased", irreversible: true, purge: { rooms: 2, messages: 7, media: 3 } },
      ]);
    }
  });

  it("the policy's erasure is the default; the entry's wins", () => {
    const users = [want("a", "erased"), want("b", "erased", { erasure: "standard" })];
    const actual = [have("a", "active", { residue: residue(1, 1) }), have("b", "active", { residue: residue(1, 1) })];
    const plan = planUsers(input(users, actual, { erasure: "complete" }));
    expect(plan.actions.map((a) => [a.userId, a.purge !== undefined])).toEqual([
      [`@a:${S}`, true],
      [`@b:${S}`, false],
    ]);
    // Without a policy, standard: no purge.
    expect(planUsers(input([want("a", "erased")], [have("a", "active")])).actions[0]!.purge).toBeUndefined();
  });

  it("an erased user with messages or media left: an erasure that finishes the purge; with nothing left, nothing", () => {
    const finish = (r: ErasureResidue | undefined) =>
      planUsers(input([want("e", "erased", { erasure: "complete" })], [have("e", "erased", r ? { residue: r } : {})]));
    expect(finish(residue(4, 0)).actions).toMatchObject([
      { kind: "erase", from: "erased", to: "erased", irreversible: true, purge: { rooms: 2, messages: 4, media: 0 } },
    ]);
    expect(finish(residue(0, 2)).actions).toHaveLength(1);
    expect(finish(residue(0, 0, 5)).actions).toEqual([]); // rooms alone are no residue
    expect(finish(undefined).actions).toEqual([]); // not read (a snapshot): nothing is claimed
    expect(finish(residue(4, 0)).summary.erase).toBe(1);
  });

  it("finishing purges count against maxErasures, and a protected user's is refused", () => {
    const users = [want("x", "erased", { erasure: "complete" }), want("y", "erased", { erasure: "complete" })];
    const actual = [have("x", "erased", { residue: residue(1, 0) }), have("y", "erased", { residue: residue(0, 1) })];
    expect(planUsers(input(users, actual, { maxErasures: 1 })).refusals.map((r) => r.code)).toEqual(["max-erasures"]);
    const guarded = planUsers(input(users.slice(0, 1), actual.slice(0, 1), { protected: [`@x:${S}`] }));
    expect(guarded.refusals.map((r) => r.code)).toEqual(["protected-user"]);
  });

  it("a create of an erased user purges nothing; a plan against a snapshot has no counts", () => {
    expect(planUsers(input([want("n", "erased", { erasure: "complete" })], [])).actions[0]!.purge).toBeUndefined();
    const offline = planUsers(input([want("o", "erased", { erasure: "complete" })], [have("o", "active")]));
    expect(offline.actions[0]!.purge).toEqual({ rooms: null, messages: null, media: null });
  });
});

describe("the read phase fetches the residue of the users a complete erasure concerns, and no one else", () => {
  it("needsResidue", () => {
    const desired = new Map(
      [want("c", "erased", { erasure: "complete" }), want("s", "erased"), want("a", "active")].map((u) => [
        u.userId,
        u,
      ]),
    );
    const asked = (policy: "standard" | "complete" | undefined) =>
      ["c", "s", "a", "other"].filter((l) => needsResidue(desired, { erasure: policy }, 0)(have(l, "active")));
    expect(asked(undefined)).toEqual(["c"]);
    expect(asked("complete")).toEqual(["c", "s"]);
    expect(needsResidue(new Map([[`@s:${S}`, want("s", "erased")]]), {}, 0)(have("s", "erased"))).toBe(false);
  });

  it("a scheduled erasure (eraseOn) is complete as its entry asks once it is due, and only then read", () => {
    const erase = { on: "2027-01-30", at: Date.UTC(2027, 0, 30) };
    const dated = want("d", "deactivated", { erasure: "complete", schedule: { erase } });
    const desired = new Map([[dated.userId, dated]]);
    expect(needsResidue(desired, {}, erase.at - 1)(have("d", "deactivated"))).toBe(false);
    expect(needsResidue(desired, {}, erase.at)(have("d", "deactivated"))).toBe(true);
    const actual = [have("d", "deactivated", { residue: residue(3, 2) })];
    const due = planUsers({ ...input([dated], actual), now: erase.at });
    expect(due.actions).toMatchObject([{ kind: "erase", due: "2027-01-30", purge: { messages: 3, media: 2 } }]);
  });
});

describe("drift", () => {
  it("an erased user whose complete erasure left messages or media is erasure drift", () => {
    const report = detectDrift(
      input([want("e", "erased", { erasure: "complete" })], [have("e", "erased", { residue: residue(3, 1) })]),
    );
    expect(report.items).toEqual([
      {
        class: "erasure",
        userId: `@e:${S}`,
        expected: "erased (complete)",
        actual: "erased, but 3 messages and 1 media are left",
      },
    ]);
    const clean = detectDrift(
      input([want("e", "erased", { erasure: "complete" })], [have("e", "erased", { residue: residue(0, 0) })]),
    );
    expect(clean.drifted).toBe(false);
  });
});

describe("reports", () => {
  it("show a complete erasure as irreversible, with its counts, in text and Markdown", () => {
    const plan = planUsers(
      input(
        [want("a", "erased", { erasure: "complete" }), want("e", "erased", { erasure: "complete" })],
        [have("a", "active", { residue: residue(1, 0, 1) }), have("e", "erased", { residue: residue(0, 2) })],
        { erasure: "complete" },
      ),
    );
    const text = renderPlanText({ command: "plan", plan });
    expect(text).toContain(`! @a:${S}  erase completely: redact 1 message in 1 room, delete 0 media — IRREVERSIBLE`);
    expect(text).toContain(
      `! @e:${S}  finish the complete erasure: redact 0 messages in 2 rooms, delete 2 media — IRREVERSIBLE`,
    );
    expect(text).toContain("maxErasures 5, erasure complete, protected");
    expect(renderMarkdown({ command: "plan", plan })).toContain(
      "**erase completely: redact 1 message in 1 room, delete 0 media — IRREVERSIBLE**",
    );
  });
});

describe("suspension", () => {
  it("is planned as an attribute change of an active user, and refused for the admin token's own user", () => {
    const plan = planUsers(
      input([want("m", "active", { suspended: true })], [have("m", "active", { suspended: false })]),
    );
    expect(plan.actions).toMatchObject([
      { kind: "update", changes: [{ attribute: "suspended", from: false, to: true }] },
    ]);
    const own = planUsers(
      input(
        [want("admin", "active", { suspended: true })],
        [have("admin", "active", { admin: true, suspended: false })],
      ),
    );
    expect(own.refusals).toMatchObject([
      { code: "own-user", message: expect.stringContaining("refusing to suspend it") },
    ]);
    // Unsuspending is no harm: allowed even for the own user.
    const lift = planUsers(
      input(
        [want("admin", "active", { suspended: false })],
        [have("admin", "active", { admin: true, suspended: true })],
      ),
    );
    expect(lift.refusals).toEqual([]);
  });

  it("drift shows a suspension changed on the server", () => {
    const report = detectDrift(
      input([want("m", "active", { suspended: true })], [have("m", "active", { suspended: false })]),
    );
    expect(report.items).toMatchObject([
      { class: "attributes", changes: [{ attribute: "suspended", from: false, to: true }] },
    ]);
  });
});

describe("the users file", () => {
  const load = (text: string) => parseDesiredState([{ name: "users.yaml", text }], { serverName: S });
  it("erasure on an erased user, and as a policy default", () => {
    const state = load(
      "version: 1\npolicy:\n  erasure: complete\nusers:\n  a:\n    state: erased\n    erasure: standard\n  b: erased\n",
    );
    expect(state.policy.erasure).toBe("complete");
    expect(state.users.get(`@a:${S}`)!.erasure).toBe("standard");
    expect(state.users.get(`@b:${S}`)!.erasure).toBeUndefined();
  });

  it("erasure on a user that is not erased, suspended on one that is not active, or a wrong value: one clear message each", () => {
    const error = (text: string) => {
      try {
        load(text);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(error("version: 1\nusers:\n  a:\n    state: deactivated\n    erasure: complete\n")).toContain(
      "users.yaml:5:5 users.a.erasure: erasure is only allowed on erased users or with eraseOn (a is deactivated)",
    );
    expect(error("version: 1\nusers:\n  a:\n    state: erased\n    suspended: true\n")).toContain(
      "users.yaml:5:5 users.a.suspended: attributes are only allowed on active users (a is erased)",
    );
    expect(error("version: 1\nusers:\n  a:\n    state: erased\n    erasure: total\n")).toContain(
      "users.a.erasure: must be one of standard, complete",
    );
  });
});

describe("apply runs the purge before the erase, and not the erase when the purge leaves something", () => {
  function backend(leftAfterPurge: ErasureResidue): { accounts: AccountsBackend; calls: string[] } {
    const calls: string[] = [];
    let purged = false;
    let state: AccountState = "active";
    const user = () => have("p", state);
    const accounts: AccountsBackend = {
      name: "test",
      async *listUsers() {
        yield [user()];
      },
      findUser: async () => user(),
      createUser: async () => ({ created: true }),
      updateUser: async (_id: string, _c: UserChanges) => {},
      setLocked: async () => {},
      deactivate: async () => {},
      erase: async () => {
        calls.push("erase");
        state = "erased";
      },
      reactivate: async () => {},
      erasureResidue: async () => {
        calls.push("residue");
        return purged ? leftAfterPurge : residue(2, 1);
      },
      redactMessages: async (_id, rooms) => {
        calls.push(`redact ${rooms.length} rooms`);
        purged = true;
        return 0;
      },
      deleteMedia: async () => {
        calls.push("delete media");
        return 1;
      },
    };
    return { accounts, calls };
  }
  const lock = async (): Promise<ApplyLock> =>
    ({ held: () => true, confirm: async () => {}, release: async () => {} }) as unknown as ApplyLock;
  const plan = (): Plan =>
    planUsers(input([want("p", "erased", { erasure: "complete" })], [have("p", "active", { residue: residue(2, 1) })]));

  it("residue read live, redaction, media, residue checked, then the erase", async () => {
    const { accounts, calls } = backend(residue(0, 0));
    const result = await applyPlan(accounts, plan(), { concurrency: 1, lock });
    expect(result.summary.done).toBe(1);
    expect(calls).toEqual(["residue", "redact 2 rooms", "delete media", "residue", "erase"]);
  });

  it("messages left after the purge: the action fails and the user is not erased", async () => {
    const { accounts, calls } = backend(residue(1, 0));
    const result = await applyPlan(accounts, plan(), { concurrency: 1, lock });
    expect(result.summary.failed).toBe(1);
    expect(result.results[0]!.message).toContain("1 messages and 0 media of @p:example.org are left after the purge");
    expect(calls).not.toContain("erase");
  });
});

describe("suspension in an inventory snapshot (plans without the token)", () => {
  const meta = {
    serverName: S,
    homeserver: "https://matrix.example.org",
    ownUserId: OWN,
    takenAt: "2026-01-01T00:00:00.000Z",
  };
  it("is kept where it was read, and listed as not compared where it was not", () => {
    const users = [
      have("admin", "active", { admin: true }),
      have("s", "active", { suspended: true }),
      have("t", "active"),
    ];
    const snapshot = readSnapshot(writeSnapshot(users, meta), "snap.json");
    expect(snapshot.users.get(`@s:${S}`)!.suspended).toBe(true);
    const desired = new Map(
      [want("s", "active", { suspended: false }), want("t", "active", { suspended: true })].map((u, index) => [
        u.userId,
        { ...u, index },
      ]),
    );
    const { plan, notCompared } = planFromSnapshot(
      snapshot,
      desired,
      {
        unmanaged: "ignore",
        maxDeactivations: 10,
        maxErasures: 5,
        protected: [],
      },
      0,
    );
    expect(plan.actions).toMatchObject([
      { userId: `@s:${S}`, changes: [{ attribute: "suspended", from: true, to: false }] },
    ]);
    expect(notCompared).toEqual([{ userId: `@t:${S}`, attribute: "suspended" }]);
  });
});

describe("waiting for Synapse's redaction task is bounded", () => {
  const client = (statuses: ({ status: string; failed: number } | undefined)[]) => {
    let polled = 0;
    const stub = {
      redactUserEvents: async () => "task-1",
      redactStatus: async () => statuses[Math.min(polled++, statuses.length - 1)],
    };
    return { client: stub as unknown as SynapseClient, polls: () => polled };
  };
  const pauses: number[] = [];
  const timing = { maxWaitMs: 10_000, sleep: async (ms: number) => void pauses.push(ms) };

  it("polls with growing pauses until complete, and returns the events Synapse could not redact", async () => {
    pauses.length = 0;
    const c = client([
      { status: "scheduled", failed: 0 },
      { status: "active", failed: 0 },
      { status: "complete", failed: 2 },
    ]);
    expect(await redactAndWait(c.client, "@u:x", ["!r:x"], timing)).toBe(2);
    expect(pauses).toEqual([100, 200]);
  });

  it("gives up after maxWaitMs, saying the task goes on and how to finish", async () => {
    pauses.length = 0;
    const c = client([{ status: "active", failed: 0 }]);
    await expect(redactAndWait(c.client, "@u:x", ["!r:x"], timing)).rejects.toThrow(
      /still active after 1\d s; it goes on on the server: plan and apply again to finish the purge/,
    );
    expect(pauses.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000);
    expect(c.polls()).toBeLessThan(20);
  });

  it("a failed or forgotten task is an error; no rooms, no task", async () => {
    await expect(
      redactAndWait(client([{ status: "failed", failed: 0 }]).client, "@u:x", ["!r:x"], timing),
    ).rejects.toThrow("redaction of @u:x's messages failed");
    await expect(redactAndWait(client([undefined]).client, "@u:x", ["!r:x"], timing)).rejects.toThrow("forgot");
    const none = client([]);
    expect(await redactAndWait(none.client, "@u:x", [], timing)).toBe(0);
    expect(none.polls()).toBe(0);
  });
});

describe("a pull request that turns complete erasure on loosens the policy", () => {
  it("standard → complete loosens; complete → standard is shown, not flagged", () => {
    const base = { unmanaged: "report", maxDeactivations: 10, maxErasures: 5, protected: [] } as const;
    const p = (erasure?: "standard" | "complete") => ({ ...base, protected: [], ...(erasure ? { erasure } : {}) });
    expect(policyChanges(p(), p("complete"))).toEqual([
      { setting: "erasure", description: "erasure standard → complete", loosens: true },
    ]);
    expect(policyChanges(p("complete"), p("standard"))).toEqual([
      { setting: "erasure", description: "erasure complete → standard", loosens: false },
    ]);
    expect(policyChanges(p(), p("standard"))).toEqual([]);
  });
});
