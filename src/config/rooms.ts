import type { DesiredUser, SourcePosition } from "../domain/desired.js";
import { type DesiredRoom, type DesiredRoomMember, isRoomKey } from "../domain/rooms.js";
import type { YEntry, YNode } from "./yamlTree.js";

// The file's `groups` and `rooms`, once their shape has passed the schema (load.ts) and the users
// are known: every name they use is resolved here, and each one that names nothing is an issue at
// its own place in the file (file:line:column), like any other mistake in the file.

const GROUP_NAME = /^[A-Za-z0-9._-]+$/;

/** One file's `groups` and `rooms` maps (their tree nodes), when it has them and they are valid in shape. */
export interface RoomSections {
  file: number;
  groups?: YNode;
  rooms?: YNode;
}

/** A group named on a user (`bob: {groups: [engineering]}`), and where. */
export interface UserGroups {
  file: number;
  userId: string;
  group: string;
  offset: number;
  path: PropertyKey[];
}

export interface RoomContext {
  /** The file's users, by full ID: a group or room may only name one of these. */
  users: Map<string, DesiredUser>;
  /** The groups named on users, in file order: each must be declared under groups. */
  userGroups: readonly UserGroups[];
  /** The user ID a key of `users` stands for (localpart or full ID), or undefined when it cannot be one. */
  userIdOf(key: string): string | undefined;
  add(file: number, offset: number, path: PropertyKey[], message: string): void;
  position(file: number, offset: number): SourcePosition;
}

/** The rooms the files declare, in file order; every problem goes to `context.add`. */
export function readRooms(sections: RoomSections[], context: RoomContext): DesiredRoom[] {
  const groups = new Map<string, { members: string[]; at: SourcePosition }>();
  for (const { file, groups: node } of sections) {
    for (const entry of entriesOf(node)) {
      const at = context.position(file, entry.keyOffset);
      if (!GROUP_NAME.test(entry.key)) {
        context.add(file, entry.keyOffset, ["groups", entry.key], "a group name may only hold A-Z, a-z, 0-9 and . _ -");
        continue;
      }
      const first = groups.get(entry.key);
      if (first) {
        context.add(
          file,
          entry.keyOffset,
          ["groups", entry.key],
          `group ${entry.key} is already declared at ${where(first.at)}`,
        );
        continue;
      }
      const members: string[] = [];
      itemsOf(entry.value).forEach((item, i) => {
        const userId = member(context, file, item, ["groups", entry.key, i]);
        if (userId !== undefined && !members.includes(userId)) members.push(userId);
      });
      groups.set(entry.key, { members, at });
    }
  }
  // A group named on a user adds the user to it: moving someone to another team is one line.
  for (const { file, userId, group, offset, path } of context.userGroups) {
    const declared = groups.get(group);
    if (!declared) context.add(file, offset, path, unknownGroup(group, groups));
    else if (!declared.members.includes(userId)) declared.members.push(userId);
  }

  const rooms: DesiredRoom[] = [];
  const seen = new Map<string, SourcePosition>();
  for (const { file, rooms: node } of sections) {
    for (const entry of entriesOf(node)) {
      const base = ["rooms", entry.key];
      const source = context.position(file, entry.keyOffset);
      if (!isRoomKey(entry.key)) {
        context.add(
          file,
          entry.keyOffset,
          base,
          "a room is named by an alias ('#name:server') or a room ID ('!id:server'); quote it: # starts a YAML comment",
        );
        continue;
      }
      const first = seen.get(entry.key);
      if (first) {
        context.add(file, entry.keyOffset, base, `${entry.key} is already declared at ${where(first)}`);
        continue;
      }
      seen.set(entry.key, source);
      const room: DesiredRoom = { key: entry.key, members: new Map(), removeUndeclared: false, source };
      const join = (userId: string, via: string) => {
        const existing = room.members.get(userId);
        if (existing) {
          if (!existing.via.includes(via)) existing.via.push(via);
        } else room.members.set(userId, { userId, via: [via] } satisfies DesiredRoomMember);
      };
      const fields = entry.value.kind === "map" ? entry.value.entries : [];
      for (const field of fields) {
        if (field.key === "groups") {
          itemsOf(field.value).forEach((item, i) => {
            const name = item.kind === "scalar" ? String(item.value) : "";
            const group = groups.get(name);
            if (!group) {
              context.add(file, item.offset, [...base, "groups", i], unknownGroup(name, groups));
              return;
            }
            for (const userId of group.members) join(userId, name);
          });
        } else if (field.key === "users") {
          itemsOf(field.value).forEach((item, i) => {
            const userId = member(context, file, item, [...base, "users", i]);
            if (userId !== undefined) join(userId, "users");
          });
        } else if (field.key === "removeUndeclared") {
          room.removeUndeclared = field.value.kind === "scalar" && field.value.value === true;
        }
      }
      // Power levels after the members: only a member's can be set.
      const levels = fields.findLast((f) => f.key === "powerLevels");
      for (const level of entriesOf(levels?.value)) {
        const path = [...base, "powerLevels", level.key];
        const userId = resolve(context, level.key);
        if (userId === undefined) {
          context.add(file, level.keyOffset, path, unknownUser(level.key));
          continue;
        }
        const declared = room.members.get(userId);
        if (!declared) {
          context.add(
            file,
            level.keyOffset,
            path,
            `${level.key} is not a member of this room: add it to users or to one of its groups`,
          );
          continue;
        }
        if (level.value.kind === "scalar" && typeof level.value.value === "number")
          declared.powerLevel = level.value.value;
      }
      rooms.push(room);
    }
  }
  return rooms;
}

function entriesOf(node: YNode | undefined): YEntry[] {
  return node?.kind === "map" ? node.entries : [];
}

function itemsOf(node: YNode | undefined): YNode[] {
  return node?.kind === "seq" ? node.items : [];
}

function where(at: SourcePosition): string {
  return `${at.file}:${at.line}:${at.column}`;
}

function unknownGroup(name: string, groups: ReadonlyMap<string, unknown>): string {
  const known = groups.size > 0 ? ` (groups: ${[...groups.keys()].join(", ")})` : "";
  return `unknown group "${name}"${known}: declare it under groups`;
}

function unknownUser(name: string): string {
  return `unknown user "${name}": a group or room may only name users declared under users`;
}

/** The declared user a name stands for, if any. */
function resolve(context: RoomContext, name: string): string | undefined {
  const userId = context.userIdOf(name);
  return userId !== undefined && context.users.has(userId) ? userId : undefined;
}

/** A list item naming a user: its ID, or undefined after reporting it at its place. */
function member(context: RoomContext, file: number, item: YNode, path: PropertyKey[]): string | undefined {
  const name = item.kind === "scalar" ? String(item.value) : "";
  const userId = resolve(context, name);
  if (userId === undefined) context.add(file, item.offset, path, unknownUser(name));
  return userId;
}
