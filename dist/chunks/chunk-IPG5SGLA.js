#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  ATTRIBUTE_SPECS,
  ZodISODate,
  ZodISODateTime,
  ZodISODuration,
  ZodISOTime,
  _enum,
  _isoDate,
  _isoDateTime,
  _isoDuration,
  _isoTime,
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
} from "./chunk-5UI2KWUR.js";
import {
  __export
} from "./chunk-4CJPJK2Z.js";

// node_modules/zod/v4/classic/iso.js
var iso_exports = {};
__export(iso_exports, {
  ZodISODate: () => ZodISODate,
  ZodISODateTime: () => ZodISODateTime,
  ZodISODuration: () => ZodISODuration,
  ZodISOTime: () => ZodISOTime,
  date: () => date,
  datetime: () => datetime,
  duration: () => duration,
  time: () => time
});
function datetime(params) {
  return _isoDateTime(ZodISODateTime, params);
}
function date(params) {
  return _isoDate(ZodISODate, params);
}
function time(params) {
  return _isoTime(ZodISOTime, params);
}
function duration(params) {
  return _isoDuration(ZodISODuration, params);
}

// src/domain/account.ts
var ACCOUNT_STATES = ["active", "deactivated", "erased"];
var accountStateSchema = _enum(ACCOUNT_STATES, { error: `must be one of ${ACCOUNT_STATES.join(", ")}` }).meta({
  description: "active: the account exists and can log in. deactivated: it cannot log in (reversible only with allowReactivation). erased: deactivated and its data erased (irreversible)."
});

// src/domain/policy.ts
var UNMANAGED_POLICIES = ["ignore", "report", "deactivate"];
function isUserIdPattern(value) {
  return serverNameOf(value.replaceAll("*", "x")) !== void 0;
}
var policySchema = strictObject({
  unmanaged: _enum(UNMANAGED_POLICIES, { error: `must be one of ${UNMANAGED_POLICIES.join(", ")}` }).default("report").meta({ description: "What to do with users on the server that are not in the file." }),
  maxDeactivations: int().min(0).default(10).meta({ description: "Refuse a plan that deactivates more users than this." }),
  maxErasures: int().min(0).default(5).meta({ description: "Refuse a plan that erases more users than this." }),
  protected: array(
    string().refine(isUserIdPattern, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a full user ID: write @localpart:server (with * for any characters)`
    })
  ).default([]).meta({
    description: 'Users never deactivated or erased: full user IDs or globs with *, e.g. "@*-bot:example.org".'
  })
}).meta({ description: "Safety limits and what to do with users that are not in the file." });
var DEFAULT_POLICY = policySchema.parse({});

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
  allowReactivation: boolean().optional().meta({ description: "Allow reactivating this user if it is deactivated on the server. Default: false." })
}).meta({ description: "The user's state and managed attributes; attributes only on active users." });
var userValueSchema = union([accountStateSchema, userMapSchema], {
  error: (iss) => `expected a state (${ACCOUNT_STATES.join(", ")}) or a map of attributes, got ${describeValue(iss.input)}`
}).meta({ description: "A state (active, deactivated, erased), or a map with the state and attributes." });
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
  iso_exports,
  policySchema,
  DEFAULT_POLICY,
  ACCOUNT_STATES,
  describeValue,
  passwordRefSchema,
  userMapSchema,
  userValueSchema,
  usersFileSchema,
  usersFileJsonSchema
};
