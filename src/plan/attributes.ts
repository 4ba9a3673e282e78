import type { DesiredUser } from "../config/types.js";
import type { ActualUser, ExternalId } from "../synapse/types.js";
import type { Attribute, AttributeChange, AttributeValue } from "./types.js";

export const ATTRIBUTES: readonly Attribute[] = ["displayname", "admin", "locked", "emails", "externalIds"];

/** The attributes whose actual value only the single-user GET knows (the list does not carry them). */
export const DETAIL_ATTRIBUTES: readonly Attribute[] = ["emails", "externalIds"];

/** Whether the file manages any of the DETAIL_ATTRIBUTES of `want` (spelt out: asked of every user). */
export function managesDetails(want: DesiredUser): boolean {
  return want.emails !== undefined || want.externalIds !== undefined;
}

function sortedKey(value: AttributeValue | undefined): string {
  if (!Array.isArray(value)) return JSON.stringify(value ?? null);
  const items = (value as (string | ExternalId)[]).map((v) =>
    typeof v === "string" ? v : `${v.provider}\u0000${v.id}`,
  );
  return JSON.stringify(items.sort());
}

/**
 * Whether the server already has the value the file wants. Lists compare as sets (Synapse does not
 * keep their order); a missing displayname equals "" (Synapse's way of clearing it).
 */
export function sameValue(attribute: Attribute, actual: AttributeValue | undefined, wanted: AttributeValue): boolean {
  if (attribute === "displayname") return (actual ?? "") === (wanted ?? "");
  // Two values that are not lists: their keys are equal exactly when they are (no key is built).
  if (!Array.isArray(actual) && !Array.isArray(wanted)) return (actual ?? null) === (wanted ?? null);
  return sortedKey(actual) === sortedKey(wanted);
}

export function actualValue(user: ActualUser, attribute: Attribute): AttributeValue | undefined {
  switch (attribute) {
    case "displayname":
      return user.displayname;
    case "admin":
      return user.admin;
    case "locked":
      return user.locked;
    case "emails":
      return user.emails;
    case "externalIds":
      return user.externalIds;
  }
}

/** The managed attributes of `want` that `have` lacks (all of them when the user does not exist). */
export function attributeChanges(want: DesiredUser, have: ActualUser | undefined): AttributeChange[] {
  return attributeChangesIfAny(want, have) ?? [];
}

/** Like attributeChanges, but undefined rather than an empty list: planning a large, mostly unchanged server makes no list per user. */
export function attributeChangesIfAny(want: DesiredUser, have: ActualUser | undefined): AttributeChange[] | undefined {
  let changes: AttributeChange[] | undefined;
  for (const attribute of ATTRIBUTES) {
    const wanted = want[attribute];
    if (wanted === undefined) continue; // not managed
    let change: AttributeChange;
    if (!have) change = { attribute, to: wanted };
    else {
      const current = actualValue(have, attribute);
      if (current === undefined) {
        throw new Error(`bug: ${attribute} of ${have.userId} was not read from the server before planning`);
      }
      if (sameValue(attribute, current, wanted)) continue;
      change = { attribute, from: current, to: wanted };
    }
    if (changes) changes.push(change);
    else changes = [change];
  }
  return changes;
}
