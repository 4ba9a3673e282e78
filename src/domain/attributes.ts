import * as z from "zod";

/**
 * The managed attributes: one entry each. An entry says what the users file may write (its
 * schema, from which the loader, the JSON Schema and the saved-plan format are made), how the
 * server's value compares with the file's, and whether only a full read of the user knows it.
 * Adding an attribute is an entry here plus its API mapping in the accounts backend
 * (src/synapse/userRows.ts): the planner, drift, apply's checks, the reports and export follow.
 */

const nonEmpty = z.string().min(1);

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

export type ExternalId = z.output<typeof externalIdSchema>;

/** `mxc://<server-name>/<media-id>` (Matrix spec, "Matrix Content (mxc://) URIs"). */
const MXC_URI = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;

/**
 * How the server's value and the file's compare: `text` (a missing value equals "", Synapse's
 * way of clearing it), `value` (exactly), `set` (lists, order and repeats aside; Synapse keeps no
 * order).
 */
export type Comparison = "text" | "value" | "set";

interface AttributeSpec {
  schema: z.ZodType;
  compare: Comparison;
  /** Only a full read of the user knows it (Synapse's list does not carry it). */
  detail: boolean;
  /** What `export` writes for the server's value; undefined leaves the attribute out. */
  exported: (value: never) => unknown;
}

export const ATTRIBUTE_SPECS = {
  displayname: {
    schema: z.string().meta({ description: "Managed only when given." }),
    compare: "text",
    detail: false,
    exported: (v: string | null) => v || undefined,
  },
  avatarUrl: {
    schema: z
      .string()
      .regex(MXC_URI, { error: "must be an mxc:// URI, e.g. mxc://example.org/AbCdEf" })
      .meta({ description: "The avatar, as an mxc:// URI of media on the server. Managed only when given." }),
    compare: "text",
    detail: false,
    exported: (v: string | null) => v || undefined,
  },
  admin: {
    schema: z.boolean().meta({ description: "Server admin. Managed only when given." }),
    compare: "value",
    detail: false,
    exported: (v: boolean) => v,
  },
  locked: {
    schema: z.boolean().meta({ description: "A locked account cannot log in. Managed only when given." }),
    compare: "value",
    detail: false,
    exported: (v: boolean) => (v ? true : undefined),
  },
  suspended: {
    schema: z.boolean().meta({
      description:
        "A suspended account can log in and read, but not send, join, invite or change its profile (moderation without deactivation; Synapse ≥ 1.122). Managed only when given.",
    }),
    compare: "value",
    // Synapse 1.160's user list does not carry it: only the single-user GET does.
    detail: true,
    exported: (v: boolean | undefined) => (v ? true : undefined),
  },
  emails: {
    schema: z
      .array(z.email({ error: (iss) => `${JSON.stringify(iss.input)} is not an email address` }))
      .superRefine(noRepeats((e: string) => e.toLowerCase(), "listed twice (emails compare without case)"))
      .meta({ description: "The account's email addresses (the whole list is managed when given)." }),
    compare: "set",
    detail: true,
    exported: (v: string[] | undefined) => (v?.length ? v : undefined),
  },
  externalIds: {
    schema: z
      .array(externalIdSchema)
      .superRefine(noRepeats((e: ExternalId) => `${e.provider}\u0000${e.id}`, "listed twice"))
      .meta({ description: "The account's SSO identities (the whole list is managed when given)." }),
    compare: "set",
    detail: true,
    exported: (v: ExternalId[] | undefined) => (v?.length ? v : undefined),
  },
} as const satisfies Record<string, AttributeSpec>;

export type Attribute = keyof typeof ATTRIBUTE_SPECS;

/** The managed attributes, in the order reports list them. */
export const ATTRIBUTES = Object.keys(ATTRIBUTE_SPECS) as Attribute[];

/** The attributes only a full read of a user knows. */
export const DETAIL_ATTRIBUTES: readonly Attribute[] = ATTRIBUTES.filter((a) => ATTRIBUTE_SPECS[a].detail);

/** The value of each attribute as the users file gives it (emails lower-cased by the loader). */
export type DesiredAttributes = { [K in Attribute]?: z.output<(typeof ATTRIBUTE_SPECS)[K]["schema"]> };

export type AttributeValue = string | boolean | string[] | ExternalId[] | null;

export interface AttributeChange {
  attribute: Attribute;
  /** `undefined` when the user does not exist yet. */
  from?: AttributeValue;
  to: AttributeValue;
}

/**
 * A server user's managed attributes as a users file writes them (`export`, and users accepted into
 * the file by `drift --format patch`): each registry entry's `exported`, undefined ones left out.
 */
export function exportedAttributes(user: { [K in Attribute]?: unknown }): DesiredAttributes {
  const entry: Record<string, unknown> = {};
  for (const attribute of ATTRIBUTES) {
    const value = (ATTRIBUTE_SPECS[attribute].exported as (v: unknown) => unknown)(user[attribute]);
    if (value !== undefined) entry[attribute] = value;
  }
  return entry as DesiredAttributes;
}
