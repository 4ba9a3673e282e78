import * as z from "zod";
import { ACCOUNT_STATES, accountStateSchema } from "../domain/account.js";
import { ATTRIBUTE_SPECS, type Attribute } from "../domain/attributes.js";
import { erasureKindSchema, policySchema } from "../domain/policy.js";
import { scheduleDateSchema } from "../domain/schedule.js";
import { serverNameOf } from "../domain/userId.js";

/**
 * The users file, version 1. The loader validates with these schemas (and then checks what a
 * schema cannot: user keys, duplicates, attributes of inactive users); editors get the same rules
 * from the JSON Schema generated from them (schema/synapse-gitops.schema.json).
 * Messages written here are the ones users see; the others come from load.ts's `friendlyMessage`.
 */

function isServerName(value: string): boolean {
  return serverNameOf(`@x:${value}`) !== undefined;
}

const nonEmpty = z.string().min(1);

/** A value as a message shows it: `"yes"`, `5`, `a list`… */
export function describeValue(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

export const passwordRefSchema = z
  .strictObject(
    {
      env: nonEmpty.optional().meta({ description: "The name of an environment variable holding the password." }),
      file: nonEmpty.optional().meta({ description: "The path of a file holding the password." }),
    },
    {
      error: (iss) =>
        iss.code === "invalid_type" && typeof iss.input === "string"
          ? "a literal password is not allowed: use { env: NAME } or { file: PATH }"
          : undefined,
    },
  )
  .refine((ref) => Object.keys(ref).length === 1, {
    error: "use exactly one of { env: NAME } or { file: PATH }",
    // Not on top of another issue (an unknown key leaves no key in the output).
    when: (payload) => payload.issues.length === 0,
  })
  .meta({
    description:
      "The initial password, set when the account is created or reactivated (never compared): { env: NAME } or { file: PATH }, never the password itself.",
    minProperties: 1,
    maxProperties: 1,
  });

/** The managed attributes, each optional (an attribute that is absent is not managed), from the registry. */
const attributeFields = Object.fromEntries(
  Object.entries(ATTRIBUTE_SPECS).map(([name, spec]) => [name, spec.schema.optional()]),
) as { [K in Attribute]: z.ZodOptional<(typeof ATTRIBUTE_SPECS)[K]["schema"]> };

export const userMapSchema = z
  .strictObject({
    state: accountStateSchema.default("active"),
    ...attributeFields,
    password: passwordRefSchema.optional(),
    allowReactivation: z
      .boolean()
      .optional()
      .meta({ description: "Allow reactivating this user if it is deactivated on the server. Default: false." }),
    deactivateOn: scheduleDateSchema
      .optional()
      .meta({ description: "Deactivate the user from this date (UTC) or date-time on; not on a deactivated user." }),
    eraseOn: scheduleDateSchema.optional().meta({
      description: "Erase the user from this date (UTC) or date-time on: irreversible. Not before deactivateOn.",
    }),
    erasure: erasureKindSchema
      .optional()
      .meta({ description: "Only with state: erased. How much the erasure removes; default: policy.erasure." }),
    groups: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: "Groups (declared under groups) this user is in, besides the groups' own lists." }),
  })
  .meta({ description: "The user's state and managed attributes; attributes only on active users." });

export const userValueSchema = z
  .union([accountStateSchema, userMapSchema], {
    error: (iss) =>
      `expected a state (${ACCOUNT_STATES.join(", ")}) or a map of attributes, got ${describeValue(iss.input)}`,
  })
  .meta({ description: "A state (active, deactivated, erased), or a map with the state and attributes." });

/** A user named in a group or room: a key of `users` (localpart or full ID). */
const memberRef = z.string().min(1).meta({ description: "A user of this file: its localpart or full user ID." });

const roomKeySchema = {
  type: "string",
  // An alias (#name:server) or a room ID (!opaque:server, or !opaque in room version 12).
  pattern: "^(?:#[^:\\s]+:[^\\s]+|![^:\\s]+(?::[^\\s]+)?)$",
} as const;

export const roomSchema = z
  .strictObject({
    groups: z.array(z.string().min(1)).optional().meta({ description: "Groups whose users must all be members." }),
    users: z.array(memberRef).optional().meta({ description: "Users who must be members, besides the groups'." }),
    powerLevels: z.record(z.string(), z.int().min(-1_000_000_000).max(1_000_000_000)).optional().meta({
      description:
        "Power levels of members of this room (keys as in users). Members not listed keep theirs. Room version 12 creators cannot be listed.",
    }),
    removeUndeclared: z
      .boolean()
      .optional()
      .meta({ description: "Remove (kick) joined and invited members this room does not declare. Default: false." }),
  })
  .meta({ description: "Who must be in this room or space, and with which power levels." });

export type RoomEntry = z.output<typeof roomSchema>;

export const usersFileSchema = z
  .strictObject({
    version: z
      .literal(1, {
        // A missing version (input undefined) gets the common "is required".
        error: (iss) =>
          iss.input === undefined
            ? undefined
            : `unsupported version ${JSON.stringify(iss.input)}: this tool reads version 1`,
      })
      .meta({ description: "The version of this file's format: 1." }),
    homeserver: z
      // Not z.httpUrl(): it refuses hosts without a dot, such as localhost.
      .url({ protocol: /^https?$/, error: "must be an http(s) URL, e.g. https://matrix.example.org" })
      .optional()
      .meta({ description: "The homeserver's client-server API URL.", pattern: "^https?://" }),
    serverName: z
      .string()
      .refine(isServerName, { error: "is not a valid server name (e.g. example.org)" })
      .optional()
      .meta({ description: "The server name in user IDs (@alice:example.org); checked against the server's." }),
    policy: policySchema.optional(),
    users: z.record(z.string(), userValueSchema).meta({
      description:
        "The managed users, by localpart (alice) or full user ID (quoted: '@alice:example.org'). A new account's localpart may only hold a-z, 0-9 and . _ = - / + (Synapse refuses others). An account made by an older server may have a historical ID, with any printable ASCII but ':' (Old.Admin, '*x', 'a|b'; quote it where YAML would read it otherwise): it can be updated, deactivated and erased, never created. IDs compare exactly: Old.Admin and old.admin are two accounts.",
      // What the loader accepts (it also checks the length of the whole ID: 255 at most). A localpart
      // key cannot start with `@`: such a localpart is written as a full ID.
      propertyNames: { type: "string", pattern: "^(?:@[!-9;-~]+:[^\\s]+|[!-9;-?A-~][!-9;-~]*)$", maxLength: 255 },
    }),
    groups: z
      .record(z.string(), z.array(memberRef))
      .optional()
      .meta({
        description: "Named groups of users (keys of users), for rooms: `engineering: [alice, bob]`.",
        propertyNames: { type: "string", pattern: "^[A-Za-z0-9._-]+$" },
      }),
    rooms: z.record(z.string(), roomSchema).optional().meta({
      description:
        "Rooms and spaces by alias or room ID (quoted: '#eng:example.org'), with the groups and users that must be members.",
      propertyNames: roomKeySchema,
    }),
  })
  .meta({ title: "synapse-gitops users file", description: "Matrix Synapse user accounts, managed as code." });

export type UserMap = z.output<typeof userMapSchema>;

/**
 * The JSON Schema of the file for editors: the input side (what may be written, defaults optional),
 * in draft 7, which editors' YAML and JSON language servers support best.
 */
export function usersFileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(usersFileSchema, {
    io: "input",
    target: "draft-7",
    override: ({ jsonSchema }) => {
      // z.int() bounds integers to the safe range: noise in an editor's hover.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  }) as Record<string, unknown>;
}
