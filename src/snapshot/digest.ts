import { createHmac } from "node:crypto";
import type { Attribute, AttributeValue, ExternalId } from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";
import type { Plan } from "../domain/plan.js";

/**
 * Keyed digests of the attributes that are personal data (display names, email addresses, external
 * IDs), so that an inventory snapshot can be compared with a users file without holding the values.
 *
 * A digest is `hmac-sha256:` + base64url(HMAC-SHA256(salt, JSON [kind, ...parts])), keyed by the
 * snapshot's own random salt (kept in the snapshot: the pull-request job, which has no token, hashes
 * the file's values with it). The kind inside the message keeps a display name and an email address
 * that are the same text from having the same digest. What this does not protect: anyone holding the
 * snapshot can confirm a guess (hash "alice@example.org" and look for it); see SECURITY.md.
 */
export const DIGEST_PREFIX = "hmac-sha256:";

/** What a reporter shows instead of a digest (see isDigest). */
export const CHANGED_MARKER = "(changed)";

const DIGEST = /^hmac-sha256:[A-Za-z0-9_-]{43}$/;

/** The salt: 32 random bytes, as 64 lower-case hex digits. */
export const SALT = /^[0-9a-f]{64}$/;

type Kind = "displayname" | "avatarUrl" | "email" | "externalId";

function digest(key: Buffer, kind: Kind, ...parts: string[]): string {
  return (
    DIGEST_PREFIX +
    createHmac("sha256", key)
      .update(JSON.stringify([kind, ...parts]))
      .digest("base64url")
  );
}

function keyOf(salt: string): Buffer {
  if (!SALT.test(salt)) throw new Error("bug: a snapshot salt is 64 lower-case hex digits");
  return Buffer.from(salt, "hex");
}

/** Whether `text` is a digest string (not: whether it is a digest of anything in particular). */
export function isDigestString(text: unknown): text is string {
  return typeof text === "string" && DIGEST.test(text);
}

/**
 * Whether a value in a plan made from a snapshot is a digest rather than a value a person can read:
 * a digest string, or a non-empty list of digests, or of external IDs whose `id` is a digest. An
 * empty list, `null`, a boolean or plain text is not.
 *
 * Reporters: when (and only when) the report was planned from a snapshot, show CHANGED_MARKER for a
 * change's `from` for which this is true, instead of formatting the value. Only `from`: the `to` side
 * holds the file's plain values again (withFileValues). Only from a snapshot: in a live plan a display
 * name is whatever its user typed, and could be made to look like a digest.
 */
export function isDigest(value: AttributeValue | undefined): boolean {
  if (isDigestString(value)) return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return (value as (string | ExternalId)[]).every((v) =>
    typeof v === "string" ? isDigestString(v) : isDigestString(v.id),
  );
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byExternalId(a: ExternalId, b: ExternalId): number {
  return byText(a.provider, b.provider) || byText(a.id, b.id);
}

/** The digests of one user's personal attributes, as the snapshot stores them and the planner compares them. */
export class Digester {
  readonly #key: Buffer;

  constructor(salt: string) {
    this.#key = keyOf(salt);
  }

  /**
   * Synapse's way of clearing a display name is "", and the planner counts a missing one as ""
   * (sameValue): both stay plain (`null` on the server's side, "" on the file's), so they still compare
   * equal. That a user has no display name is not hidden.
   */
  displayname(value: string | null): string | null {
    return value === null || value === "" ? null : digest(this.#key, "displayname", value);
  }

  /** Like a display name: none stays plain. */
  avatarUrl(value: string | null): string | null {
    return value === null || value === "" ? null : digest(this.#key, "avatarUrl", value);
  }

  /** Lower-cased first (Synapse stores addresses so), then sorted: the list is a set. */
  emails(values: readonly string[]): string[] {
    return values.map((e) => digest(this.#key, "email", e.toLowerCase())).sort(byText);
  }

  /** The provider stays plain (it names an identity provider of the server, not a person); the ID is digested with it. */
  externalIds(values: readonly ExternalId[]): ExternalId[] {
    return values
      .map((x) => ({ provider: x.provider, id: digest(this.#key, "externalId", x.provider, x.id) }))
      .sort(byExternalId);
  }
}

/**
 * A copy of `want` whose managed personal attributes are digested exactly as the snapshot's server
 * users are, so that the planner's own comparison (sameValue) says "same" exactly when the values are:
 * emails without regard to case, lists without regard to order. A display name of "" (cleared) stays "".
 */
export function digestDesired(want: DesiredUser, salt: string | Digester): DesiredUser {
  const digester = typeof salt === "string" ? new Digester(salt) : salt;
  const copy: DesiredUser = { ...want };
  if (want.displayname !== undefined)
    copy.displayname = want.displayname === "" ? "" : digester.displayname(want.displayname)!;
  if (want.avatarUrl !== undefined) copy.avatarUrl = want.avatarUrl === "" ? "" : digester.avatarUrl(want.avatarUrl)!;
  if (want.emails !== undefined) copy.emails = digester.emails(want.emails);
  if (want.externalIds !== undefined) copy.externalIds = digester.externalIds(want.externalIds);
  return copy;
}

const PERSONAL: readonly Attribute[] = ["displayname", "avatarUrl", "emails", "externalIds"];

/**
 * A plan made against a snapshot, with each change's `to` put back to the value the users file
 * wants (the file is what the pull request shows its reviewers; nothing in it is hidden from them).
 * The `from` side stays a digest where the server had a value: reporters show CHANGED_MARKER for it
 * (see isDigest). `desired` is the file's users as loaded, before digestDesired.
 */
export function withFileValues(plan: Plan, desired: ReadonlyMap<string, DesiredUser>): Plan {
  return {
    ...plan,
    actions: plan.actions.map((action) => {
      if (!action.changes.some((c) => PERSONAL.includes(c.attribute) && isDigest(c.to))) return action;
      const want = desired.get(action.userId);
      return {
        ...action,
        changes: action.changes.map((c) => {
          const plain = want?.[c.attribute];
          return PERSONAL.includes(c.attribute) && isDigest(c.to) && plain !== undefined ? { ...c, to: plain } : c;
        }),
      };
    }),
  };
}
