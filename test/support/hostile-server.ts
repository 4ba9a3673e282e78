// A homeserver that answers as an attacker (or a broken proxy) would, on loopback: for tests that the
// client fails cleanly — one clear error, no stack trace, within its deadline — whatever comes back.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Hostility =
  /** whoami answers 200 without a `user_id`. */
  | "whoami-without-user-id"
  /** whoami answers a `user_id` that is not a user ID. */
  | "whoami-invalid-user-id"
  /** whoami sends its headers, then its body one byte a second, never ending (slow loris). */
  | "trickle"
  /** whoami streams a 200 MB JSON body, without a content-length. */
  | "huge-body"
  /** whoami declares a 200 MB body in its content-length, and streams it. */
  | "huge-declared-body"
  /** The user list's `next_token` never moves on: always the offset asked for. */
  | "next-token-stuck"
  /** The user list's `next_token` moves on forever, past the `total` it counts. */
  | "next-token-endless"
  /** The user list moves on one row a page, forever, and counts no `total`. */
  | "next-token-creeping"
  /** A user read with the single-user GET has an email address that is a number. */
  | "non-string-email"
  /** A row of the user list has a name that is a number. */
  | "non-string-name"
  /** A row of the user list has a display name that is a number. */
  | "number-displayname";

export interface HostileServer {
  url: string;
  serverName: string;
  /** Method and path (with query) of every request, in order of arrival. */
  requests: string[];
  /** Bytes of body the server managed to send before the client stopped reading (huge-body). */
  bytesSent(): number;
  close(): Promise<void>;
}

const SERVER_NAME = "hostile.test";
const ADMIN = `@admin:${SERVER_NAME}`;
/** The one user the server lists (besides the admin). */
export const HOSTILE_USER = `@ann:${SERVER_NAME}`;
const BIG = 200 * 1024 * 1024;

export async function startHostileServer(hostility: Hostility): Promise<HostileServer> {
  const requests: string[] = [];
  let sent = 0;
  const timers = new Set<NodeJS.Timeout>();
  const json = (res: ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const row = (name: unknown, extra: Record<string, unknown> = {}) => ({
    name,
    deactivated: false,
    admin: false,
    displayname: null,
    creation_ts: 0,
    ...extra,
  });

  const whoami = (res: ServerResponse) => {
    switch (hostility) {
      case "whoami-without-user-id":
        return json(res, { device_id: "HOSTILE" });
      case "whoami-invalid-user-id":
        return json(res, { user_id: { toString: "@admin:hostile.test" } });
      case "trickle": {
        res.writeHead(200, { "content-type": "application/json" });
        const text = `{"user_id": "${ADMIN}", "padding": "${"x".repeat(10_000)}"}`;
        let at = 0;
        const timer = setInterval(() => {
          if (at < text.length) res.write(text[at++]!);
        }, 1000);
        timers.add(timer);
        res.on("close", () => clearInterval(timer));
        return;
      }
      case "huge-body":
      case "huge-declared-body": {
        const head = `{"user_id": "${ADMIN}", "padding": "`;
        const tail = '"}';
        const headers: Record<string, string | number> = { "content-type": "application/json" };
        if (hostility === "huge-declared-body") headers["content-length"] = BIG + head.length + tail.length;
        res.writeHead(200, headers);
        res.write(head);
        const chunk = Buffer.alloc(1024 * 1024, "x");
        const pump = () => {
          while (sent < BIG) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end(tail);
        };
        res.on("close", () => res.removeAllListeners("drain"));
        pump();
        return;
      }
      default:
        return json(res, { user_id: ADMIN });
    }
  };

  const list = (res: ServerResponse, url: URL) => {
    const from = Number(url.searchParams.get("from") ?? "0");
    switch (hostility) {
      case "next-token-stuck":
        return json(res, { users: [row(HOSTILE_USER)], total: 2, next_token: String(from) });
      case "next-token-creeping":
        return json(res, {
          users: [row(`@u${from}:${SERVER_NAME}`), row(`@v${from}:${SERVER_NAME}`)],
          next_token: String(from + 1),
        });
      case "next-token-endless":
        return json(res, { users: [row(`@u${from}:${SERVER_NAME}`)], total: 2, next_token: String(from + 1) });
      case "non-string-name":
        return json(res, { users: [row(ADMIN), row(42)], total: 2 });
      case "number-displayname":
        return json(res, { users: [row(ADMIN), row(HOSTILE_USER, { displayname: 7 })], total: 2 });
      default:
        return json(res, { users: [row(ADMIN), row(HOSTILE_USER)], total: 2 });
    }
  };

  const user = (res: ServerResponse, userId: string) => {
    const threepids =
      hostility === "non-string-email" ? [{ medium: "email", address: 42 }] : [{ medium: "email", address: "a@x.org" }];
    return json(res, { ...row(userId), threepids, external_ids: [], appservice_id: null });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/_matrix/client/v3/account/whoami") return whoami(res);
    if (url.pathname === "/_synapse/admin/v2/users") return list(res, url);
    const single = url.pathname.match(/^\/_synapse\/admin\/v2\/users\/([^/]+)$/);
    if (single) return user(res, decodeURIComponent(single[1]!));
    json(res, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }, 404);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serverName: SERVER_NAME,
    requests,
    bytesSent: () => sent,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
