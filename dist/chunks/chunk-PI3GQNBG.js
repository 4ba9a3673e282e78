#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  ATTRIBUTE_SPECS
} from "./chunk-TY2JSSN6.js";
import {
  erasureKindSchema,
  policySchema
} from "./chunk-SAG34VUY.js";
import {
  scheduleDateSchema
} from "./chunk-6HBL5TLA.js";
import {
  _enum,
  array,
  boolean,
  int,
  literal,
  record,
  serverNameOf,
  strictObject,
  string,
  toJSONSchema,
  union,
  url
} from "./chunk-SVN2WMBC.js";

// src/domain/account.ts
var ACCOUNT_STATES = ["active", "deactivated", "erased"];
var accountStateSchema = _enum(ACCOUNT_STATES, { error: `must be one of ${ACCOUNT_STATES.join(", ")}` }).meta({
  description: "active: the account exists and can log in. deactivated: it cannot log in (reversible only with allowReactivation). erased: deactivated and its data erased (irreversible)."
});

// src/config/schema.ts
function isServerName(value) {
  return serverNameOf(`@x:${value}`) !== void 0;
}
var nonEmpty = string().min(1);
function describeValue(value) {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}\u2026` : value);
  return String(value);
}
var passwordRefSchema = strictObject(
  {
    env: nonEmpty.optional().meta({ description: "The name of an environment variable holding the password." }),
    file: nonEmpty.optional().meta({ description: "The path of a file holding the password." })
  },
  {
    error: (iss) => iss.code === "invalid_type" && typeof iss.input === "string" ? "a literal password is not allowed: use { env: NAME } or { file: PATH }" : void 0
  }
).refine((ref) => Object.keys(ref).length === 1, {
  error: "use exactly one of { env: NAME } or { file: PATH }",
  // Not on top of another issue (an unknown key leaves no key in the output).
  when: (payload) => payload.issues.length === 0
}).meta({
  description: "The initial password, set when the account is created or reactivated (never compared): { env: NAME } or { file: PATH }, never the password itself.",
  minProperties: 1,
  maxProperties: 1
});
var attributeFields = Object.fromEntries(
  Object.entries(ATTRIBUTE_SPECS).map(([name, spec]) => [name, spec.schema.optional()])
);
var userMapSchema = strictObject({
  state: accountStateSchema.default("active"),
  ...attributeFields,
  password: passwordRefSchema.optional(),
  allowReactivation: boolean().optional().meta({ description: "Allow reactivating this user if it is deactivated on the server. Default: false." }),
  deactivateOn: scheduleDateSchema.optional().meta({ description: "Deactivate the user from this date (UTC) or date-time on; not on a deactivated user." }),
  eraseOn: scheduleDateSchema.optional().meta({
    description: "Erase the user from this date (UTC) or date-time on: irreversible. Not before deactivateOn."
  }),
  erasure: erasureKindSchema.optional().meta({ description: "Only with state: erased. How much the erasure removes; default: policy.erasure." }),
  groups: array(string().min(1)).optional().meta({ description: "Groups (declared under groups) this user is in, besides the groups' own lists." })
}).meta({ description: "The user's state and managed attributes; attributes only on active users." });
var userValueSchema = union([accountStateSchema, userMapSchema], {
  error: (iss) => `expected a state (${ACCOUNT_STATES.join(", ")}) or a map of attributes, got ${describeValue(iss.input)}`
}).meta({ description: "A state (active, deactivated, erased), or a map with the state and attributes." });
var memberRef = string().min(1).meta({ description: "A user of this file: its localpart or full user ID." });
var roomKeySchema = {
  type: "string",
  // An alias (#name:server) or a room ID (!opaque:server, or !opaque in room version 12).
  pattern: "^(?:#[^:\\s]+:[^\\s]+|![^:\\s]+(?::[^\\s]+)?)$"
};
var roomSchema = strictObject({
  groups: array(string().min(1)).optional().meta({ description: "Groups whose users must all be members." }),
  users: array(memberRef).optional().meta({ description: "Users who must be members, besides the groups'." }),
  powerLevels: record(string(), int().min(-1e9).max(1e9)).optional().meta({
    description: "Power levels of members of this room (keys as in users). Members not listed keep theirs. Room version 12 creators cannot be listed."
  }),
  removeUndeclared: boolean().optional().meta({ description: "Remove (kick) joined and invited members this room does not declare. Default: false." })
}).meta({ description: "Who must be in this room or space, and with which power levels." });
var usersFileSchema = strictObject({
  version: literal(1, {
    // A missing version (input undefined) gets the common "is required".
    error: (iss) => iss.input === void 0 ? void 0 : `unsupported version ${JSON.stringify(iss.input)}: this tool reads version 1`
  }).meta({ description: "The version of this file's format: 1." }),
  homeserver: url({ protocol: /^https?$/, error: "must be an http(s) URL, e.g. https://matrix.example.org" }).optional().meta({ description: "The homeserver's client-server API URL.", pattern: "^https?://" }),
  serverName: string().refine(isServerName, { error: "is not a valid server name (e.g. example.org)" }).optional().meta({ description: "The server name in user IDs (@alice:example.org); checked against the server's." }),
  policy: policySchema.optional(),
  users: record(string(), userValueSchema).meta({
    description: "The managed users, by localpart (alice) or full user ID (quoted: '@alice:example.org'). A new account's localpart may only hold a-z, 0-9 and . _ = - / + (Synapse refuses others). An account made by an older server may have a historical ID, with any printable ASCII but ':' (Old.Admin, '*x', 'a|b'; quote it where YAML would read it otherwise): it can be updated, deactivated and erased, never created. IDs compare exactly: Old.Admin and old.admin are two accounts.",
    // What the loader accepts (it also checks the length of the whole ID: 255 at most). A localpart
    // key cannot start with `@`: such a localpart is written as a full ID.
    propertyNames: { type: "string", pattern: "^(?:@[!-9;-~]+:[^\\s]+|[!-9;-?A-~][!-9;-~]*)$", maxLength: 255 }
  }),
  groups: record(string(), array(memberRef)).optional().meta({
    description: "Named groups of users (keys of users), for rooms: `engineering: [alice, bob]`.",
    propertyNames: { type: "string", pattern: "^[A-Za-z0-9._-]+$" }
  }),
  rooms: record(string(), roomSchema).optional().meta({
    description: "Rooms and spaces by alias or room ID (quoted: '#eng:example.org'), with the groups and users that must be members.",
    propertyNames: roomKeySchema
  })
}).meta({ title: "synapse-gitops users file", description: "Matrix Synapse user accounts, managed as code." });
function usersFileJsonSchema() {
  return toJSONSchema(usersFileSchema, {
    io: "input",
    target: "draft-7",
    override: ({ jsonSchema }) => {
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    }
  });
}

export {
  ACCOUNT_STATES,
  describeValue,
  passwordRefSchema,
  userMapSchema,
  userValueSchema,
  roomSchema,
  usersFileSchema,
  usersFileJsonSchema
};
