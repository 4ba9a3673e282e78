import * as z from "zod";
import { serverNameOf } from "../synapse/userId.js";

/**
 * The users file, version 1. The loader validates with these schemas (and then checks what a
 * schema cannot: user keys, duplicates, attributes of inactive users); editors get the same rules
 * from the JSON Schema generated from them (schema/synapse-gitops.schema.json).
 * Messages written here are the ones users see; the others come from load.ts's `friendlyMessage`.
 */

export const STATES = ["active", "deactivated", "erased"] as const;

export const stateSchema = z.enum(STATES, { error: `must be one of ${STATES.join(", ")}` }).meta({
  description:
    "active: the account exists and can log in. deactivated: it cannot log in (reversible only with allowReactivation). erased: deactivated and its data erased (irreversible).",
});

/** `@localpart:server`; `*` in a pattern stands for any run of characters. */
function isUserIdPattern(value: string): boolean {
  return serverNameOf(value.replaceAll("*", "x")) !== undefined;
}

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

/**
 * A list item repeated (Synapse keeps each email and external ID once, so a repeat would be planned
 * again on every run): an issue at the second one.
 */
function noRepeats<T>(key: (item: T) => string, message: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      const first = seen.get(k);
      if (first === undefined) seen.set(k, i);
      else
        ctx.addIssue({ code: "custom", path: [i], message: `${message}: the same as item ${first + 1}`, input: item });
    });
  };
}

export const externalIdSchema = z
  .strictObject({
    provider: nonEmpty.meta({ description: "The SSO provider's ID in Synapse's configuration, e.g. oidc." }),
    id: nonEmpty.meta({ description: "The user's ID at that provider (quote it if it looks like a number)." }),
  })
  .meta({ description: "A link to an SSO identity." });

export const userMapSchema = z
  .strictObject({
    state: stateSchema.default("active"),
    displayname: z.string().optional().meta({ description: "Managed only when given." }),
    admin: z.boolean().optional().meta({ description: "Server admin. Managed only when given." }),
    locked: z.boolean().optional().meta({ description: "A locked account cannot log in. Managed only when given." }),
    emails: z
      .array(z.email({ error: (iss) => `${JSON.stringify(iss.input)} is not an email address` }))
      .superRefine(noRepeats((e: string) => e.toLowerCase(), "listed twice (emails compare without case)"))
      .optional()
      .meta({ description: "The account's email addresses (the whole list is managed when given)." }),
    externalIds: z
      .array(externalIdSchema)
      .superRefine(noRepeats((e: { provider: string; id: string }) => `${e.provider}\u0000${e.id}`, "listed twice"))
      .optional()
      .meta({ description: "The account's SSO identities (the whole list is managed when given)." }),
    password: passwordRefSchema.optional(),
    allowReactivation: z
      .boolean()
      .optional()
      .meta({ description: "Allow reactivating this user if it is deactivated on the server. Default: false." }),
  })
  .meta({ description: "The user's state and managed attributes; attributes only on active users." });

export const userValueSchema = z
  .union([stateSchema, userMapSchema], {
    error: (iss) => `expected a state (${STATES.join(", ")}) or a map of attributes, got ${describeValue(iss.input)}`,
  })
  .meta({ description: "A state (active, deactivated, erased), or a map with the state and attributes." });

export const policySchema = z
  .strictObject({
    unmanaged: z
      .enum(["ignore", "report", "deactivate"], { error: "must be one of ignore, report, deactivate" })
      .default("report")
      .meta({ description: "What to do with users on the server that are not in the file." }),
    maxDeactivations: z
      .int()
      .min(0)
      .default(10)
      .meta({ description: "Refuse a plan that deactivates more users than this." }),
    maxErasures: z.int().min(0).default(5).meta({ description: "Refuse a plan that erases more users than this." }),
    protected: z
      .array(
        z.string().refine(isUserIdPattern, {
          error: (iss) =>
            `${JSON.stringify(iss.input)} is not a full user ID: write @localpart:server (with * for any characters)`,
        }),
      )
      .default([])
      .meta({
        description: 'Users never deactivated or erased: full user IDs or globs with *, e.g. "@*-bot:example.org".',
      }),
  })
  .meta({ description: "Safety limits and what to do with users that are not in the file." });

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
      description: "The managed users, by localpart (alice) or full user ID (quoted: '@alice:example.org').",
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
