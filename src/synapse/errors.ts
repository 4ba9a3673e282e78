import { ToolError } from "../errors.js";

/** What went wrong, in the terms a person acts on. */
export type SynapseErrorKind =
  | "unauthorized" // 401: missing, unknown or expired token
  | "forbidden" // 403: the token's user is not a server admin (or the action is not allowed)
  | "not-found" // 404
  | "rejected" // other 4xx: the server refused the request as made
  | "rate-limited" // 429, with retryAfterMs when the server said
  | "server-error" // 5xx
  | "network" // no HTTP answer: refused, reset, DNS, TLS, timeout
  | "invalid-response"; // an answer that is not the JSON the Admin API documents

const HINTS: Record<SynapseErrorKind, string> = {
  unauthorized: "check SYNAPSE_ADMIN_TOKEN (or --token-file): the server did not accept the token",
  forbidden: "the token must belong to a Synapse server admin",
  "not-found": "",
  rejected: "",
  "rate-limited": "the server is rate limiting; try again later",
  "server-error": "the homeserver failed; see its logs",
  network: "check the homeserver URL and that the server is reachable",
  "invalid-response": "is the URL a Synapse homeserver (and not, say, a web page in front of it)?",
};

/**
 * One shape for every Admin API failure: method, path, status, errcode, message.
 * It never holds the access token: requests put it only in a header, and messages that come back
 * from the server are scrubbed of it before they get here.
 */
export class SynapseError extends ToolError {
  override name = "SynapseError";
  constructor(
    readonly kind: SynapseErrorKind,
    readonly method: string,
    readonly path: string,
    readonly detail: string,
    readonly status?: number,
    readonly errcode?: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    const what = status === undefined ? "" : ` → ${status}${errcode ? ` ${errcode}` : ""}`;
    super(`${method} ${path}${what}: ${detail}`, HINTS[kind] || undefined, options);
  }

  static kindForStatus(status: number): SynapseErrorKind {
    if (status === 401) return "unauthorized";
    if (status === 403) return "forbidden";
    if (status === 404) return "not-found";
    if (status === 429) return "rate-limited";
    if (status >= 500) return "server-error";
    return "rejected";
  }
}
