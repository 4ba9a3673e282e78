#!/usr/bin/env node
// `npm run demo`: a throwaway real Synapse with a few accounts already on it, then
// `synapse-gitops plan`, `apply --yes` and `plan` again on examples/users.yaml.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSynapse } from "./dev-synapse.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const server = await startSynapse();
try {
  const admin = async (method, path, body) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const id = (localpart) => encodeURIComponent(`@${localpart}:${server.serverName}`);
  // What the server looked like before the team adopted synapse-gitops:
  await admin("PUT", `/_synapse/admin/v2/users/${id("bob")}`, { displayname: "Bob" }); // outdated name
  await admin("PUT", `/_synapse/admin/v2/users/${id("erin")}`, { displayname: "Erin" }); // has left
  await admin("PUT", `/_synapse/admin/v2/users/${id("frank")}`, { displayname: "Frank" }); // asked for erasure
  await admin("PUT", `/_synapse/admin/v2/users/${id("grace")}`, { displayname: "Grace" }); // left, now back
  await admin("POST", `/_synapse/admin/v1/deactivate/${id("grace")}`, { erase: false });
  await admin("PUT", `/_synapse/admin/v2/users/${id("mallory")}`, { displayname: "Made by hand" }); // not in the file

  const env = {
    ...process.env,
    SYNAPSE_URL: server.url,
    SYNAPSE_ADMIN_TOKEN: server.token,
    DAVE_INITIAL_PASSWORD: "demo-password-for-dave",
  };
  const cli = (...args) => {
    process.stdout.write(`\n$ synapse-gitops ${args.join(" ")}\n`);
    return spawnSync(process.execPath, [`${root}/dist/cli.js`, ...args], { stdio: "inherit", env, cwd: root }).status;
  };
  const steps = [
    // dave's initial password comes from this variable, which the operator allows by name.
    cli("plan", "examples/users.yaml", "--password-env", "DAVE_INITIAL_PASSWORD"),
    cli("apply", "examples/users.yaml", "--yes", "--password-env", "DAVE_INITIAL_PASSWORD"),
    cli("plan", "examples/users.yaml", "--detailed-exitcode"),
  ];
  process.exitCode = steps.every((code) => code === 0) ? 0 : 1;
} finally {
  await server.stop();
}
