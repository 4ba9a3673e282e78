import type { ActualUser } from "../domain/account.js";
import {
  ATTRIBUTE_SPECS,
  ATTRIBUTES,
  type Attribute,
  type AttributeChange,
  type AttributeValue,
  DETAIL_ATTRIBUTES,
  type ExternalId,
} from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";

/** Whether the file manages any of the attributes of `want` that only a full read of the user knows. */
export function managesDetails(want: DesiredUser): boolean {
  for (const attribute of DETAIL_ATTRIBUTES) if (want[attribute] !== undefined) return true;
  return false;
}

function sortedKey(value: AttributeValue | undefined): string {
  if (!Array.isArray(value)) return JSON.stringify(value ?? null);
  const items = (value as (string | ExternalId)[]).map((v) =>
    typeof v === "string" ? v : `${v.provider}\u0000${v.id}`,
  );
  return JSON.stringify(items.sort());
}

/** Whether the server already has the value the file wants, as the attribute's registry entry compares. */
export function sameValue(attribute: Attribute, actual: AttributeValue | undefined, wanted: AttributeValue): boolean {
  const compare = ATTRIBUTE_SPECS[attribute].compare;
  if (compare === "text") return (actual ?? "") === (wanted ?? "");
  // Two values that are not lists: their keys are equal exactly when they are (no key is built).
  if (!Array.isArray(actual) && !Array.isArray(wanted)) return (actual ?? null) === (wanted ?? null);
  return sortedKey(actual) === sortedKey(wanted);
}

export function actualValue(user: ActualUser, attribute: Attribute): AttributeValue | undefined {
  return user[attribute];
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
