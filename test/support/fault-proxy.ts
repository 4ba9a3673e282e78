// A proxy between the CLI and a real Synapse that injects faults on a seeded schedule: 429s with a
// delay, 5xx before or after the request reached Synapse, connection resets before and after it was
// sent, slow answers and truncated bodies. Only addresses on this machine are involved.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultKind =
  | "429"
  | "503-before" // Synapse never sees the request
  | "502-after" // Synapse carried it out; the answer is replaced: outcome unknown to the client
  | "reset-before"
  | "reset-after" // carried out, then the connection dies: outcome unknown
  | "slow"
  | "truncated"; // carried out; half the body, then the connection dies

const KINDS: FaultKind[] = ["429", "503-before", "502-after", "reset-before", "reset-after", "slow", "truncated"];

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultProxy {
  url: string;
  injected: Map<FaultKind, number>;
  /** Requests seen, and how many carried a fault. */
  counts: { requests: number; faults: number };
  setSchedule(seed: number, probability: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const injected = new Map<FaultKind, number>();
  const counts = { requests: 0, faults: 0 };
  let random = prng(1);
  let probability = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      counts.requests++;
      const fault = random() < probability ? KINDS[Math.floor(random() * KINDS.length)]! : undefined;
      if (fault) {
        counts.faults++;
        injected.set(fault, (injected.get(fault) ?? 0) + 1);
      }
      const json = (status: number, body: object) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (fault === "429")
        return json(429, { errcode: "M_LIMIT_EXCEEDED", error: "Too many requests", retry_after_ms: 50 });
      if (fault === "503-before") return json(503, { errcode: "M_UNKNOWN", error: "Service unavailable" });
      if (fault === "reset-before") return void req.socket.destroy();
      if (fault === "slow") await new Promise((r) => setTimeout(r, 300));

      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on("data", (c: Buffer) => body.push(c));
          answer.on("end", () => {
            const whole = Buffer.concat(body);
            if (fault === "reset-after") return void req.socket.destroy();
            if (fault === "502-after") return json(502, { errcode: "M_UNKNOWN", error: "Bad gateway" });
            const headers = { ...answer.headers };
            delete headers["content-length"];
            delete headers["transfer-encoding"];
            res.writeHead(answer.statusCode ?? 502, { ...headers, "content-length": String(whole.length) });
            if (fault === "truncated") {
              res.write(whole.subarray(0, Math.floor(whole.length / 2)));
              return void setImmediate(() => req.socket.destroy());
            }
            res.end(whole);
          });
        },
      );
      forward.on("error", () => req.socket.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    injected,
    counts,
    setSchedule(seed, p) {
      random = prng(seed);
      probability = p;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
