#!/usr/bin/env node
// The floor of planning rooms: a bare loop that only resolves each alias and fetches each room's
// current state (its member list among it) with undici, 8 at a time, and JSON.parses it. No file,
// no users, no plan.
//
//   SYNAPSE_ADMIN_TOKEN=… node bench/lib/rooms-floor.mjs URL < aliases.json
// Prints {"rooms": N, "members": M}.
import { Agent, request } from "undici";

const [url] = process.argv.slice(2);
const token = process.env.SYNAPSE_ADMIN_TOKEN;
if (!url || !token) throw new Error("usage: SYNAPSE_ADMIN_TOKEN=… rooms-floor.mjs URL < aliases.json");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const aliases = JSON.parse(input);

const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
const get = async (path) => {
  const res = await request(url + path, { dispatcher, headers: { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
};
let members = 0;
let next = 0;
const worker = async () => {
  while (next < aliases.length) {
    const alias = aliases[next++];
    const { room_id } = await get(`/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`);
    const { state } = await get(`/_synapse/admin/v1/rooms/${encodeURIComponent(room_id)}/state`);
    members += state.filter((e) => e.type === "m.room.member" && e.content.membership === "join").length;
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
await dispatcher.close();
process.stdout.write(`${JSON.stringify({ rooms: aliases.length, members })}\n`);
