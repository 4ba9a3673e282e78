import * as z from "zod";
import { serverNameOf } from "./userId.js";

/** What to do with users on the server that the file does not name. */
export const UNMANAGED_POLICIES = ["ignore", "report", "deactivate"] as const;

/** `@localpart:server`; `*` in a pattern stands for any run of characters. */
function isUserIdPattern(value: string): boolean {
  return serverNameOf(value.replaceAll("*", "x")) !== undefined;
}

/** How much an erasure removes (see README "Complete erasure"). */
export const ERASURE_KINDS = ["standard", "complete"] as const;
export type ErasureKind = (typeof ERASURE_KINDS)[number];

export const erasureKindSchema = z.enum(ERASURE_KINDS, { error: `must be one of ${ERASURE_KINDS.join(", ")}` }).meta({
  description:
    "standard: Synapse's erase (profile gone, messages hidden from later joiners). complete: also redacts every message the user sent and deletes their uploaded media, before the erase.",
});
/** policy.maxRemovals when the file does not set it. */
export const DEFAULT_MAX_REMOVALS = 10;

export const policySchema = z
  .strictObject({
    unmanaged: z
      .enum(UNMANAGED_POLICIES, { error: `must be one of ${UNMANAGED_POLICIES.join(", ")}` })
      .default("report")
      .meta({ description: "What to do with users on the server that are not in the file." }),
    maxDeactivations: z
      .int()
      .min(0)
      .default(10)
      .meta({ description: "Refuse a plan that deactivates more users than this." }),
    maxErasures: z.int().min(0).default(5).meta({ description: "Refuse a plan that erases more users than this." }),
    // Optional rather than defaulted: absent means standard, and plans and policies written before
    // it existed read the same.
    erasure: erasureKindSchema.optional().meta({
      description: "The erasure of users whose entry does not say (`erasure:` on the entry wins). Default: standard.",
    }),
    // Optional rather than defaulted, so that policies written before rooms existed keep their shape.
    maxRemovals: z
      .int()
      .min(0)
      .optional()
      .meta({
        description: `Refuse a plan that removes (kicks) members from the file's rooms or lowers their power levels more times than this, removals and demotions counted together. Default: ${DEFAULT_MAX_REMOVALS}.`,
      }),
    protected: z
      .array(
        z.string().refine(isUserIdPattern, {
          error: (iss) =>
            `${JSON.stringify(iss.input)} is not a full user ID: write @localpart:server (with * for any characters)`,
        }),
      )
      .default([])
      .meta({
        description:
          'Users never deactivated or erased, nor removed from a room or demoted in one: full user IDs or globs with *, e.g. "@*-bot:example.org".',
      }),
  })
  .meta({ description: "Safety limits and what to do with users that are not in the file." });

/** The safety policy: limits, protected users, and what happens to users the file does not name. */
export type Policy = z.output<typeof policySchema>;
export type UnmanagedPolicy = Policy["unmanaged"];

export const DEFAULT_POLICY: Policy = policySchema.parse({});
