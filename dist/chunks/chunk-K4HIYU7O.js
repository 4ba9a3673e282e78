#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  require_dist
} from "./chunk-FLQYQNNJ.js";
import {
  exportedAttributes
} from "./chunk-TY2JSSN6.js";
import {
  localpartOf
} from "./chunk-SVN2WMBC.js";
import {
  __toESM
} from "./chunk-4CJPJK2Z.js";

// src/config/export.ts
var import_yaml = __toESM(require_dist(), 1);
function exportRooms(rooms, exported, serverName) {
  const out = /* @__PURE__ */ new Map();
  for (const room of rooms) {
    const members = [...room.members].filter(([userId, m]) => m === "join" && exported.has(userId)).map(([userId]) => userId).sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
    const levels = /* @__PURE__ */ new Map();
    for (const userId of members) {
      const level = room.powerLevels.users[userId];
      if (level !== void 0 && level !== room.powerLevels.usersDefault && !room.creators.includes(userId))
        levels.set(userKey(userId, serverName), level);
    }
    out.set(room.key, {
      users: members.map((userId) => userKey(userId, serverName)),
      ...levels.size > 0 ? { powerLevels: levels } : {}
    });
  }
  return out;
}
function exportUsersFile(users, serverName, header, rooms = []) {
  const sorted = [...users].sort((a, b) => a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
  const entries = /* @__PURE__ */ new Map();
  for (const u of sorted) {
    const key = userKey(u.userId, serverName);
    entries.set(key, u.state === "active" ? exportedAttributes(u) : u.state);
  }
  const exported = new Set(sorted.filter((u) => u.state === "active").map((u) => u.userId));
  const doc = new import_yaml.Document({
    version: 1,
    serverName,
    users: entries,
    ...rooms.length > 0 ? { rooms: exportRooms(rooms, exported, serverName) } : {}
  });
  quoteMergeKey(doc.get("users", true));
  return `${header}${doc.toString({ lineWidth: 0 })}`;
}
function userKey(userId, serverName) {
  const localpart = localpartOf(userId);
  return userId.endsWith(`:${serverName}`) && !localpart.startsWith("@") ? localpart : userId;
}
function quoteMergeKey(users) {
  const pair = users.items.find((p) => (0, import_yaml.isScalar)(p.key) && p.key.value === "<<");
  if (pair && (0, import_yaml.isScalar)(pair.key)) pair.key.type = "QUOTE_DOUBLE";
}

export {
  exportUsersFile,
  userKey,
  quoteMergeKey
};
