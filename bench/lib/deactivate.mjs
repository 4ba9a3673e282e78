#!/usr/bin/env node
// The bare loop `apply` is compared with: deactivates users with POST /_synapse/admin/v1/deactivate
// at a given concurrency, with undici and as many connections as the CLI opens, and nothing else —
// no plan, no lock, no reads before or after.
//
//   SYNAPSE_ADMIN_TOKEN=… node bench/lib/deactivate.mjs URL CONCURRENCY < user-ids.json
// Prints {"done": N, "failed": F}.
import { Agent, request } from "undici";

const [url, concurrencyArg] = process.argv.slice(2);
const token = process.env.SYNAPSE_ADMIN_TOKEN;
const concurrency = Number(concurrencyArg);
if (!url || !token || !(concurrency > 0)) {
  throw new Error("usage: SYNAPSE_ADMIN_TOKEN=… deactivate.mjs URL CONCURRENCY < user-ids.json");
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const ids = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const dispatcher = new Agent({ connections: Math.max(8, concurrency), keepAliveTimeout: 10_000 });
let next = 0;
let done = 0;
let failed = 0;
const worker = async () => {
  while (next < ids.length) {
    const id = ids[next++];
    const res = await request(`${url}/_synapse/admin/v1/deactivate/${encodeURIComponent(id)}`, {
      method: "POST",
      dispatcher,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ erase: false }),
    });
    await res.body.text();
    if (res.statusCode === 200) done++;
    else failed++;
  }
};
await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
await dispatcher.close();
process.stdout.write(`${JSON.stringify({ done, failed })}\n`);
