import type { DesiredUser } from "../config/types.js";
import type { ActualUser, ExternalId } from "../synapse/types.js";
import type { Attribute, AttributeChange, AttributeValue } from "./types.js";

export const ATTRIBUTES: readonly Attribute[] = ["displayname", "admin", "locked", "emails", "externalIds"];

/** The attributes whose actual value only the single-user GET knows (the list does not carry them). */
export const DETAIL_ATTRIBUTES: readonly Attribute[] = ["emails", "externalIds"];

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
  const changes: AttributeChange[] = [];
  for (const attribute of ATTRIBUTES) {
    const wanted = want[attribute];
    if (wanted === undefined) continue; // not managed
    if (!have) {
      changes.push({ attribute, to: wanted });
      continue;
    }
    const current = actualValue(have, attribute);
    if (current === undefined) {
      throw new Error(`bug: ${attribute} of ${have.userId} was not read from the server before planning`);
    }
    if (!sameValue(attribute, current, wanted)) changes.push({ attribute, from: current, to: wanted });
  }
  return changes;
}
