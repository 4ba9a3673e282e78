// One request to an admin API and its answer, as both clients make it (client.ts for Synapse, mas.ts
// for MAS): a total deadline, a body cap, JSON objects only. Each client brings its own errors
// (class, hints, the secrets they are scrubbed of), messages and headers; retries stay with it.
import type { Dispatcher } from "undici";
import { SynapseError, type SynapseErrorKind } from "./errors.js";
import { request } from "./undici.js";

export interface Exchange {
  dispatcher: Dispatcher;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** For the whole answer, headers and body. */
  timeoutMs: number;
  maxBodyBytes: number;
  /** The client's error for this request; it scrubs `detail` of the client's secrets. */
  error(kind: SynapseErrorKind, detail: string, status?: number, options?: ErrorOptions): SynapseError;
  /** A failure to connect or read, in words. */
  describe(cause: unknown): string;
  /** The message when the deadline runs out. */
  late: string;
  /** The message when the body is larger than `maxBodyBytes`. */
  tooLarge: string;
  /** The error for an answer that is not 2xx. */
  refused(answer: {
    status: number;
    headers: Dispatcher.ResponseData["headers"];
    json: unknown;
    text: string;
  }): SynapseError;
}

/** Sends the request; a 2xx answer's JSON object, or the client's error. */
export async function exchange(x: Exchange): Promise<{ status: number; json: unknown }> {
  // One deadline for the whole answer. undici's headersTimeout and bodyTimeout only limit the
  // silence between two chunks: an answer trickled a byte at a time would never end.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), x.timeoutMs);
  try {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(x.url, {
        method: x.method as Dispatcher.HttpMethod,
        dispatcher: x.dispatcher,
        headers: x.headers,
        body: x.body,
        headersTimeout: x.timeoutMs,
        bodyTimeout: x.timeoutMs,
        signal: deadline.signal,
      });
    } catch (cause) {
      if (deadline.signal.aborted) throw x.error("network", x.late);
      throw x.error("network", x.describe(cause), undefined, { cause });
    }
    const text = await readBody(res, x, deadline);
    let json: unknown;
    try {
      json = text === "" ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (typeof json !== "object" || json === null) {
        throw x.error("invalid-response", "the answer is not a JSON object", res.statusCode);
      }
      return { status: res.statusCode, json };
    }
    throw x.refused({ status: res.statusCode, headers: res.headers, json, text });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The answer's body as text, read as it streams in and given up past `maxBodyBytes` (a server
 * could send without end: a 400 MB answer once took 1.3 GB to read whole).
 */
async function readBody(res: Dispatcher.ResponseData, x: Exchange, deadline: AbortController): Promise<string> {
  const limit = x.maxBodyBytes;
  const tooLarge = () => {
    // Aborted, not only destroyed: the request is cancelled and its connection closed, rather
    // than the rest of the body drained in the background (which closing the client would await).
    deadline.abort();
    return x.error("invalid-response", x.tooLarge, res.statusCode);
  };
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (cause) {
    if (cause instanceof SynapseError) throw cause;
    if (deadline.signal.aborted) throw x.error("network", x.late);
    throw x.error("network", `the answer broke off: ${x.describe(cause)}`, res.statusCode);
  }
  return Buffer.concat(chunks, size).toString("utf8");
}
