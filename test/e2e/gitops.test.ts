// Saved plans, drift detection and Matrix-room notifications: the built CLI against the real Synapse.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, serverEnv, tempFiles } from "../support/cli.js";
import { clientFor, login, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const usersFile = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;

describe("saved plans: plan --out, apply --plan", () => {
  it("applies exactly the saved plan, holds no token, and only with the file it was made from", async () => {
    const [a, b] = [uniqueLocalpart("saved-a"), uniqueLocalpart("saved-b")];
    await client.createUser(id(b), {});
    const original = usersFile(`  ${a}:\n    displayname: From Plan\n  ${b}: deactivated\n`);
    const dir = tempFiles({ "users.yaml": original });
    const usersPath = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    const made = await runCli(["plan", usersPath, "--out", planFile], env);
    expect(made.code).toBe(0);
    const saved = readFileSync(planFile, "utf8");
    expect(saved).not.toContain(server.token);
    expect(JSON.parse(saved)).toMatchObject({
      kind: "synapse-gitops-plan",
      formatVersion: 2,
      serverName: server.serverName,
      homeserver: server.url,
      desired: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      plan: {
        policy: { unmanaged: "ignore", maxDeactivations: 10, maxErasures: 5, protected: [] },
        actions: [
          { userId: id(a), from: "absent" },
          { userId: id(b), from: "active", observed: { admin: false, locked: false } },
        ],
      },
    });
    // The file changed after the plan was made (say, a plan made from a pull request's file, applied
    // on the default branch): refused whole, nothing changed.
    writeFileSync(usersPath, usersFile(`  ${a}: erased\n  ${b}: erased\n`));
    const refused = await runCli(["apply", usersPath, "--plan", planFile, "--yes"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/users\.yaml changed since .*plan\.json was made/);
    expect(await client.findUser(id(a))).toBeUndefined();
    // With the file it was made from, the plan applies: what was reviewed, nothing more.
    writeFileSync(usersPath, original);
    const applied = await runCli(["apply", usersPath, "--plan", planFile, "--yes"], env);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(await client.getUser(id(a))).toMatchObject({ state: "active", displayname: "From Plan" });
    expect((await client.getUser(id(b))).state).toBe("deactivated");
  });

  it("refuses a stale plan whole, one line per changed user, and changes nothing", async () => {
    const [bob, carl, dora] = [uniqueLocalpart("bob"), uniqueLocalpart("carl"), uniqueLocalpart("dora")];
    await client.createUser(id(bob), {});
    await client.deactivate(id(bob), { erase: false });
    await client.createUser(id(carl), {});
    const dir = tempFiles({
      "users.yaml": usersFile(`  ${bob}: erased\n  ${carl}: deactivated\n  ${dora}:\n    displayname: Dora\n`),
    });
    const usersPath = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    expect((await runCli(["plan", usersPath, "--out", planFile, "--max-erasures", "5"], env)).code).toBe(0);
    // Behind the plan's back: bob is reactivated by hand; carl is made an admin.
    await client.modifyUser(id(bob), { deactivated: false });
    await client.modifyUser(id(carl), { admin: true });
    const run = await runCli(["apply", usersPath, "--plan", planFile, "--yes"], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`plan is stale: ${id(bob)} was reactivated since the plan; run plan again`);
    expect(run.stderr).toContain(`plan is stale: ${id(carl)} was made an admin since the plan; run plan again`);
    expect(run.stderr).toContain("Nothing was applied.");
    expect((await client.getUser(id(bob))).state).toBe("active");
    expect((await client.getUser(id(carl))).state).toBe("active");
    expect(await client.findUser(id(dora))).toBeUndefined();
  });

  it("holds the limits of the run that applies it, not of the run that made it", async () => {
    const victim = uniqueLocalpart("limit-victim");
    await client.createUser(id(victim), {});
    const dir = tempFiles({ "users.yaml": usersFile(`  ${victim}: erased\n`) });
    const usersPath = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    expect((await runCli(["plan", usersPath, "--out", planFile], env)).code).toBe(0);
    const run = await runCli(["apply", usersPath, "--plan", planFile, "--yes", "--max-erasures", "0"], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the plan erases 1 users, over the limit of 0/);
    expect((await client.getUser(id(victim))).state).toBe("active");
  });

  it("refuses a tampered, malformed, unsealed, other-version, expired or other-homeserver plan file", async () => {
    const u = uniqueLocalpart("tamper");
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}: active\n`) });
    const usersPath = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    await runCli(["plan", usersPath, "--out", planFile], env);
    const good = JSON.parse(readFileSync(planFile, "utf8"));
    const shortLived = join(dir, "short.json");
    await runCli(["plan", usersPath, "--out", shortLived, "--out-ttl", "1s"], env);
    await new Promise((r) => setTimeout(r, 1100));
    const variants: [string, string, RegExp, Record<string, string>?][] = [
      [
        "tampered",
        JSON.stringify({
          ...good,
          plan: { ...good.plan, actions: good.plan.actions.map((a: object) => ({ ...a, to: "erased" })) },
        }),
        /was changed after it was made/,
      ],
      ["re-pointed", JSON.stringify({ ...good, homeserver: "http://127.0.0.1:9" }), /was changed after it was made/],
      ["malformed", "{ not json", /is not a plan file: it is not JSON/],
      ["malformed mac", JSON.stringify({ ...good, mac: "é".repeat(64) }), /is not sealed/],
      ["other version", JSON.stringify({ ...good, formatVersion: 99 }), /plan format version 99/],
      ["expired", readFileSync(shortLived, "utf8"), /expired at/],
      [
        "other homeserver",
        JSON.stringify(good),
        /was made for .*, but this run's homeserver is/,
        {
          SYNAPSE_URL: server.url.replace("127.0.0.1", "localhost"),
        },
      ],
    ];
    for (const [name, text, message, extra] of variants) {
      writeFileSync(planFile, text);
      const run = await runCli(["apply", usersPath, "--plan", planFile, "--yes"], { ...env, ...extra });
      expect(run.code, name).toBe(1);
      expect(run.stderr, name).toMatch(message);
      expect(run.stderr, name).not.toMatch(/^\s+at /m);
      expect(run.stderr.split("\n").filter(Boolean), name).toHaveLength(1);
    }
    expect(await client.findUser(id(u))).toBeUndefined();
  });
});

describe("drift", () => {
  it("exits 0 without drift and 2 with it, classifying each item, reactivations first", async () => {
    const [left, back, gone, ren, missing] = ["left", "back", "gone", "ren", "missing"].map(uniqueLocalpart) as [
      string,
      string,
      string,
      string,
      string,
    ];
    for (const u of [left, back, gone, ren]) await client.createUser(id(u), { displayname: u });
    await client.deactivate(id(left), { erase: false });
    await client.deactivate(id(gone), { erase: true });
    const dir = tempFiles({
      "users.yaml": usersFile(
        `  ${left}: deactivated\n  ${back}: active\n  ${gone}: erased\n  ${ren}:\n    displayname: ${ren}\n`,
      ),
    });
    const file = join(dir, "users.yaml");
    const clean = await runCli(["drift", file], env);
    expect(clean.stdout).toBe(`No drift: ${server.serverName} matches the file.\nAccounts backend: synapse.\n`);
    expect(clean.code).toBe(0);

    // Out-of-band changes, as an admin UI would make them.
    await client.modifyUser(id(left), { deactivated: false });
    await client.deactivate(id(back), { erase: false });
    await client.modifyUser(id(ren), { displayname: "Renamed By Hand" });
    writeFileSync(file, `${readFileSync(file, "utf8")}  ${missing}: active\n`);

    const text = await runCli(["drift", file], env);
    expect(text.code).toBe(2);
    expect(text.stdout.indexOf("[reactivated]")).toBeLessThan(text.stdout.indexOf("[deactivated-out-of-band]"));
    const json = JSON.parse((await runCli(["drift", file, "--format", "json"], env)).stdout);
    expect(json).toMatchObject({ formatVersion: 1, command: "drift", drifted: true });
    expect(json.items.map((i: { class: string; userId: string }) => `${i.class} ${i.userId}`)).toEqual([
      `reactivated ${id(left)}`,
      `deactivated-out-of-band ${id(back)}`,
      `missing ${id(missing)}`,
      `attributes ${id(ren)}`,
    ]);
    expect(json.items[3].changes).toEqual([{ attribute: "displayname", from: "Renamed By Hand", to: ren }]);
    const md = (await runCli(["drift", file, "--format", "markdown"], env)).stdout;
    expect(md).toContain(`🚨 Reactivated behind the file's back`);
  });
});

describe("notifications in a Matrix room", () => {
  async function createRoom(token: string, aliasName?: string): Promise<string> {
    const res = await fetch(`${server.url}/_matrix/client/v3/createRoom`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ preset: "private_chat", ...(aliasName ? { room_alias_name: aliasName } : {}) }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { room_id: string }).room_id;
  }

  async function notices(roomId: string): Promise<{ body: string; formatted_body?: string; msgtype: string }[]> {
    const res = await fetch(
      `${server.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
      {
        headers: { authorization: `Bearer ${server.token}` },
      },
    );
    const body = (await res.json()) as {
      chunk: { type: string; content: { msgtype: string; body: string; formatted_body?: string } }[];
    };
    return body.chunk
      .filter((e) => e.type === "m.room.message" && e.content.msgtype === "m.notice")
      .map((e) => e.content);
  }

  it("posts the plan as an m.notice with HTML and text bodies, only when there is something to say", async () => {
    const alias = uniqueLocalpart("ops");
    const roomId = await createRoom(server.token, alias);
    const u = uniqueLocalpart("notified");
    const dir = tempFiles({ "users.yaml": usersFile(`  ${u}:\n    displayname: Notified\n`) });
    const file = join(dir, "users.yaml");
    const run = await runCli(["plan", file, "--notify-room", `#${alias}:${server.serverName}`], env);
    expect(run.code).toBe(0);
    let posted = await notices(roomId);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.body).toContain(`+ ${id(u)}  create`);
    expect(posted[0]!.formatted_body).toContain("<table>");
    expect(posted[0]!.formatted_body).toContain(`<code>${id(u)}</code>`);

    await runCli(["apply", file, "--yes", "--notify-room", roomId], env);
    posted = await notices(roomId);
    expect(posted).toHaveLength(2);
    expect(posted[0]!.body).toMatch(/Apply: 1 done, 0 failed, 0 stale\./);

    // Nothing to say: no post, unless --notify-always.
    await runCli(["plan", file, "--notify-room", roomId], env);
    expect(await notices(roomId)).toHaveLength(2);
    await runCli(["drift", file, "--notify-room", roomId, "--notify-always"], env);
    posted = await notices(roomId);
    expect(posted).toHaveLength(3);
    expect(posted[0]!.body).toBe(`No drift: ${server.serverName} matches the file.\nAccounts backend: synapse.\n`);
  });

  it("a room the admin is not in is one clear error", async () => {
    const outsider = id(uniqueLocalpart("outsider"));
    await client.createUser(outsider, { password: "outsider-password" });
    const roomId = await createRoom(await login(server, outsider, "outsider-password"));
    const dir = tempFiles({ "users.yaml": usersFile(`  ${uniqueLocalpart("x")}: active\n`) });
    const run = await runCli(["plan", join(dir, "users.yaml"), "--notify-room", roomId], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: cannot post to the Matrix room ${roomId.replace(/[.!]/g, "\\$&")}: .* \\(invite the admin token's user to the room and join it\\)\\n$`,
      ),
    );
  });
});
