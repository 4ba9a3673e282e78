// Untrusted text on its way out of the built CLI: display names from the users file and from the
// server (every user sets their own), and a server's error text, into the terminal and a Matrix
// notice on the real Synapse.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynapseClient } from "../../src/synapse/client.js";
import { runCli, serverEnv, tempFiles } from "../support/cli.js";
import { commandsRun } from "../support/hostile.js";
import { clientFor, type ServerUnderTest, uniqueLocalpart } from "../support/servers.js";

const server: ServerUnderTest = { kind: "real", ...inject("synapse") };
const env = serverEnv(server);
let client: SynapseClient;
beforeAll(() => {
  client = clientFor(server);
});
afterAll(() => client.close());

const id = (localpart: string) => `@${localpart}:${server.serverName}`;
const usersFile = (users: string) => `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users}`;
/** What a terminal must never receive raw: controls other than the line feed, bidi overrides. */
const RAW = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

describe("hostile display names, from the file and from the server", () => {
  it("reach the terminal escaped, and the Matrix room as a notice that mentions no one", async () => {
    const fromServer = "\x1b[1A\x1b[2K\rerase — nothing @room <img src=https://evil.example/x.png> \u202eevil";
    const [a, b] = [uniqueLocalpart("named-a"), uniqueLocalpart("named-b")];
    await client.createUser(id(a), { displayname: fromServer });
    const inFile = String.raw`"</td></tr></table><h1>No changes</h1> @room [x](https://evil.example)\e[2K\r##[error]x"`;
    const dir = tempFiles({
      "users.yaml": usersFile(`  ${a}:\n    displayname: Fine\n  ${b}:\n    displayname: ${inFile}\n`),
    });

    const room = await fetch(`${server.url}/_matrix/client/v3/createRoom`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ preset: "private_chat" }),
    });
    const roomId = ((await room.json()) as { room_id: string }).room_id;

    const run = await runCli(["plan", join(dir, "users.yaml"), "--notify-room", roomId], env);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW);
    expect(run.stdout).toContain(String.raw`displayname: "\u001b[1A\u001b[2K\rerase — nothing @room`); // shown, not run
    expect(run.stdout).toContain("\\u202eevil");
    expect(commandsRun(run.stdout)).toEqual([]);
    // One line per action and per change: nothing in a value started a line of its own.
    expect(run.stdout.split("\n").filter((l) => /^ {2}[+~!^-] /.test(l))).toHaveLength(2);

    const res = await fetch(
      `${server.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=10`,
      { headers: { authorization: `Bearer ${server.token}` } },
    );
    const events = ((await res.json()) as { chunk: { type: string; content: Record<string, unknown> }[] }).chunk;
    const notices = events.filter((e) => e.type === "m.room.message").map((e) => e.content);
    expect(notices).toHaveLength(1);
    const notice = notices[0] as { body: string; formatted_body: string; "m.mentions"?: unknown };
    expect(notice["m.mentions"]).toEqual({});
    expect(notice.body).not.toMatch(/@room/);
    expect(notice.body).not.toMatch(RAW);
    expect(notice.formatted_body).not.toMatch(/@room/);
    expect(notice.formatted_body).not.toMatch(/<(img|a|h1|script)\b/i);
    expect(notice.formatted_body.match(/<tr>/g)).toHaveLength(3); // header and one row per action
  });
});

describe("the CLI's error boundary", () => {
  it("prints a server's error text escaped: no cursor movement, no line that starts a workflow command", async () => {
    const hostile = createServer((_req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ errcode: "M_FORBIDDEN", error: "\x1b[1A\x1b[2Kfine\r\n::error::forged ##[warning]x" }));
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
      const dir = tempFiles({ "users.yaml": usersFile(`  ${uniqueLocalpart("x")}: active\n`) });
      const run = await runCli(["plan", join(dir, "users.yaml")], { SYNAPSE_URL: url, SYNAPSE_ADMIN_TOKEN: "t" });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: /);
      expect(run.stderr).toContain(String.raw`\x1b[1A\x1b[2Kfine\r`);
      expect(run.stderr).not.toMatch(RAW);
      expect(commandsRun(run.stderr)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
});
