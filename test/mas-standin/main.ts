// The stand-in MAS as a process of its own (the harness in scripts/dev-synapse.mjs starts it this
// way). Its options come as JSON in the MAS_STANDIN_OPTIONS environment variable (not the command
// line, which other users of the machine can read); it prints one line of JSON, {"url": …}, on
// standard output once it listens, and serves until it is sent SIGTERM or SIGINT, or its standard
// input closes (so it never outlives the process that started it).
//
//   MAS_STANDIN_OPTIONS='{"secret":…,"serverName":…,"synapseUrl":…}' node --import tsx test/mas-standin/main.ts
import { type MasStandinOptions, startMasStandin } from "./server.js";

const raw = process.env.MAS_STANDIN_OPTIONS;
if (!raw) throw new Error("MAS_STANDIN_OPTIONS is not set");
const options = JSON.parse(raw) as MasStandinOptions;
const standin = await startMasStandin(options);
process.stdout.write(`${JSON.stringify({ url: standin.url })}\n`);

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
