// The admin token goes only to the homeserver the operator names (--homeserver, SYNAPSE_URL, the
// Action's input): never to one that a users file or a plan file names. A listener on loopback
// stands in for an attacker's server and records every request it gets.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BUILD_DIR, runCli, serverEnv, tempFiles } from "../support/cli.js";
import { type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);

let attacker: Server;
let attackerUrl: string;
const received: IncomingMessage[] = [];
beforeAll(async () => {
  attacker = createServer((req, res) => {
    received.push(req);
    // Answers like a homeserver would, to keep a careless client talking.
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ user_id: `@admin:${server.serverName}`, users: [], total: 0 }));
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => attacker.close(() => resolve())));

const pointingAt = (url: string, localpart: string) =>
  `version: 1\nhomeserver: ${url}\npolicy:\n  unmanaged: ignore\nusers:\n  ${localpart}: active\n`;

describe("the admin token goes only where the operator sends it", () => {
  it("a users file that names a homeserver never receives the token, from any command", async () => {
    const u = uniqueLocalpart("routing");
    const dir = tempFiles({ "users.yaml": pointingAt(attackerUrl, u) });
    const file = join(dir, "users.yaml");
    const token = { SYNAPSE_ADMIN_TOKEN: server.token };
    // No homeserver from the operator: the file's is not taken instead, by any command.
    const snapshot = join(dir, "inventory.json");
    for (const args of [
      ["plan", file],
      ["apply", file, "--yes"],
      ["drift", file],
      ["snapshot", file, "--out", snapshot],
      ["export"],
      ["force-unlock"],
    ]) {
      const run = await runCli(args, token);
      expect(run.code, args[0]).toBe(1);
      expect(run.stderr, args[0]).toMatch(/^error: no homeserver given \(pass --homeserver URL or set SYNAPSE_URL/);
    }
    // The operator's homeserver differs from the file's: refused, with where the file says it.
    for (const args of [
      ["plan", file],
      ["apply", file, "--yes"],
      ["drift", file],
      ["snapshot", file, "--out", snapshot],
    ]) {
      const run = await runCli(args, env);
      expect(run.code, args[0]).toBe(1);
      expect(run.stderr, args[0]).toContain(
        `users.yaml:2:13 homeserver: the file names the homeserver ${attackerUrl}, but this run's homeserver is ${server.url}`,
      );
    }
    expect(received).toHaveLength(0);
  });

  it("a file naming the operator's own homeserver is fine", async () => {
    const u = uniqueLocalpart("routing-same");
    const dir = tempFiles({ "users.yaml": pointingAt(`${server.url}/`, u) });
    const run = await runCli(["plan", join(dir, "users.yaml")], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("a saved plan re-pointed at another homeserver is refused before any request", async () => {
    const u = uniqueLocalpart("routing-plan");
    const dir = tempFiles({ "users.yaml": `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n  ${u}: active\n` });
    const usersPath = join(dir, "users.yaml");
    const planFile = join(dir, "plan.json");
    expect((await runCli(["plan", usersPath, "--out", planFile], env)).code).toBe(0);
    const plan = JSON.parse(readFileSync(planFile, "utf8"));
    writeFileSync(planFile, JSON.stringify({ ...plan, homeserver: attackerUrl }));
    // Even with the attacker's URL as the operator's homeserver, the MAC check comes first.
    for (const extra of [{}, { SYNAPSE_URL: attackerUrl }]) {
      const run = await runCli(["apply", usersPath, "--plan", planFile, "--yes"], { ...env, ...extra });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/was changed after it was made/);
    }
    expect(received).toHaveLength(0);
  });

  it("the Action needs a homeserver from the workflow, and never takes the file's", async () => {
    const u = uniqueLocalpart("routing-action");
    const dir = tempFiles({ "users.yaml": pointingAt(attackerUrl, u) });
    const run = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(BUILD_DIR, "action.js")], {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          INPUT_COMMAND: "plan",
          "INPUT_ADMIN-TOKEN": server.token,
          INPUT_CONFIG: "users.yaml",
          GITHUB_EVENT_NAME: "push",
          RUNNER_TEMP: dir,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        out += d;
      });
      child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
    expect(run.code).toBe(1);
    expect(run.out).toContain("::error::input homeserver is required");
    expect(received).toHaveLength(0);
  });
});
