// A fake Synapse: the Admin API endpoints synapse-gitops uses, with the shapes and the traps of a
// real Synapse 1.160 (see ../../../shared/docs/synapse-facts.md). It exists for speed, scale
// (benchmarks) and fault injection; the contract suite in test/contract runs against it AND a real
// Synapse, so it cannot drift from the real thing unnoticed.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface FakeUser {
  name: string;
  password: string | null;
  admin: boolean;
  deactivated: boolean;
  erased: boolean;
  locked: boolean;
  shadowBanned: boolean;
  isGuest: boolean;
  userType: string | null;
  displayname: string | null;
  avatarUrl: string | null;
  creationMs: number;
  threepids: { medium: string; address: string }[];
  externalIds: { auth_provider: string; external_id: string }[];
  appserviceId: string | null;
  suspended: boolean;
  /** IDs of the media the user uploaded (seeded: the fake has no upload). */
  media: string[];
}

interface FakeStateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
  event_id: string;
  origin_server_ts: number;
}

interface FakeRoom {
  state: Map<string, FakeStateEvent>; // "type\0state_key" → event
  members: Set<string>;
}

/** What a fault hook may do to one request instead of answering it normally. */
export type Fault =
  | { kind: "status"; status: number; errcode?: string; retryAfterMs?: number; afterHandling?: boolean }
  | { kind: "reset"; afterHandling: boolean }
  | { kind: "delay"; ms: number }
  | { kind: "truncate" };

export interface FakeSynapseOptions {
  serverName?: string;
  port?: number;
  /** Called for every request; returning a Fault replaces or disturbs the normal answer. */
  faults?: (req: { method: string; path: string }) => Fault | undefined;
}

export interface FakeSynapse {
  url: string;
  serverName: string;
  adminUserId: string;
  adminToken: string;
  /** Adds users directly, as if created long ago (fast; for benchmarks and fixtures). */
  seed(users: (Partial<Omit<FakeUser, "name">> & { name: string })[]): void;
  /** Counts of requests by "METHOD /path-prefix", for tests that check the work done. */
  requests: Map<string, number>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeSynapse(options: FakeSynapseOptions = {}): Promise<FakeSynapse> {
  const serverName = options.serverName ?? "fake.local";
  const users = new Map<string, FakeUser>();
  let sortedNames: string[] | null = null; // list order (by name), rebuilt lazily after inserts
  // The users each list filter shows, in list order, built on the first page and reused by the
  // following ones: a page costs O(limit), not O(users). Any write clears it, so a listing that
  // spans a write sees the shift a real Synapse's offset pagination shows.
  const visibleCache = new Map<string, FakeUser[]>();
  const changed = () => visibleCache.clear();
  const tokens = new Map<string, string>(); // token → user ID
  const redactions = new Set<string>(); // redaction task IDs: each done at once (the fake has no events)
  const registrationTokens = new Map<string, { uses_allowed: number | null; expiry_time: number | null }>();
  const requests = new Map<string, number>();
  // Rooms, as far as the apply lock uses them: current state, members, and local aliases (unique).
  const rooms = new Map<string, FakeRoom>();
  const aliases = new Map<string, string>(); // alias → room ID

  const newUser = (name: string, fields: Partial<FakeUser> = {}): FakeUser => ({
    name,
    password: null,
    admin: false,
    deactivated: false,
    erased: false,
    locked: false,
    shadowBanned: false,
    isGuest: false,
    userType: null,
    displayname: name.slice(1, name.indexOf(":")),
    avatarUrl: null,
    creationMs: Date.now(),
    threepids: [],
    externalIds: [],
    appserviceId: null,
    suspended: false,
    media: [],
    ...fields,
  });
  const insert = (u: FakeUser) => {
    users.set(u.name, u);
    sortedNames = null;
    changed();
  };
  const visibleUsers = (withDeactivated: boolean, withLocked: boolean): FakeUser[] => {
    const key = `${withDeactivated}/${withLocked}`;
    let visible = visibleCache.get(key);
    if (!visible) {
      sortedNames ??= [...users.keys()].sort();
      visible = [];
      for (const name of sortedNames) {
        const u = users.get(name)!;
        // Like Synapse: deactivated and locked users are hidden unless asked for.
        if ((u.deactivated && !withDeactivated) || (u.locked && !withLocked)) continue;
        visible.push(u);
      }
      visibleCache.set(key, visible);
    }
    return visible;
  };

  const adminUserId = `@admin:${serverName}`;
  const adminToken = `fake_${randomBytes(12).toString("hex")}`;
  insert(newUser(adminUserId, { admin: true, displayname: "admin" }));
  tokens.set(adminToken, adminUserId);

  const listRow = (u: FakeUser) => ({
    name: u.name,
    user_type: u.userType,
    is_guest: u.isGuest,
    admin: u.admin,
    deactivated: u.deactivated,
    shadow_banned: u.shadowBanned,
    displayname: u.displayname,
    avatar_url: u.avatarUrl,
    creation_ts: u.creationMs, // milliseconds in the list …
    approved: true,
    erased: u.erased,
    last_seen_ts: null,
    locked: u.locked,
  });
  const fullUser = (u: FakeUser) => ({
    ...listRow(u),
    creation_ts: Math.floor(u.creationMs / 1000), // … and seconds in the single-user GET (a real Synapse trap)
    threepids: u.threepids.map((t) => ({ ...t, added_at: u.creationMs, validated_at: u.creationMs })),
    external_ids: u.externalIds,
    appservice_id: u.appserviceId,
    consent_server_notice_sent: null,
    consent_version: null,
    consent_ts: null,
    suspended: u.suspended,
  });

  const authenticate = (req: IncomingMessage, admin: boolean): string => {
    const header = req.headers.authorization;
    if (!header?.startsWith("Bearer ")) throw new HttpError(401, "M_MISSING_TOKEN", "Missing access token");
    const who = tokens.get(header.slice(7));
    if (!who) throw new HttpError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.");
    if (admin && !users.get(who)?.admin) throw new HttpError(403, "M_FORBIDDEN", "You are not a server admin");
    return who;
  };
  const localUser = (id: string): FakeUser | undefined => {
    if (!id.endsWith(`:${serverName}`)) throw new HttpError(400, "M_UNKNOWN", "Can only look up local users");
    return users.get(id);
  };

  async function handle(req: IncomingMessage, url: URL, body: Record<string, unknown>): Promise<[number, unknown]> {
    const path = url.pathname;
    const m = req.method ?? "GET";
    if (path === "/health") return [200, {}];
    if (m === "POST" && path === "/_matrix/client/v3/login") {
      const user = (body.identifier as { user?: string } | undefined)?.user ?? "";
      const id = user.startsWith("@") ? user : `@${user}:${serverName}`;
      const u = users.get(id);
      if (!u || u.deactivated || u.password === null || u.password !== body.password) {
        throw new HttpError(403, "M_FORBIDDEN", "Invalid username or password");
      }
      const token = `fake_${randomBytes(12).toString("hex")}`;
      tokens.set(token, id);
      return [200, { user_id: id, access_token: token, device_id: "FAKEDEVICE" }];
    }
    if (m === "GET" && path === "/_matrix/client/v3/account/whoami") {
      return [200, { user_id: authenticate(req, false), is_guest: false, device_id: "FAKEDEVICE" }];
    }
    const sender = authenticate(req, true);
    if (m === "GET" && path === "/_synapse/admin/v1/server_version") return [200, { server_version: "1.160.0-fake" }];
    if (m === "GET" && path === "/_synapse/admin/v2/users") {
      const from = Number(url.searchParams.get("from") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 100);
      const withDeactivated = url.searchParams.get("deactivated") === "true";
      const withLocked = url.searchParams.get("locked") === "true";
      const visible = visibleUsers(withDeactivated, withLocked);
      const page = visible.slice(from, from + limit).map(listRow);
      const next = from + limit < visible.length ? { next_token: String(from + limit) } : {};
      return [200, { users: page, total: visible.length, ...next }];
    }
    const userPath = path.match(/^\/_synapse\/admin\/v2\/users\/([^/]+)$/);
    if (userPath) {
      const id = decodeURIComponent(userPath[1]!);
      const u = localUser(id);
      if (m === "GET") {
        if (!u) throw new HttpError(404, "M_NOT_FOUND", "User not found");
        return [200, fullUser(u)];
      }
      if (m === "PUT") {
        changed();
        if (body.displayname === null) throw new HttpError(400, "M_INVALID_PARAM", "displayname must be a string");
        if (body.deactivated === true && body.locked === true) {
          throw new HttpError(400, "M_INVALID_PARAM", "An user can't be deactivated and locked");
        }
        const target = u ?? newUser(id, { displayname: id.slice(1, id.indexOf(":")) });
        if (typeof body.displayname === "string") target.displayname = body.displayname;
        if (typeof body.admin === "boolean") {
          if (!body.admin && id === adminUserId && u?.admin)
            throw new HttpError(400, "M_UNKNOWN", "You may not demote yourself.");
          target.admin = body.admin;
        }
        if (typeof body.password === "string") target.password = body.password;
        if (Array.isArray(body.threepids)) {
          target.threepids = (body.threepids as { medium: string; address: string }[]).map((t) => ({
            medium: t.medium,
            address: t.medium === "email" ? t.address.toLowerCase() : t.address,
          }));
        }
        if (Array.isArray(body.external_ids)) target.externalIds = body.external_ids as FakeUser["externalIds"];
        if ("user_type" in body) target.userType = (body.user_type as string | null) ?? null;
        if (u) {
          // Creating ignores `deactivated` and `locked`; modifying honours them.
          if (typeof body.locked === "boolean") target.locked = body.locked;
          if (body.deactivated === true) deactivate(target, false);
          if (body.deactivated === false && target.deactivated) {
            // Like Synapse: reactivation un-erases. The reconciler must be the guard.
            target.deactivated = false;
            target.erased = false;
          }
          return [200, fullUser(target)];
        }
        insert(target);
        return [201, fullUser(target)];
      }
    }
    // Registration tokens: only for the apply lock's removal of the one older versions left behind.
    if (m === "POST" && path === "/_synapse/admin/v1/registration_tokens/new") {
      const name = String(body.token);
      if (registrationTokens.has(name)) throw new HttpError(400, "M_INVALID_PARAM", `Token already exists: ${name}`);
      const token = {
        uses_allowed: (body.uses_allowed as number | null) ?? null,
        expiry_time: (body.expiry_time as number | null) ?? null,
      };
      registrationTokens.set(name, token);
      return [200, { token: name, ...token, pending: 0, completed: 0 }];
    }
    const regToken = path.match(/^\/_synapse\/admin\/v1\/registration_tokens\/([^/]+)$/);
    if (regToken) {
      const name = decodeURIComponent(regToken[1]!);
      const token = registrationTokens.get(name);
      if (!token) throw new HttpError(404, "M_NOT_FOUND", `No such registration token: ${name}`);
      if (m === "DELETE") {
        registrationTokens.delete(name);
        return [200, {}];
      }
      if (m === "PUT" && "expiry_time" in body) token.expiry_time = body.expiry_time as number | null;
      return [200, { token: name, ...token, pending: 0, completed: 0 }];
    }
    // Rooms: what the apply lock uses. Like Synapse, an alias is unique (a second PUT is a 409), the
    // Admin API reads any room's state, and deleting a room deletes the aliases that point at it.
    if (m === "POST" && path === "/_matrix/client/v3/createRoom") {
      const roomId = `!${randomBytes(9).toString("base64url")}:${serverName}`;
      const room: FakeRoom = { state: new Map(), members: new Set([sender]) };
      const put = (type: string, stateKey: string, content: Record<string, unknown>) =>
        room.state.set(`${type}\0${stateKey}`, {
          type,
          state_key: stateKey,
          sender,
          content,
          event_id: `$${randomBytes(12).toString("base64url")}`,
          origin_server_ts: Date.now(),
        });
      put("m.room.create", "", { room_version: "11", ...(body.creation_content as object | undefined) });
      put("m.room.member", sender, { membership: "join" });
      put("m.room.join_rules", "", { join_rule: "invite" });
      if (typeof body.name === "string") put("m.room.name", "", { name: body.name });
      for (const e of (body.initial_state as { type: string; state_key?: string; content: object }[] | undefined) ??
        []) {
        put(e.type, e.state_key ?? "", e.content as Record<string, unknown>);
      }
      rooms.set(roomId, room);
      return [200, { room_id: roomId }];
    }
    const directory = path.match(/^\/_matrix\/client\/v3\/directory\/room\/([^/]+)$/);
    if (directory) {
      const alias = decodeURIComponent(directory[1]!);
      const roomId = aliases.get(alias);
      if (m === "GET") {
        if (!roomId) throw new HttpError(404, "M_NOT_FOUND", `Room alias ${alias} not found`);
        return [200, { room_id: roomId, servers: [serverName] }];
      }
      if (m === "PUT") {
        if (roomId) throw new HttpError(409, "M_UNKNOWN", `Room alias ${alias} already exists`);
        aliases.set(alias, String(body.room_id));
        return [200, {}];
      }
      if (m === "DELETE") {
        if (!roomId) throw new HttpError(404, "M_NOT_FOUND", "Unknown room alias");
        aliases.delete(alias);
        return [200, {}];
      }
    }
    const roomState = path.match(/^\/_matrix\/client\/v3\/rooms\/([^/]+)\/state\/([^/]+)\/?([^/]*)$/);
    if (roomState && m === "PUT") {
      const roomId = decodeURIComponent(roomState[1]!);
      const room = rooms.get(roomId);
      if (!room?.members.has(sender)) throw new HttpError(403, "M_FORBIDDEN", `User ${sender} not in room ${roomId}`);
      const [type, stateKey] = [decodeURIComponent(roomState[2]!), decodeURIComponent(roomState[3]!)];
      const event: FakeStateEvent = {
        type,
        state_key: stateKey,
        sender,
        content: body,
        event_id: `$${randomBytes(12).toString("base64url")}`,
        origin_server_ts: Date.now(),
      };
      room.state.set(`${type}\0${stateKey}`, event);
      return [200, { event_id: event.event_id }];
    }
    const adminRoomState = path.match(/^\/_synapse\/admin\/v1\/rooms\/([^/]+)\/state$/);
    if (adminRoomState && m === "GET") {
      const room = rooms.get(decodeURIComponent(adminRoomState[1]!));
      if (!room) throw new HttpError(404, "M_NOT_FOUND", "Room not found");
      return [200, { state: [...room.state.values()].map((e) => ({ ...e, room_id: adminRoomState[1] })) }];
    }
    const adminRoom = path.match(/^\/_synapse\/admin\/v2\/rooms\/([^/]+)$/);
    if (adminRoom && m === "DELETE") {
      const roomId = decodeURIComponent(adminRoom[1]!);
      for (const [alias, target] of aliases) if (target === roomId) aliases.delete(alias);
      rooms.delete(roomId);
      return [200, { delete_id: randomBytes(8).toString("hex") }]; // unknown rooms too, like Synapse
    }
    // Suspension and complete erasure (issue 15). The fake keeps no events: a user's memberships are
    // the fake rooms they are in, a redaction has nothing to do, and media are seeded IDs.
    const suspend = path.match(/^\/_synapse\/admin\/v1\/suspend\/([^/]+)$/);
    if (suspend && m === "PUT") {
      const id = decodeURIComponent(suspend[1]!);
      const u = localUser(id);
      if (!u) throw new HttpError(404, "M_NOT_FOUND", "User not found");
      if (typeof body.suspend !== "boolean") throw new HttpError(400, "M_BAD_JSON", "suspend must be a boolean");
      u.suspended = body.suspend;
      return [200, { [`user_${id}_suspended`]: u.suspended }];
    }
    const memberships = path.match(/^\/_synapse\/admin\/v1\/users\/([^/]+)\/memberships$/);
    if (memberships && m === "GET") {
      const id = decodeURIComponent(memberships[1]!);
      const map: Record<string, string> = {};
      for (const [roomId, room] of rooms) if (room.members.has(id)) map[roomId] = "join";
      return [200, { memberships: map }];
    }
    const media = path.match(/^\/_synapse\/admin\/v1\/users\/([^/]+)\/media$/);
    if (media && (m === "GET" || m === "DELETE")) {
      const u = localUser(decodeURIComponent(media[1]!));
      if (!u) throw new HttpError(404, "M_NOT_FOUND", "Unknown user");
      const limit = Number(url.searchParams.get("limit") ?? 100);
      if (m === "GET")
        return [200, { media: u.media.slice(0, limit).map((media_id) => ({ media_id })), total: u.media.length }];
      const deleted = u.media.splice(0, limit);
      return [200, { deleted_media: deleted, total: deleted.length }];
    }
    const redact = path.match(/^\/_synapse\/admin\/v1\/user\/([^/]+)\/redact$/);
    if (redact && m === "POST") {
      if (!Array.isArray(body.rooms)) throw new HttpError(400, "M_BAD_JSON", "rooms must be a list");
      const redactId = randomBytes(8).toString("hex");
      redactions.add(redactId);
      return [200, { redact_id: redactId }];
    }
    const redactStatus = path.match(/^\/_synapse\/admin\/v1\/user\/redact_status\/([^/]+)$/);
    if (redactStatus && m === "GET") {
      if (!redactions.has(decodeURIComponent(redactStatus[1]!)))
        throw new HttpError(404, "M_NOT_FOUND", "redact id not found");
      return [200, { status: "complete", failed_redactions: {} }];
    }
    const roomMessages = path.match(/^\/_synapse\/admin\/v1\/rooms\/([^/]+)\/messages$/);
    if (roomMessages && m === "GET") {
      if (!rooms.has(decodeURIComponent(roomMessages[1]!))) throw new HttpError(404, "M_NOT_FOUND", "Room not found");
      return [200, { chunk: [], start: "t0" }];
    }
    const deact = path.match(/^\/_synapse\/admin\/v1\/deactivate\/([^/]+)$/);
    if (deact && m === "POST") {
      const id = decodeURIComponent(deact[1]!);
      const u = localUser(id);
      if (!u) throw new HttpError(404, "M_NOT_FOUND", "User not found");
      deactivate(u, body.erase === true);
      return [200, { id_server_unbind_result: "success" }];
    }
    throw new HttpError(404, "M_UNRECOGNIZED", "Unrecognized request");
  }

  function deactivate(u: FakeUser, erase: boolean) {
    changed();
    u.deactivated = true;
    u.password = null;
    u.threepids = [];
    for (const [t, who] of tokens) if (who === u.name) tokens.delete(t);
    if (erase) {
      u.erased = true;
      u.displayname = null;
      u.avatarUrl = null;
    }
  }

  const send = (res: ServerResponse, status: number, payload: unknown, truncate = false) => {
    const text = JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/json" });
    if (truncate) {
      res.write(text.slice(0, Math.max(1, text.length >> 1)));
      res.socket?.destroy();
    } else res.end(text);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const key = `${req.method} ${url.pathname.replace(/\/users\/[^/]+$/, "/users/:id").replace(/\/deactivate\/[^/]+$/, "/deactivate/:id")}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const fault = options.faults?.({ method: req.method ?? "GET", path: url.pathname });
      if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
      if (fault?.kind === "reset" && !fault.afterHandling) return void req.socket.destroy();
      if (fault?.kind === "status" && !fault.afterHandling) {
        return send(res, fault.status, {
          errcode: fault.errcode ?? "M_UNKNOWN",
          error: "injected fault",
          ...(fault.retryAfterMs === undefined ? {} : { retry_after_ms: fault.retryAfterMs }),
        });
      }
      let status: number;
      let payload: unknown;
      try {
        const body = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
          : {};
        [status, payload] = await handle(req, url, body);
      } catch (e) {
        if (e instanceof HttpError) [status, payload] = [e.status, { errcode: e.errcode, error: e.message }];
        else if (e instanceof SyntaxError)
          [status, payload] = [400, { errcode: "M_NOT_JSON", error: "Content not JSON." }];
        else [status, payload] = [500, { errcode: "M_UNKNOWN", error: "Internal server error" }];
      }
      if (fault?.kind === "reset") return void req.socket.destroy(); // after the change was made
      if (fault?.kind === "status")
        return send(res, fault.status, { errcode: fault.errcode ?? "M_UNKNOWN", error: "injected fault" });
      send(res, status, payload, fault?.kind === "truncate");
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    serverName,
    adminUserId,
    adminToken,
    requests,
    seed(list) {
      for (const fields of list) insert(newUser(fields.name, { creationMs: Date.now() - 86_400_000, ...fields }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
