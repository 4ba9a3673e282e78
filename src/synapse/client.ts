import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import type { ActualUser } from "../domain/account.js";
import { encodeUserId, serverNameOf } from "../domain/userId.js";
import { VERSION } from "../version.js";
import { exchange } from "./answer.js";
import { SynapseError } from "./errors.js";
import { Agent } from "./undici.js";
import { normaliseUser, type RawUser, type SynapseUserChanges, toRawChanges } from "./userRows.js";

export interface SynapseClientOptions {
  /** The homeserver's client-server base URL, e.g. https://matrix.example.org */
  baseUrl: string;
  /** An access token of a server admin. Sent only in the Authorization header. */
  token: string;
  /** Injectable for tests (undici MockAgent) and to share a connection pool. */
  dispatcher?: Dispatcher;
  /** Parallel connections to the homeserver when no dispatcher is given. */
  connections?: number;
  /**
   * Per-request limit, in milliseconds: the whole answer, headers and body, must be in within it
   * (each try of a retried request has its own).
   */
  timeoutMs?: number;
  /** The largest answer body read, in bytes; a larger one is an `invalid-response` SynapseError. */
  maxBodyBytes?: number;
  /** How many times a retryable failure is tried again (see `isRetryable`). */
  retries?: number;
  /** No retry starts once this much time has passed since the first attempt, in milliseconds. */
  retryBudgetMs?: number;
  /** Told about every request that may change the server (PUT, POST): for the audit log. */
  onMutation?: (record: MutationRecord) => void;
}

/** Synapse delegates authentication to MAS: its user list then refuses `guests` unless it is false (400 M_INVALID_PARAM). */
export interface ListUsersOptions {
  pageSize?: number;
  delegatedAuth?: boolean;
}

/** One request that may have changed the server, as the audit log records it. No secrets: no headers, no body. */
export interface MutationRecord {
  method: string;
  path: string;
  /** Absent when no HTTP answer came back (network failure: the outcome is unknown). */
  status?: number;
  errcode?: string;
  durationMs: number;
}

/** A state event to put in a new room. */
export interface StateEventInit {
  type: string;
  /** "" when absent. */
  stateKey?: string;
  content: object;
}

/** One event of a room's current state. */
export interface RoomStateEvent {
  type: string;
  stateKey: string;
  sender: string;
  content: Record<string, unknown>;
  /** When the server received it (the server's clock, ms). */
  originServerTs?: number;
}

/** A registration token as the Admin API describes it. */
export interface RegistrationToken {
  token: string;
  /** null: unlimited. Synapse also treats 0 as unlimited. */
  usesAllowed: number | null;
  pending: number;
  completed: number;
  expiryTime: number | null;
}

/** Page size for the user list. Synapse sets no maximum; large pages cut round trips (facts: 1000 → 29 ms, 100 → 149 ms for 2,000 users). */
export const DEFAULT_PAGE_SIZE = 5000;

/**
 * The largest answer read by default. The largest the tool asks for is a page of the user list:
 * 5,000 rows of a few hundred bytes each. A server that sends more is not trusted to stop.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

const LIST_PATH = "/_synapse/admin/v2/users";

type Method = "GET" | "PUT" | "POST" | "DELETE";

/** More users than any homeserver holds: a list that goes on past this is refused rather than followed. */
const MAX_LISTED_USERS = 50_000_000;

/** Pages of the user list asked for while one is handled: the next one and guesses after it. */
const PAGES_AHEAD = 3;

/**
 * The Synapse Admin API, as the reconciler needs it. Every method either returns normalised data
 * or throws a SynapseError; nothing here prints or decides policy.
 */
export class SynapseClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  readonly #retries: number;
  readonly #retryBudgetMs: number;
  readonly #onMutation: ((record: MutationRecord) => void) | undefined;

  constructor(options: SynapseClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ?? new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 10_000 });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#retries = options.retries ?? 3;
    this.#retryBudgetMs = options.retryBudgetMs ?? 60_000;
    this.#onMutation = options.onMutation;
  }

  readonly #alsoClosed: (() => Promise<void>)[] = [];

  async close(): Promise<void> {
    await Promise.all(this.#alsoClosed.splice(0).map((close) => close()));
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Closed with this client: a client of another service used alongside it (MAS's), whose owner closes this one. */
  alsoClose(close: () => Promise<void>): void {
    this.#alsoClosed.push(close);
  }

  /** The token's own user, e.g. `@admin:example.org`, and that user's server name. */
  async whoami(): Promise<{ userId: string; serverName: string }> {
    const path = "/_matrix/client/v3/account/whoami";
    const body = await this.#call<{ user_id?: unknown }>("GET", path);
    const userId = body.user_id;
    const serverName = typeof userId === "string" ? serverNameOf(userId) : undefined;
    if (typeof userId !== "string" || serverName === undefined) {
      throw new SynapseError("invalid-response", "GET", path, "the answer has no valid `user_id` (@user:server)");
    }
    return { userId, serverName };
  }

  /**
   * The homeserver's OAuth 2.0 server metadata when it delegates authentication to MAS (200), or
   * undefined when it does not (the servlet is not registered: 404, or 400/405 on older servers; an
   * answer that is not JSON, from a proxy in front). A MAS server misread as plain Synapse writes
   * nothing: its user list refuses the plain Synapse backend's request (400, `guests`).
   */
  async authMetadata(): Promise<{ issuer?: string } | undefined> {
    try {
      const body = await this.#call<{ issuer?: unknown }>("GET", "/_matrix/client/v1/auth_metadata");
      return typeof body.issuer === "string" ? { issuer: body.issuer } : {};
    } catch (e) {
      if (e instanceof SynapseError && ["not-found", "rejected", "invalid-response"].includes(e.kind)) return undefined;
      throw e;
    }
  }

  async serverVersion(): Promise<string> {
    const body = await this.#call<{ server_version: string }>("GET", "/_synapse/admin/v1/server_version");
    return body.server_version;
  }

  /** One user with everything the Admin API knows (emails, external IDs). A missing user is a `not-found` SynapseError. */
  async getUser(userId: string): Promise<ActualUser> {
    const path = `/_synapse/admin/v2/users/${encodeUserId(userId)}`;
    const raw = await this.#call<RawUser>("GET", path);
    return this.#scrubbed(() => normaliseUser(raw, "s", path));
  }

  /** Like getUser, but a missing user is `undefined`. */
  async findUser(userId: string): Promise<ActualUser | undefined> {
    try {
      return await this.getUser(userId);
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
  }

  /**
   * Every user on the server, one page at a time: deactivated and locked users included (the list
   * hides both unless asked). Each page is normalised and its raw JSON dropped as it arrives.
   *
   * Pagination is by offset (`next_token`), over users sorted by name. Synapse never deletes users:
   * read page after page, a user created during the listing can only shift rows forward and make one
   * appear twice, never make one disappear. Consumers key users by ID.
   *
   * The server works while the caller handles a page: once a page is in, the next one (its
   * `next_token`) and the ones after it (PAGES_AHEAD in all) are asked for at once. Those after are
   * guesses: Synapse's `next_token` is the offset after the page's rows, so `from + limit` for every
   * page but the last (`total` says when that is). A guess is used only when the token it waits for
   * turns out to be the same; a guessed request that fails is asked again, retries and all, once its
   * token is known. Pages asked for together may be read by the server in any order, and then a user
   * created in between could shift a row out of both the page before and the page after: so every
   * page's `total` is compared with the first one's, and if it changed (someone was created), the
   * list is read again from the start, one page after the other. Without a `total` to compare, there
   * are no guesses.
   *
   * A server is not trusted to end the list: each `next_token` must be an offset past the page it
   * came with (so every page moves on) and, when the page says how many users there are, not past
   * that `total`; an answer that breaks either is an `invalid-response` SynapseError.
   */
  async *listAllUsers(options: ListUsersOptions = {}): AsyncGenerator<ActualUser[]> {
    const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const guests: Record<string, string> = options.delegatedAuth ? { guests: "false" } : {};
    const path = (from: string) =>
      `${LIST_PATH}?${new URLSearchParams({ from, limit: String(limit), deactivated: "true", locked: "true", ...guests })}`;
    /** Pages asked for ahead, by offset: one try each, undefined when it failed or did not make sense. */
    const ahead = new Map<string, Promise<ListPage | undefined>>();
    const askAhead = (from: string) => {
      if (ahead.has(from)) return;
      ahead.set(
        from,
        this.#once("GET", path(from))
          .then((res) => this.#scrubbed(() => listPage(res.json, from)))
          .catch(() => undefined),
      );
    };
    const read = async (at: string): Promise<ListPage> => {
      const json: unknown = await this.#call("GET", path(at));
      return this.#scrubbed(() => listPage(json, at));
    };
    let from: string | undefined = "0";
    /** The first page's `total` while pages are guessed; undefined once they are read in order. */
    let total: number | undefined;
    let first = true;
    let restarted = false;
    /** Rows read in this pass; a list longer than any server's is refused. */
    let rows = 0;
    while (from !== undefined) {
      const early = ahead.get(from);
      ahead.delete(from);
      const page: ListPage = (early && (await early)) ?? (await read(from));
      from = page.next;
      rows += page.users.length;
      if (first) total = page.total;
      else if (total !== undefined && page.total !== total) {
        // Someone was created while pages were read out of order: read it all again, in order
        // (once: a server whose count changes on every page is not to be followed forever).
        if (restarted)
          throw new SynapseError(
            "invalid-response",
            "GET",
            LIST_PATH,
            "the user count keeps changing while the list is read",
          );
        restarted = true;
        total = undefined;
        from = "0";
        rows = 0;
        ahead.clear();
      }
      if (rows > MAX_LISTED_USERS) {
        throw new SynapseError("invalid-response", "GET", LIST_PATH, `the list goes on past ${MAX_LISTED_USERS} users`);
      }
      first = false;
      if (from !== undefined) {
        // The next page, and while guessing, the ones after it (never past `total`).
        const wanted = [from];
        for (let guess = Number(from) + limit; total !== undefined && wanted.length < PAGES_AHEAD; guess += limit) {
          if (!Number.isSafeInteger(guess) || guess >= total) break;
          wanted.push(String(guess));
        }
        // A page asked for on a guess that turned out wrong is dropped.
        for (const offset of ahead.keys()) if (!wanted.includes(offset)) ahead.delete(offset);
        for (const offset of wanted) askAhead(offset);
      }
      yield page.users;
    }
  }

  /**
   * Creates a user with PUT v2. Returns false if the user already existed (Synapse answers 200 and
   * modifies it instead). Synapse ignores `deactivated` and `locked` on create: callers that need
   * either follow up with modifyUser or deactivate.
   */
  async createUser(userId: string, changes: SynapseUserChanges): Promise<{ created: boolean }> {
    const { status } = await this.#request(
      "PUT",
      `/_synapse/admin/v2/users/${encodeUserId(userId)}`,
      toRawChanges(changes),
    );
    return { created: status === 201 };
  }

  /** PUT v2 on an existing user. Not atomic on the server: fields are written one after another. */
  async modifyUser(userId: string, changes: SynapseUserChanges): Promise<void> {
    await this.#call("PUT", `/_synapse/admin/v2/users/${encodeUserId(userId)}`, toRawChanges(changes));
  }

  /** Deactivates; with `erase`, also erases (GDPR). Irreversible on our side: we never reactivate an erased user. */
  async deactivate(userId: string, options: { erase: boolean }): Promise<void> {
    await this.#call("POST", `/_synapse/admin/v1/deactivate/${encodeUserId(userId)}`, { erase: options.erase });
  }

  // ---- Suspension and complete erasure (issue 15): Synapse-only admin APIs, also under MAS. ----

  /** Suspends or unsuspends a user (Synapse ≥ 1.122). The single-user GET then shows `suspended`. */
  async setSuspended(userId: string, suspended: boolean): Promise<void> {
    await this.#call("PUT", `/_synapse/admin/v1/suspend/${encodeUserId(userId)}`, { suspend: suspended });
  }

  /** Every room the user has a membership in, left ones included (Synapse ≥ 1.145), by room ID. */
  async userMemberships(userId: string): Promise<Record<string, string>> {
    const path = `/_synapse/admin/v1/users/${encodeUserId(userId)}/memberships`;
    const body = await this.#call<{ memberships?: unknown }>("GET", path);
    const m = body.memberships;
    if (
      typeof m !== "object" ||
      m === null ||
      Array.isArray(m) ||
      Object.values(m).some((v) => typeof v !== "string")
    ) {
      throw new SynapseError(
        "invalid-response",
        "GET",
        shortPath(path),
        "`memberships` is not a map of room IDs to memberships",
      );
    }
    return m as Record<string, string>;
  }

  /** How many media the user has uploaded that are still stored (local media only). */
  async countUserMedia(userId: string): Promise<number> {
    const path = `/_synapse/admin/v1/users/${encodeUserId(userId)}/media`;
    return mediaTotal(await this.#call<{ total?: unknown }>("GET", `${path}?limit=1`), "GET", path);
  }

  /**
   * Deletes up to one page (100) of the user's media; returns how many this call deleted. Synapse
   * gives no next page: call it again until it returns 0.
   */
  async deleteUserMedia(userId: string): Promise<number> {
    const path = `/_synapse/admin/v1/users/${encodeUserId(userId)}/media`;
    return mediaTotal(await this.#call<{ total?: unknown }>("DELETE", path), "DELETE", path);
  }

  /**
   * Starts redacting the user's events in `rooms` (Synapse ≥ 1.116): their messages, encrypted
   * messages and joins, each at most once (already redacted ones are skipped). `rooms` is passed
   * explicitly: an empty list would cover only the rooms the user is in now. `limit` is per room,
   * counted from the newest event (redacted ones included). Returns the task's ID.
   */
  async redactUserEvents(userId: string, rooms: string[], limit: number): Promise<string> {
    const path = `/_synapse/admin/v1/user/${encodeUserId(userId)}/redact`;
    const body = await this.#call<{ redact_id?: unknown }>("POST", path, { rooms, limit });
    if (typeof body.redact_id !== "string" || body.redact_id === "") {
      throw new SynapseError("invalid-response", "POST", shortPath(path), "the answer has no `redact_id`");
    }
    return body.redact_id;
  }

  /**
   * Where a redaction task is: scheduled, active, complete or failed; undefined once Synapse forgot
   * it (after 24 h or a restart). Synapse 1.160 answers `complete` (its task status), where its
   * documentation says `completed` (seen): both read as `complete`.
   */
  async redactStatus(redactId: string): Promise<{ status: string; failed: number } | undefined> {
    const path = `/_synapse/admin/v1/user/redact_status/${encodeURIComponent(redactId)}`;
    let body: { status?: unknown; failed_redactions?: unknown };
    try {
      body = await this.#call("GET", path);
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
    const failed = body.failed_redactions;
    if (typeof body.status !== "string" || (failed !== undefined && (typeof failed !== "object" || failed === null))) {
      throw new SynapseError("invalid-response", "GET", shortPath(path), "the answer has no `status`");
    }
    const status = body.status === "completed" ? "complete" : body.status;
    return { status, failed: failed ? Object.keys(failed).length : 0 };
  }

  /**
   * How many messages (m.room.message, m.room.encrypted) `userId` sent in `roomId` that are not
   * redacted: the admin's view of the room's history (every event, whoever may see it), filtered
   * by sender on the server, newest first, `maxPages` pages of 1,000 at most (a bound, not a loop
   * a server can keep going).
   */
  async countUnredactedMessages(userId: string, roomId: string, maxPages = 100): Promise<number> {
    const path = `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/messages`;
    const filter = JSON.stringify({ senders: [userId], types: ["m.room.message", "m.room.encrypted"] });
    let count = 0;
    let from: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const query = new URLSearchParams({ dir: "b", limit: "1000", filter, ...(from ? { from } : {}) });
      const body = await this.#call<{ chunk?: unknown; end?: unknown }>("GET", `${path}?${query}`);
      if (!Array.isArray(body.chunk)) {
        throw new SynapseError("invalid-response", "GET", shortPath(path), "the answer has no `chunk` list");
      }
      for (const event of body.chunk as { sender?: unknown; unsigned?: { redacted_because?: unknown } }[]) {
        if (event?.sender === userId && !event.unsigned?.redacted_because) count++;
      }
      if (body.chunk.length === 0 || typeof body.end !== "string" || body.end === from) return count;
      from = body.end;
    }
    return count;
  }

  // ---- Rooms, aliases and registration tokens: what the apply lock (src/apply/lock.ts) needs. ----
  // Room IDs and aliases are percent-encoded in paths: `!`, `#` and `:` must reach Synapse intact.

  /**
   * Creates a room that only its creator is in and no one else can enter: invite-only with no one
   * invited, no guests, not federated, not in the room directory. Returns its ID.
   */
  async createPrivateRoom(options: { name: string; topic?: string; initialState: StateEventInit[] }): Promise<string> {
    const body = await this.#call<{ room_id?: unknown }>("POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
      visibility: "private",
      name: options.name,
      ...(options.topic === undefined ? {} : { topic: options.topic }),
      creation_content: { "m.federate": false },
      initial_state: [
        { type: "m.room.guest_access", state_key: "", content: { guest_access: "forbidden" } },
        ...options.initialState.map((e) => ({ type: e.type, state_key: e.stateKey ?? "", content: e.content })),
      ],
    });
    if (typeof body.room_id !== "string") {
      throw new SynapseError("invalid-response", "POST", "/_matrix/client/v3/createRoom", "the answer has no room_id");
    }
    return body.room_id;
  }

  /** The room an alias points to, or undefined when the alias does not exist. */
  async getRoomAlias(alias: string): Promise<string | undefined> {
    const path = `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`;
    try {
      const body = await this.#call<{ room_id?: unknown }>("GET", path);
      if (typeof body.room_id !== "string") {
        throw new SynapseError("invalid-response", "GET", path, "the answer has no room_id");
      }
      return body.room_id;
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
  }

  /**
   * Points an alias at a room; false if the alias exists already. Synapse keeps aliases under a
   * unique key and answers 409 ("Room alias … already exists", even for the same room), which makes
   * this an atomic test-and-set.
   */
  async putRoomAlias(alias: string, roomId: string): Promise<boolean> {
    try {
      await this.#call("PUT", `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, { room_id: roomId });
      return true;
    } catch (e) {
      if (e instanceof SynapseError && e.status === 409) return false;
      throw e;
    }
  }

  /** Deletes an alias (a server admin may delete any local alias); false if there was none. */
  async deleteRoomAlias(alias: string): Promise<boolean> {
    try {
      await this.#call("DELETE", `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`);
      return true;
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return false;
      throw e;
    }
  }

  /**
   * A room's current state as a server admin sees it (Admin API: no need to be in the room), or
   * undefined when the server does not know the room (Synapse: 404 "Room not found").
   */
  async getRoomState(roomId: string): Promise<RoomStateEvent[] | undefined> {
    const path = `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/state`;
    let body: { state?: unknown };
    try {
      body = await this.#call<{ state?: unknown }>("GET", path);
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
    if (!Array.isArray(body.state)) throw new SynapseError("invalid-response", "GET", path, "the answer has no state");
    const events: RoomStateEvent[] = [];
    for (const raw of body.state as Record<string, unknown>[]) {
      if (typeof raw !== "object" || raw === null) continue;
      const { type, state_key, sender, content, origin_server_ts } = raw;
      if (typeof type !== "string" || typeof state_key !== "string" || typeof sender !== "string") continue;
      events.push({
        type,
        stateKey: state_key,
        sender,
        content: typeof content === "object" && content !== null ? (content as Record<string, unknown>) : {},
        ...(typeof origin_server_ts === "number" ? { originServerTs: origin_server_ts } : {}),
      });
    }
    return events;
  }

  /** Sets a state event in a room the token's user is in; returns the event's ID. */
  async putRoomState(roomId: string, type: string, content: object, stateKey = ""): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;
    const body = await this.#call<{ event_id?: unknown }>("PUT", path, content);
    return typeof body.event_id === "string" ? body.event_id : "";
  }

  /**
   * Deletes a room (Admin API v2, in the background): its local members are removed, the local
   * aliases that point at it deleted — at once, seen within 0.2 s on Synapse 1.160 — and its history
   * purged. Only aliases of this room go, so this is also a safe "delete the alias if it still points
   * here". An unknown room is not an error (Synapse answers 200 with a delete_id), nor is one being
   * deleted already (400 "Purge already in progress for …").
   */
  async deleteRoom(roomId: string): Promise<void> {
    try {
      await this.#call("DELETE", `/_synapse/admin/v2/rooms/${encodeURIComponent(roomId)}`, { purge: true });
    } catch (e) {
      if (!(e instanceof SynapseError && e.status === 400 && /already in progress/i.test(e.detail))) throw e;
    }
  }

  /** A registration token, or undefined when there is none (404; under MAS these endpoints answer 404 too). */
  async getRegistrationToken(name: string): Promise<RegistrationToken | undefined> {
    try {
      const body = await this.#call<Record<string, unknown>>(
        "GET",
        `/_synapse/admin/v1/registration_tokens/${encodeURIComponent(name)}`,
      );
      const count = (v: unknown) => (typeof v === "number" ? v : 0);
      return {
        token: name,
        usesAllowed: typeof body.uses_allowed === "number" ? body.uses_allowed : null,
        pending: count(body.pending),
        completed: count(body.completed),
        expiryTime: typeof body.expiry_time === "number" ? body.expiry_time : null,
      };
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
  }

  /** Deletes a registration token; false if there was none. */
  async deleteRegistrationToken(name: string): Promise<boolean> {
    try {
      await this.#call("DELETE", `/_synapse/admin/v1/registration_tokens/${encodeURIComponent(name)}`);
      return true;
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return false;
      throw e;
    }
  }

  // ---- end of the apply lock's block ----

  /** A room ID as is; an alias (`#ops:example.org`) resolved through the room directory. */
  async resolveRoom(roomIdOrAlias: string): Promise<string> {
    if (roomIdOrAlias.startsWith("!")) return roomIdOrAlias;
    if (!/^#[^:]+:.+$/.test(roomIdOrAlias)) {
      throw new SynapseError(
        "rejected",
        "GET",
        "/_matrix/client/v3/directory/room",
        `${JSON.stringify(roomIdOrAlias)} is neither a room ID (!…) nor an alias (#…:server)`,
      );
    }
    const body = await this.#call<{ room_id: string }>(
      "GET",
      `/_matrix/client/v3/directory/room/${encodeURIComponent(roomIdOrAlias)}`,
    );
    return body.room_id;
  }

  // ---- Room membership and power levels: what the file's rooms need (src/apply/rooms.ts). ----

  /**
   * Joins a local user to a room through the Admin API (`POST /_synapse/admin/v1/join/<room>`):
   * in a room that is not public, Synapse first invites the user as the admin user, who must be
   * in the room with the power to invite.
   */
  async adminJoin(roomId: string, userId: string): Promise<void> {
    encodeUserId(userId);
    await this.#call("POST", `/_synapse/admin/v1/join/${encodeURIComponent(roomId)}`, { user_id: userId });
  }

  /**
   * Kicks a member (or withdraws an invitation) as the token's user, through the client API: there
   * is no Admin API to make a user leave a room.
   */
  async kick(roomId: string, userId: string, reason: string): Promise<void> {
    encodeUserId(userId);
    await this.#call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/kick`, {
      user_id: userId,
      reason,
    });
  }

  /**
   * One state event's content as the token's user sees it (it must be in the room), or undefined
   * when the room has no such event (404).
   */
  async getStateEvent(roomId: string, type: string, stateKey = ""): Promise<Record<string, unknown> | undefined> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;
    try {
      const body = await this.#call<unknown>("GET", path);
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new SynapseError("invalid-response", "GET", path, "the answer is not a state event's content");
      }
      return body as Record<string, unknown>;
    } catch (e) {
      if (e instanceof SynapseError && e.kind === "not-found") return undefined;
      throw e;
    }
  }

  /** Posts an m.notice (a bot's message: clients do not notify for it as loudly) with plain and HTML bodies. */
  async sendNotice(roomId: string, body: string, html: string, txnId: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
    const res = await this.#call<{ event_id: string }>("PUT", path, {
      msgtype: "m.notice",
      body,
      format: "org.matrix.custom.html",
      formatted_body: html,
      // Intentional mentions (Matrix 1.7): this notice mentions no one. Servers and clients that
      // know m.mentions then ignore `@room` and names in the text; the caller breaks those for older ones.
      "m.mentions": {},
    });
    return res.event_id;
  }

  async #call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return (await this.#request(method, path, body)).json as T;
  }

  /**
   * Retries: 429 (after the delay the server asks for) for any method, since Synapse refused it
   * before acting; 502/503/504 and network failures only for GET and DELETE, because a mutation whose answer
   * was lost may have happened — the apply step re-reads the user instead of blindly repeating it.
   */
  async #request(method: Method, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      try {
        const res = await this.#once(method, path, body);
        if (method !== "GET") this.#onMutation?.({ method, path, status: res.status, durationMs: Date.now() - t0 });
        return res;
      } catch (e) {
        if (method !== "GET" && e instanceof SynapseError) {
          this.#onMutation?.({
            method,
            path,
            ...(e.status === undefined ? {} : { status: e.status }),
            ...(e.errcode ? { errcode: e.errcode } : {}),
            durationMs: Date.now() - t0,
          });
        }
        if (!(e instanceof SynapseError) || attempt >= this.#retries || !isRetryable(e)) throw e;
        // Exponential backoff with jitter, or the delay the server asked for (429).
        const backoff = e.retryAfterMs ?? Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        if (Date.now() - started + backoff > this.#retryBudgetMs) throw e;
        await sleep(backoff);
      }
    }
  }

  async #once(method: Method, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    return exchange({
      dispatcher: this.#dispatcher,
      method,
      url: this.baseUrl + path,
      headers: {
        authorization: `Bearer ${this.#token}`,
        "user-agent": `synapse-gitops/${VERSION}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: this.#maxBodyBytes,
      error: (kind, detail, status, options) =>
        new SynapseError(kind, method, shortPath(path), this.#scrub(detail), status, undefined, undefined, options),
      describe: describeNetworkError,
      late: `no complete answer within ${formatSeconds(this.#timeoutMs)} (--timeout)`,
      tooLarge: `the answer is larger than ${formatBytes(this.#maxBodyBytes)}; refusing to read it`,
      refused: ({ status, headers, json, text }) => {
        const err = (typeof json === "object" && json !== null ? json : {}) as {
          errcode?: unknown;
          error?: unknown;
          retry_after_ms?: unknown;
        };
        const detail = typeof err.error === "string" ? err.error : text.trim().slice(0, 200) || `HTTP ${status}`;
        return new SynapseError(
          SynapseError.kindForStatus(status),
          method,
          shortPath(path),
          this.#scrub(detail),
          status,
          typeof err.errcode === "string" ? this.#scrub(err.errcode) : undefined,
          status === 429 ? retryAfter(err.retry_after_ms, headers["retry-after"]) : undefined,
        );
      },
    });
  }

  /** Runs `fn`, with the token scrubbed from the message of a SynapseError it throws (an answer's values are in some). */
  #scrubbed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SynapseError)) throw e;
      const detail = this.#scrub(e.detail);
      if (detail === e.detail) throw e;
      throw new SynapseError(e.kind, e.method, e.path, detail, e.status, e.errcode, e.retryAfterMs);
    }
  }

  /** Belt and braces: the token is never put in a message, but a server or proxy could echo it. */
  #scrub(text: string): string {
    return this.#token.length >= 8 ? text.split(this.#token).join("<redacted>") : text;
  }
}

interface ListPage {
  users: ActualUser[];
  /** `next_token`, as a string; undefined on the last page. */
  next?: string;
  total?: number;
}

/**
 * A page of the user list, normalised as soon as it is in: the raw rows (most of its memory) are
 * garbage at once, even for a page asked for ahead that waits its turn. `from`: the offset asked
 * for, which `next_token` must move past (see listAllUsers).
 */
function mediaTotal(body: { total?: unknown }, method: Method, path: string): number {
  if (typeof body.total !== "number" || !Number.isInteger(body.total) || body.total < 0) {
    throw new SynapseError("invalid-response", method, shortPath(path), "the answer has no `total` count");
  }
  return body.total;
}

function listPage(json: unknown, from: string): ListPage {
  const page = json as { users?: unknown; next_token?: unknown; total?: unknown };
  const invalid = (detail: string) => new SynapseError("invalid-response", "GET", LIST_PATH, detail);
  if (!Array.isArray(page.users)) throw invalid("the answer has no `users` list");
  const rows: unknown[] = page.users;
  const users = new Array<ActualUser>(rows.length);
  for (let i = 0; i < rows.length; i++) users[i] = normaliseUser(rows[i], "ms", LIST_PATH);
  const result: ListPage = { users };
  const { total } = page;
  if (total !== undefined && total !== null) {
    if (typeof total !== "number" || !Number.isSafeInteger(total) || total < 0) {
      throw invalid("`total` is not a count of users");
    }
    result.total = total;
  }
  const token = page.next_token;
  if (token !== undefined && token !== null) {
    // Synapse's next_token is the offset after the page's rows: `from` plus the rows sent.
    const next = typeof token === "number" || typeof token === "string" ? String(token) : "";
    const offset = /^[0-9]{1,15}$/.test(next) ? Number(next) : Number.NaN;
    if (Number.isNaN(offset)) throw invalid("`next_token` is not an offset");
    // Exactly past this page's rows, as Synapse counts: a server that moves on by less (one row
    // a page, forever) or skips rows is not listing the users it says it is.
    if (rows.length === 0 || offset !== Number(from) + rows.length) {
      throw invalid(
        `\`next_token\` ${next} is not the offset after the page at ${from} (${rows.length} users): the list would not end, or would skip users`,
      );
    }
    if (result.total !== undefined && offset > result.total) {
      throw invalid(`\`next_token\` ${next} is past the ${result.total} users the answer counts`);
    }
    result.next = String(offset);
  }
  return result;
}

export function isRetryable(e: SynapseError): boolean {
  if (e.kind === "rate-limited") return true;
  // GET and DELETE can be repeated safely; PUT and POST may have happened (see apply's recovery).
  if (e.method !== "GET" && e.method !== "DELETE") return false;
  return e.kind === "network" || e.status === 502 || e.status === 503 || e.status === 504;
}

function retryAfter(bodyMs: unknown, header: string | string[] | undefined): number | undefined {
  if (typeof bodyMs === "number" && bodyMs >= 0) return bodyMs;
  const h = Array.isArray(header) ? header[0] : header;
  const seconds = h === undefined ? Number.NaN : Number(h);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Number((bytes / 1024 / 1024).toFixed(1))} MiB` : `${bytes} bytes`;
}

/** The path without its query string, for messages. */
function shortPath(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

function describeNetworkError(cause: unknown): string {
  const code = (cause as { code?: string })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the homeserver running at this address?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name could not be resolved";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "the connection was reset";
    case "UND_ERR_CONNECT_TIMEOUT":
      return "timed out connecting";
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return "timed out waiting for the answer";
    default:
      return code ? `${message} (${code})` : message;
  }
}
