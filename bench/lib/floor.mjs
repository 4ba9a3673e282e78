#!/usr/bin/env node
// The floor of `plan`: a bare loop that only fetches every page of the user list, with undici, at
// the page size the client uses, and JSON.parses it. Nothing else: no file, no normalising, no plan.
//
//   SYNAPSE_ADMIN_TOKEN=… node bench/lib/floor.mjs URL PAGE_SIZE
// Prints {"users": N, "pages": P}.
import { Agent, request } from "undici";

const [url, pageSize] = process.argv.slice(2);
const token = process.env.SYNAPSE_ADMIN_TOKEN;
if (!url || !pageSize || !token) throw new Error("usage: SYNAPSE_ADMIN_TOKEN=… floor.mjs URL PAGE_SIZE");

const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
let users = 0;
let pages = 0;
let from = "0";
while (from !== undefined) {
  const query = new URLSearchParams({ from, limit: pageSize, deactivated: "true", locked: "true" });
  const res = await request(`${url}/_synapse/admin/v2/users?${query}`, {
    dispatcher,
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`list answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const page = JSON.parse(text);
  users += page.users.length;
  pages++;
  from = page.next_token === undefined || page.next_token === null ? undefined : String(page.next_token);
}
await dispatcher.close();
process.stdout.write(`${JSON.stringify({ users, pages })}\n`);
