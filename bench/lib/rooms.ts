// Rooms against a real Synapse: `plan` of a file declaring N rooms of M members each, next to the
// bare fetch of those rooms' member lists (rooms-floor.mjs). The cost must grow with the rooms, not
// the users: one alias lookup and one state request a room, whatever the members.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { expectExit, type Measured, measure, median } from "./measure.js";
import { count, type Row, round, seconds } from "./report.js";

export interface RoomsOptions {
  cli: string;
  workDir: string;
  rooms: number;
  members: number;
  reps: number;
  log: (text: string) => void;
}

const FLOOR = join(import.meta.dirname, "rooms-floor.mjs");

export async function roomsScenario(
  server: { url: string; token: string; serverName: string },
  options: RoomsOptions,
): Promise<Row[]> {
  const { log } = options;
  const prefix = `r${randomBytes(3).toString("hex")}-`;
  const localpart = (i: number) => `${prefix}m${i}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SYNAPSE_URL: server.url,
    SYNAPSE_ADMIN_TOKEN: server.token,
  };
  const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
  const call = async (
    method: "GET" | "PUT" | "POST",
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> => {
    for (;;) {
      const res = await request(server.url + path, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = JSON.parse(await res.body.text()) as Record<string, unknown>;
      if (res.statusCode === 429) {
        await new Promise((r) => setTimeout(r, Number(json.retry_after_ms ?? 500)));
        continue;
      }
      if (res.statusCode >= 300)
        throw new Error(`${method} ${path} answered ${res.statusCode}: ${JSON.stringify(json).slice(0, 200)}`);
      return json;
    }
  };
  const pool = async <T>(items: T[], work: (item: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < items.length) await work(items[next++]!);
      }),
    );
  };
  try {
    const seedStart = performance.now();
    const users = Array.from({ length: options.members }, (_, i) => i);
    await pool(users, async (i) => {
      await call("PUT", `/_synapse/admin/v2/users/${encodeURIComponent(`@${localpart(i)}:${server.serverName}`)}`, {});
    });
    const aliases: string[] = [];
    const roomIds: string[] = [];
    for (let r = 0; r < options.rooms; r++) {
      const name = `${prefix}room${r}`;
      const body = await call("POST", "/_matrix/client/v3/createRoom", {
        preset: "public_chat",
        room_alias_name: name,
      });
      aliases.push(`#${name}:${server.serverName}`);
      roomIds.push(String(body.room_id));
    }
    // User-major, so that the concurrent joins go to different rooms: Synapse persists one room's
    // events one after another, different rooms' side by side.
    const pairs = users.flatMap((i) => roomIds.map((roomId) => [roomId, i] as const));
    let joined = 0;
    await pool(pairs, async ([roomId, i]) => {
      await call("POST", `/_synapse/admin/v1/join/${encodeURIComponent(roomId)}`, {
        user_id: `@${localpart(i)}:${server.serverName}`,
      });
      if (++joined % 5000 === 0) log(`joined ${count(joined)}/${count(pairs.length)}`);
    });
    const seedMs = performance.now() - seedStart;
    log(`seeded ${options.rooms} rooms × ${count(options.members)} members in ${seconds(seedMs)}`);

    const file = join(options.workDir, "rooms-plan.yaml");
    writeFileSync(
      file,
      `version: 1\npolicy:\n  unmanaged: ignore\nusers:\n${users.map((i) => `  ${localpart(i)}: active\n`).join("")}groups:\n  everyone: [${users.map(localpart).join(", ")}]\nrooms:\n${aliases.map((a) => `  "${a}":\n    groups: [everyone]\n`).join("")}`,
    );
    const expected = `Rooms: no changes (${options.rooms} managed rooms match the file).`;
    const plans: Measured[] = [];
    const floors: Measured[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      const floor = () => measure(process.execPath, [FLOOR, server.url], { env, input: JSON.stringify(aliases) });
      const plan = () => measure(process.execPath, [options.cli, "plan", file], { env });
      if (rep % 2 === 0) {
        floors.push(expectExit(await floor(), "the bare fetch of the rooms"));
        plans.push(expectExit(await plan(), "plan"));
      } else {
        plans.push(expectExit(await plan(), "plan"));
        floors.push(expectExit(await floor(), "the bare fetch of the rooms"));
      }
      if (!plans.at(-1)!.stdout.includes(expected)) {
        throw new Error(`plan of the rooms did not say "${expected}":\n${plans.at(-1)!.stdout.slice(0, 500)}`);
      }
    }
    const planMs = median(plans.map((m) => m.wallMs));
    const floorMs = median(floors.map((m) => m.wallMs));
    const fetched = JSON.parse(floors[0]!.stdout) as { rooms: number; members: number };
    return [
      {
        scenario: `plan, ${options.rooms} rooms × ${count(options.members)} members (real Synapse)`,
        figures: {
          rooms: options.rooms,
          members: options.members,
          joinedMembersFetched: fetched.members,
          planS: round(planMs / 1000, 3),
          floorS: round(floorMs / 1000, 3),
          seedS: round(seedMs / 1000, 1),
        },
        text: `plan ${seconds(planMs)}, bare fetch of the rooms' state ${seconds(floorMs)} (${count(fetched.members)} joined members)`,
        ratio: round(planMs / floorMs),
        ratioOf: "plan / bare fetch of the rooms",
        target: null,
        pass: null,
      },
    ];
  } finally {
    await dispatcher.close();
  }
}
