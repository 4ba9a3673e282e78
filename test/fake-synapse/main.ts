// The fake Synapse as a process of its own, for benchmarks: a CLI measured against it must not share
// its event loop or its heap. Seeds a synthetic population (see population.ts), warms the list up,
// then prints one line of JSON on standard output — {url, token, serverName, adminUserId, users} —
// and serves until it is sent SIGTERM or SIGINT, or its standard input closes.
//
//   node --import tsx test/fake-synapse/main.ts [--users N] [--deactivated-every K] [--server-name NAME]
import { parseArgs } from "node:util";
import { displaynameOf, isDeactivated, localpartOf, type Population } from "./population.js";
import { startFakeSynapse } from "./server.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "0" },
    "deactivated-every": { type: "string", default: "0" },
    "server-name": { type: "string", default: "fake.local" },
  },
});
const population: Population = { count: Number(values.users), deactivatedEvery: Number(values["deactivated-every"]) };
if (!Number.isInteger(population.count) || population.count < 0) throw new Error("--users must be a whole number");
if (!Number.isInteger(population.deactivatedEvery) || population.deactivatedEvery < 0) {
  throw new Error("--deactivated-every must be a whole number");
}

const fake = await startFakeSynapse({ serverName: values["server-name"] });
const serverName = fake.serverName;
const CHUNK = 10_000;
for (let start = 0; start < population.count; start += CHUNK) {
  const chunk = [];
  for (let i = start; i < Math.min(population.count, start + CHUNK); i++) {
    chunk.push({
      name: `@${localpartOf(i)}:${serverName}`,
      displayname: displaynameOf(i),
      deactivated: isDeactivated(population, i),
    });
  }
  fake.seed(chunk);
}

// The first page sorts and filters every user once; do it now, not in the first measured run.
const warm = await fetch(`${fake.url}/_synapse/admin/v2/users?from=0&limit=1&deactivated=true&locked=true`, {
  headers: { authorization: `Bearer ${fake.adminToken}` },
});
if (!warm.ok) throw new Error(`warming the list up failed: ${warm.status}`);
await warm.arrayBuffer();
fake.requests.clear();

process.stdout.write(
  `${JSON.stringify({ url: fake.url, token: fake.adminToken, serverName, adminUserId: fake.adminUserId, users: population.count })}\n`,
);

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  void fake.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
