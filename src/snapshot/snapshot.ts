import { randomBytes } from "node:crypto";
import * as z from "zod";
import type { ActualUser } from "../domain/account.js";
import type { Attribute } from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";
import type { Plan, PlanContext } from "../domain/plan.js";
import { type ActualRoom, isRoomId, isRoomKey, MEMBERSHIPS, type Membership } from "../domain/rooms.js";
import { serverNameOf } from "../domain/userId.js";
import { ToolError } from "../errors.js";
import { planUsers } from "../plan/plan.js";
import { VERSION } from "../version.js";
import { Digester, digestDesired, isDigestString, SALT, withFileValues } from "./digest.js";

/**
 * An inventory snapshot: the server's users as the planner needs them, written by a trusted job that
 * holds the admin token (`synapse-gitops snapshot --out inventory.json`), read by a pull-request job
 * that holds none (`plan --snapshot inventory.json`), which plans offline and contacts no server.
 *
 * It keeps no more personal data than the plan needs: per user the ID, state, admin, locked, guest
 * and application-service flags, and keyed digests (./digest.ts) in place of the display name, email
 * addresses and external IDs. It is not signed (the job that reads it has no key to check a signature
 * with): it is trusted as far as the place it was downloaded from, it can mislead a review, and it can
 * never make apply do anything — apply always plans again against the live server.
 */
export const SNAPSHOT_FORMAT = 1;

/** Larger is refused; read at most this many bytes (plus one, to know) before calling readSnapshot. */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export interface SnapshotMeta {
  toolVersion: string;
  serverName: string;
  /** The homeserver the trusted job read, as it was given to it. */
  homeserver: string;
  /** The admin token's own user: the planner never deactivates, locks or demotes it. */
  ownUserId: string;
  /** When the server was read (ISO 8601, UTC). */
  takenAt: string;
  /** The key of the snapshot's digests: 32 random bytes, hex; a new one for every snapshot. */
  salt: string;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /**
   * The server's users, by ID, as the planner takes them. Display names, emails and external IDs are
   * digests; `userType`, `shadowBanned` and `creationTs` are not kept (the planner reads none of them)
   * and hold neutral values (null, false, 0). `emails`, `externalIds` and `appserviceId` are undefined
   * where the trusted job did not read the user in full, as on a live read.
   */
  users: Map<string, ActualUser>;
  /**
   * The rooms the users file declared when the snapshot was taken, by key as the file writes it:
   * the room as the planner reads it (no name or topic), or undefined when the server had no such
   * room. Undefined when the snapshot holds no rooms (one taken from a file without rooms, or by an
   * older version): a room the file declares that is not here is not compared, and says so.
   */
  rooms?: Map<string, ActualRoom | undefined>;
}

export class SnapshotError extends ToolError {
  override name = "SnapshotError";
}

const DIGEST_MESSAGE = "is not a digest: a snapshot holds no plain display name, email address or external ID";
const digestString = z.string().refine(isDigestString, DIGEST_MESSAGE);
const shortText = z.string().min(1).max(255);

const userSchema = z.strictObject({
  userId: shortText,
  state: z.enum(["active", "deactivated", "erased"]),
  admin: z.boolean(),
  locked: z.boolean(),
  isGuest: z.boolean(),
  appserviceId: shortText.nullable().optional(),
  suspended: z.boolean().optional(),
  displayname: digestString.nullable(),
  avatarUrl: digestString.nullable(),
  emails: z.array(digestString).max(1000).optional(),
  externalIds: z
    .array(z.strictObject({ provider: shortText, id: digestString }))
    .max(1000)
    .optional(),
});

type SnapshotUser = z.infer<typeof userSchema>;

// Rooms: IDs, aliases and user IDs held to the Matrix grammar; no room name or topic is kept.
const isUserId = (text: string) => serverNameOf(text) !== undefined;
const userIdText = z.string().refine(isUserId, "is not a Matrix user ID");
const roomKeyText = z.string().refine(isRoomKey, "is not a room alias or room ID");
// Any integer the server holds (rooms before version 6 may hold levels beyond the safe range).
const level = z.number().refine(Number.isInteger, "is not an integer");
// Set by whoever has the power in the room: any text, as long as an event can hold.
const roomText = z.string().max(65536);
const roomSchema = z.strictObject({
  key: roomKeyText,
  roomId: z.string().refine(isRoomId, "is not a Matrix room ID"),
  version: shortText,
  type: roomText.optional(),
  joinRule: roomText,
  creators: z.array(userIdText).max(1000),
  powerLevels: z.strictObject({
    users: z.record(userIdText, level),
    usersDefault: level,
    invite: level,
    kick: level,
    changePowerLevels: level,
  }),
  members: z.record(userIdText, z.enum(MEMBERSHIPS)),
});

type SnapshotRoom = z.infer<typeof roomSchema>;

const snapshotSchema = z.strictObject({
  kind: z.literal("synapse-gitops-snapshot"),
  formatVersion: z.literal(SNAPSHOT_FORMAT),
  toolVersion: z.string().max(64),
  serverName: shortText,
  homeserver: z.url({ protocol: /^https?$/ }).max(2048),
  ownUserId: shortText,
  takenAt: z.iso.datetime(),
  salt: z.string().regex(SALT, "is not 64 lower-case hex digits"),
  users: z.array(userSchema),
  rooms: z.array(roomSchema).optional(),
  /** Rooms the file declared that the server did not have. */
  missingRooms: z.array(roomKeyText).optional(),
});

/** A new random salt for a snapshot (writeSnapshot makes one when it is given none). */
export function newSnapshotSalt(): string {
  return randomBytes(32).toString("hex");
}

function hasDetails(user: ActualUser): boolean {
  return (
    user.emails !== undefined ||
    user.externalIds !== undefined ||
    user.appserviceId !== undefined ||
    user.suspended !== undefined
  );
}

/**
 * The snapshot file's text: a header, then one user per line, sorted by user ID. A user met twice (offset
 * pagination can repeat a row) is kept once, preferring the reading that has the single-user details.
 */
export function writeSnapshot(
  users: Iterable<ActualUser>,
  meta: { serverName: string; homeserver: string; ownUserId: string; takenAt: Date | string; salt?: string },
  rooms?: ReadonlyMap<string, ActualRoom | undefined>,
): string {
  const salt = meta.salt ?? newSnapshotSalt();
  const digester = new Digester(salt);
  const byId = new Map<string, ActualUser>();
  for (const user of users) {
    const seen = byId.get(user.userId);
    if (!seen || hasDetails(user) || !hasDetails(seen)) byId.set(user.userId, user);
  }
  const rows = [...byId.values()]
    .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    .map((user) => {
      const row: SnapshotUser = {
        userId: user.userId,
        state: user.state,
        admin: user.admin,
        locked: user.locked,
        isGuest: user.isGuest,
        displayname: digester.displayname(user.displayname),
        avatarUrl: digester.avatarUrl(user.avatarUrl),
      };
      if (user.appserviceId !== undefined) row.appserviceId = user.appserviceId;
      if (user.suspended !== undefined) row.suspended = user.suspended;
      if (user.emails !== undefined) row.emails = digester.emails(user.emails);
      if (user.externalIds !== undefined) row.externalIds = digester.externalIds(user.externalIds);
      return `    ${JSON.stringify(row)}`;
    });
  const header = {
    kind: "synapse-gitops-snapshot",
    formatVersion: SNAPSHOT_FORMAT,
    toolVersion: VERSION,
    serverName: meta.serverName,
    homeserver: meta.homeserver,
    ownUserId: meta.ownUserId,
    takenAt: typeof meta.takenAt === "string" ? meta.takenAt : meta.takenAt.toISOString(),
    salt,
  };
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, "");
  const list = (lines: string[]) => `[${lines.length > 0 ? `\n${lines.join(",\n")}\n  ` : ""}]`;
  let tail = "";
  if (rooms && rooms.size > 0) {
    const found = [...rooms].flatMap(([key, room]) => (room ? [`    ${JSON.stringify(roomRow(key, room))}`] : []));
    const missing = [...rooms].flatMap(([key, room]) => (room ? [] : [`    ${JSON.stringify(key)}`]));
    tail = `,\n  "rooms": ${list(found)},\n  "missingRooms": ${list(missing)}`;
  }
  return `${head},\n  "users": ${list(rows)}${tail}\n}\n`;
}

/** A room as the snapshot keeps it: what the room planner reads, without its name. */
function roomRow(key: string, room: ActualRoom): SnapshotRoom {
  return {
    key,
    roomId: room.roomId,
    version: room.version,
    ...(room.roomType === undefined ? {} : { type: room.roomType }),
    joinRule: room.joinRule,
    // Only IDs in the Matrix grammar, as readSnapshot checks them: a remote server may send a member
    // event whose state key is outside it, which the offline plan then does not compare (apply, live, does).
    creators: room.creators.filter(isUserId),
    powerLevels: {
      ...room.powerLevels,
      users: Object.fromEntries(Object.entries(room.powerLevels.users).filter(([u]) => isUserId(u))),
    },
    members: Object.fromEntries([...room.members].filter(([u]) => isUserId(u))),
  };
}

function sameHomeserver(a: string, b: string): boolean {
  const canonical = (url: string) => {
    try {
      return new URL(url).href.replace(/\/+$/, "");
    } catch {
      return url;
    }
  };
  return canonical(a) === canonical(b);
}

/**
 * Parses and checks a snapshot. Any doubt is a clean SnapshotError naming the file and, for a
 * malformed one, the first wrong place (`users.3.displayname: …`). `expect`: what the operator or the
 * users file says the server is; a snapshot of another server is refused.
 */
export function readSnapshot(
  text: string,
  source: string,
  expect: { serverName?: string; homeserver?: string } = {},
): Snapshot {
  if (text.length > MAX_SNAPSHOT_BYTES) {
    throw new SnapshotError(`${source} is larger than ${MAX_SNAPSHOT_BYTES / 1024 / 1024} MB; it is not a snapshot`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotError(`${source} is not a snapshot: it is not JSON`);
  }
  const head = (typeof json === "object" && json !== null ? json : {}) as { kind?: unknown; formatVersion?: unknown };
  if (head.kind !== "synapse-gitops-snapshot") {
    throw new SnapshotError(
      `${source} is not a synapse-gitops snapshot`,
      "write one with `synapse-gitops snapshot --out inventory.json`",
    );
  }
  if (typeof head.formatVersion === "number" && head.formatVersion !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(
      `${source} has snapshot format version ${head.formatVersion}; this synapse-gitops (${VERSION}) reads version ${SNAPSHOT_FORMAT}`,
      "take the snapshot again with this version",
    );
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    // A key from the file (a room's member) is quoted when it is not plain: it may hold control characters.
    const where = first.path.map((p) => (/^[\w@.:#!-]*$/.test(String(p)) ? String(p) : JSON.stringify(p))).join(".");
    // A record's key that is no user ID: its own message, not zod's "Invalid key in record".
    const message = first.code === "invalid_key" ? (first.issues[0]?.message ?? first.message) : first.message;
    throw new SnapshotError(`${source} is not a valid snapshot: ${where || "(top)"}: ${oneLine(message)}`);
  }
  const file = parsed.data;
  const bad = (message: string) => new SnapshotError(`${source} is not a valid snapshot: ${message}`);
  if (serverNameOf(file.ownUserId) !== file.serverName) {
    throw bad(`ownUserId: ${JSON.stringify(file.ownUserId)} is not a user ID of ${file.serverName}`);
  }
  if (expect.serverName !== undefined && expect.serverName !== file.serverName) {
    throw new SnapshotError(`${source} is a snapshot of ${file.serverName}, not of ${expect.serverName}`);
  }
  if (expect.homeserver !== undefined && !sameHomeserver(expect.homeserver, file.homeserver)) {
    throw new SnapshotError(`${source} was taken from ${file.homeserver}, not from ${expect.homeserver}`);
  }
  const users = new Map<string, ActualUser>();
  file.users.forEach((row, index) => {
    if (serverNameOf(row.userId) !== file.serverName) {
      throw bad(`users.${index}.userId: ${JSON.stringify(row.userId)} is not a user ID of ${file.serverName}`);
    }
    if (users.has(row.userId)) throw bad(`users.${index}.userId: ${row.userId} is listed twice`);
    const user: ActualUser = {
      userId: row.userId,
      state: row.state,
      locked: row.locked,
      admin: row.admin,
      displayname: row.displayname,
      avatarUrl: row.avatarUrl,
      userType: null,
      isGuest: row.isGuest,
      shadowBanned: false,
      creationTs: 0,
    };
    if (row.appserviceId !== undefined) user.appserviceId = row.appserviceId;
    if (row.suspended !== undefined) user.suspended = row.suspended;
    if (row.emails !== undefined) user.emails = row.emails;
    if (row.externalIds !== undefined) user.externalIds = row.externalIds;
    users.set(row.userId, user);
  });
  const { toolVersion, serverName, homeserver, ownUserId, takenAt, salt } = file;
  const snapshot: Snapshot = { meta: { toolVersion, serverName, homeserver, ownUserId, takenAt, salt }, users };
  if (file.rooms !== undefined || file.missingRooms !== undefined) {
    const rooms = new Map<string, ActualRoom | undefined>();
    const once = (key: string, where: string) => {
      if (rooms.has(key)) throw bad(`${where}: ${key} is listed twice`);
    };
    (file.rooms ?? []).forEach((row, index) => {
      once(row.key, `rooms.${index}.key`);
      rooms.set(row.key, {
        key: row.key,
        roomId: row.roomId,
        version: row.version,
        ...(row.type === undefined ? {} : { roomType: row.type }),
        joinRule: row.joinRule,
        creators: row.creators,
        members: new Map(Object.entries(row.members) as [string, Membership][]),
        powerLevels: row.powerLevels,
      });
    });
    (file.missingRooms ?? []).forEach((key, index) => {
      once(key, `missingRooms.${index}`);
      rooms.set(key, undefined);
    });
    snapshot.rooms = rooms;
  }
  return snapshot;
}

function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, " ");
}

/** How old the snapshot is, in words: "taken 2026-07-20T03:17:00.000Z, 5 hours ago". `now` is the caller's clock. */
export function snapshotAge(meta: Pick<SnapshotMeta, "takenAt">, now: Date): { ms: number; text: string } {
  const ms = now.getTime() - new Date(meta.takenAt).getTime();
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const span =
    minutes < 90
      ? `${minutes} minute${minutes === 1 ? "" : "s"}`
      : minutes < 48 * 60
        ? `${Math.round(minutes / 60)} hours`
        : `${Math.round(minutes / 60 / 24)} days`;
  const when = ms < -60_000 ? `${span} in the future (check the clocks)` : ms < 60_000 ? "just now" : `${span} ago`;
  return { ms, text: `taken ${meta.takenAt}, ${when}` };
}

/** An attribute the file manages that the snapshot did not read for this user: left out of the comparison. */
export interface NotCompared {
  userId: string;
  attribute: Attribute;
}

/**
 * The file's users, ready to be planned against the snapshot: their personal attributes digested with
 * the snapshot's salt (digestDesired). Emails and external IDs that the trusted job did not read for an
 * existing user (it reads in full only those its own plan needed) are left out and listed, so the
 * planner never compares with a value nobody read; the plan of a pull request that starts managing them
 * says so instead (`notCompared`), and apply, which reads the live server, compares them.
 */
export function desiredForSnapshot(
  desired: ReadonlyMap<string, DesiredUser>,
  snapshot: Snapshot,
): { desired: Map<string, DesiredUser>; notCompared: NotCompared[] } {
  const digester = new Digester(snapshot.meta.salt);
  const out = new Map<string, DesiredUser>();
  const notCompared: NotCompared[] = [];
  for (const [userId, want] of desired) {
    const have = snapshot.users.get(userId);
    let ready = want;
    if (have && have.state !== "erased") {
      for (const attribute of ["emails", "externalIds", "suspended"] as const) {
        if (ready[attribute] !== undefined && have[attribute] === undefined) {
          ready = { ...ready, [attribute]: undefined };
          notCompared.push({ userId, attribute });
        }
      }
    }
    out.set(userId, digestDesired(ready, digester));
  }
  return { desired: out, notCompared };
}

export interface SnapshotPlan {
  /** What the pull request would do, planned against the snapshot; `to` values are the file's, `from` values digests where the server had one. */
  plan: Plan;
  notCompared: NotCompared[];
}

/**
 * The whole offline plan: the file's users digested, planned against the snapshot with the snapshot's
 * server name and own user, and the file's values put back on the `to` side (withFileValues). Pure.
 */
export function planFromSnapshot(
  snapshot: Snapshot,
  desired: ReadonlyMap<string, DesiredUser>,
  policy: PlanContext["policy"],
  now: PlanContext["now"],
  passwordProblem?: PlanContext["passwordProblem"],
): SnapshotPlan {
  const ready = desiredForSnapshot(desired, snapshot);
  const plan = planUsers({
    desired: ready.desired,
    actual: snapshot.users,
    serverName: snapshot.meta.serverName,
    ownUserId: snapshot.meta.ownUserId,
    policy,
    now,
    ...(passwordProblem ? { passwordProblem } : {}),
  });
  return { plan: withFileValues(plan, desired), notCompared: ready.notCompared };
}
