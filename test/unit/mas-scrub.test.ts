// MAS client errors never carry the client secret or the access token, in any form a server or a
// proxy could echo them in: raw, percent- or form-encoded, or inside the Basic credentials; short
// ones too. The server listens on a Unix socket: no network.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { MasClient } from "../../src/synapse/mas.js";

const CLIENT_ID = "01HCLIENT";
const SECRET = "p@ss w+"; // short, and changed by every encoding
const TOKEN = "tk5";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Echoes every form of the credentials it was sent: at the token endpoint (`token`), or the admin API. */
async function echoServer(refuse: "token" | "api"): Promise<string> {
  const path =
    process.platform === "win32"
      ? `\\\\.\\pipe\\mas-scrub-${randomBytes(6).toString("hex")}`
      : join(tmpdir(), `mas-scrub-${randomBytes(6).toString("hex")}.sock`);
  server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    const basic = auth.replace(/^Basic /, "");
    const echo = [
      auth,
      basic,
      Buffer.from(`${CLIENT_ID}:${SECRET}`).toString("base64"),
      Buffer.from(basic, "base64").toString(),
      SECRET,
      new URLSearchParams({ client_secret: SECRET }).toString(),
    ].join(" | ");
    res.setHeader("content-type", "application/json");
    if (req.url === "/oauth2/token" && refuse === "token") {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: "invalid_client", error_description: echo }));
    } else if (req.url === "/oauth2/token") {
      res.end(JSON.stringify({ access_token: TOKEN, expires_in: 300 }));
    } else {
      res.statusCode = 400;
      res.end(JSON.stringify({ errors: [{ title: `bad token ${auth.replace(/^Bearer /, "")} ${echo}` }] }));
    }
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return path;
}

function client(socketPath: string, clientId = CLIENT_ID): MasClient {
  return new MasClient({
    baseUrl: "http://mas.test",
    clientId,
    clientSecret: SECRET,
    retries: 0,
    dispatcher: new Agent({ connect: { socketPath } }),
  });
}

function leaks(text: string): string[] {
  const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(SECRET)}`).toString("base64");
  const raw = Buffer.from(`${CLIENT_ID}:${SECRET}`).toString("base64");
  const forms = [SECRET, encodeURIComponent(SECRET), "p%40ss+w%2B", basic, raw, TOKEN];
  return forms.filter((f) => text.includes(f));
}

describe("MAS errors hide the client secret and the access token", () => {
  for (const refuse of ["token", "api"] as const) {
    it(`in every form ${refuse === "token" ? "the token endpoint" : "the admin API"} could echo, however short`, async () => {
      const mas = client(await echoServer(refuse));
      const e = await mas.passwordLoginEnabled().catch((x: Error) => x);
      await mas.close();
      expect(e).toBeInstanceOf(Error);
      const text = `${(e as Error).message} ${(e as { detail?: string }).detail ?? ""} ${(e as { hint?: string }).hint ?? ""}`;
      expect(text).toContain("<redacted>");
      expect(leaks(text)).toEqual([]);
    });
  }
});
