// The user list asks for pages ahead on a guess (client.listAllUsers): whatever the guesses, the
// pages it returns are exactly those a page-by-page loop would read, and no page is asked twice.
// The server listens on a Unix socket (a named pipe on Windows), not a port: a unit test needs no
// network, not even loopback.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { SynapseClient } from "../../src/synapse/client.js";

interface ListServer {
  /** The socket (or pipe) it listens on. */
  path: string;
  /** The `from` of every list request, in order of arrival. */
  froms: string[];
  server: Server;
}

/**
 * Serves `users` (names) as Synapse does: `next_token` is the offset after the rows sent, `total`
 * the number of users. `rowsPerPage` caps a page below the limit asked for; `fail` answers 500 to
 * the first request at an offset, `garble` answers 200 with no user list; `delayMs` holds the answer
 * at an offset that long; `onRequest` may change the users as a request is answered; `noTotal`
 * leaves `total` out.
 */
async function listServer(
  users: string[],
  options: {
    rowsPerPage?: number;
    fail?: string;
    garble?: (from: string) => boolean;
    delayMs?: (from: string) => number;
    onRequest?: (from: string) => void;
    noTotal?: boolean;
  } = {},
): Promise<ListServer> {
  const froms: string[] = [];
  const failed = new Set<string>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const from = url.searchParams.get("from") ?? "0";
    froms.push(from);
    const delay = options.delayMs?.(from) ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    options.onRequest?.(from);
    if (from === options.fail && !failed.has(from)) {
      failed.add(from);
      res.writeHead(500, { "content-type": "application/json" }).end('{"errcode":"M_UNKNOWN","error":"boom"}');
      return;
    }
    if (options.garble?.(from)) {
      res.writeHead(200, { "content-type": "application/json" }).end('{"oops":1}');
      return;
    }
    const limit = Math.min(Number(url.searchParams.get("limit")), options.rowsPerPage ?? Number.POSITIVE_INFINITY);
    const start = Number(from);
    const rows = users.slice(start, start + limit).map((name) => ({ name, deactivated: false, creation_ts: 0 }));
    const next = start + rows.length < users.length ? { next_token: String(start + rows.length) } : {};
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ users: rows, ...(options.noTotal ? {} : { total: users.length }), ...next }));
  });
  const name = `synapse-gitops-list-${process.pid}-${randomBytes(4).toString("hex")}`;
  const path = process.platform === "win32" ? `\\\\.\\pipe\\${name}` : join(tmpdir(), `${name}.sock`);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, froms, server };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `@u${String(i).padStart(3, "0")}:x.org`);
let running: ListServer | undefined;
afterEach(async () => {
  await new Promise((resolve) => running?.server.close(resolve));
  running = undefined;
});

async function list(server: ListServer, pageSize: number): Promise<string[][]> {
  // As many connections as the client opens by itself.
  const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 10_000, connect: { socketPath: server.path } });
  const client = new SynapseClient({
    baseUrl: "http://synapse.test",
    token: "t0ken-for-tests",
    retryBudgetMs: 5000,
    dispatcher,
  });
  const pages: string[][] = [];
  try {
    for await (const page of client.listAllUsers({ pageSize })) pages.push(page.map((u) => u.userId));
  } finally {
    await client.close();
    await dispatcher.close();
  }
  return pages;
}

describe("listAllUsers asks ahead", () => {
  it("reads every page once, in order, and asks for nothing past the end", async () => {
    const users = names(23);
    running = await listServer(users);
    const pages = await list(running, 5);
    expect(pages).toEqual([0, 5, 10, 15, 20].map((at) => users.slice(at, at + 5)));
    expect([...running.froms].sort((a, b) => Number(a) - Number(b))).toEqual(["0", "5", "10", "15", "20"]);
  });

  it("asks a guessed page again, with retries, when the guess failed", async () => {
    const users = names(23);
    running = await listServer(users, { fail: "10" });
    const pages = await list(running, 5);
    expect(pages.flat()).toEqual(users);
    expect(running.froms.filter((f) => f === "10")).toHaveLength(2);
  });

  it("drops wrong guesses when the server sends fewer rows than asked", async () => {
    const users = names(20);
    running = await listServer(users, { rowsPerPage: 3 });
    const pages = await list(running, 5);
    expect(pages).toEqual([0, 3, 6, 9, 12, 15, 18].map((at) => users.slice(at, at + 3)));
  });

  it("follows next_token when users are created during the listing: a row may repeat, none is lost", async () => {
    const users = names(12);
    let created = 0;
    running = await listServer(users, {
      // Two users sorted first are created as the second page is asked for: rows shift forward.
      onRequest: (from) => {
        if (from === "4" && created === 0) {
          created = 2;
          users.unshift("@a-new-1:x.org", "@a-new-2:x.org");
        }
      },
    });
    const seen = (await list(running, 4)).flat();
    for (const name of names(12)) expect(seen).toContain(name);
  });

  it("a user created while pages are read out of order loses nobody: the list is read again, in order", async () => {
    const users = names(23);
    let created = false;
    running = await listServer(users, {
      // The server answers the page at 10 before the one at 5, and someone (sorted first) is created
      // in between: the row at 9 moves to 10, after the page at 10 was read and out of the page at 5.
      delayMs: (from) => (from === "5" && !created ? 100 : 0),
      onRequest: (from) => {
        if (from === "10" && !created) {
          created = true;
          users.unshift("@a-new:x.org");
        }
      },
    });
    const seen = new Set((await list(running, 5)).flat());
    for (const name of names(23)) expect(seen).toContain(name);
    expect(seen).toContain("@a-new:x.org");
    // Read again from the start, one page after the other.
    const again = running.froms.lastIndexOf("0");
    expect(again).toBeGreaterThan(0);
    expect(running.froms.slice(again)).toEqual(["0", "5", "10", "15", "20"]);
  });

  it("without a total to check pages against, reads one page after the other", async () => {
    const users = names(23);
    running = await listServer(users, { noTotal: true });
    const pages = await list(running, 5);
    expect(pages.flat()).toEqual(users);
    expect(running.froms).toEqual(["0", "5", "10", "15", "20"]);
  });

  it("a page asked for ahead that makes no sense is asked again or dropped, never an unhandled error", async () => {
    const users = names(20);
    const garbled = new Set<string>();
    running = await listServer(users, {
      rowsPerPage: 3, // every guess (a multiple of 5) is wrong…
      garble: (from) => {
        // … and every page asked for ahead first gets an answer with no user list.
        if (from === "0" || garbled.has(from)) return false;
        garbled.add(from);
        return true;
      },
    });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const pages = await list(running, 5);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pages.flat()).toEqual(users);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
    expect(rejections).toEqual([]);
  });
});
