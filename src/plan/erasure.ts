import type { ActualUser, ErasureResidue } from "../domain/account.js";
import type { DesiredUser } from "../domain/desired.js";
import type { PurgeCounts } from "../domain/plan.js";
import type { Policy } from "../domain/policy.js";
import { dueUser } from "../domain/schedule.js";

/**
 * Complete erasure (issue 15): Synapse's erase leaves the user's messages readable by those who were
 * in the room and their media stored. A user whose entry (or the policy) says `erasure: complete`
 * also has every message redacted and every upload deleted, before the erase; an erased user whose
 * purge was left half done is planned again until nothing is left.
 */
export function wantsCompleteErasure(want: DesiredUser, policy: Pick<Policy, "erasure">): boolean {
  return want.state === "erased" && (want.erasure ?? policy.erasure ?? "standard") === "complete";
}

/** Whether a purge left something behind (rooms alone are not: they stay, emptied of the user's messages). */
export function hasResidue(residue: ErasureResidue | undefined): boolean {
  return residue !== undefined && (residue.messages > 0 || residue.media > 0);
}

/** The counts a plan shows; null where the residue was not read (a plan against a snapshot). */
export function purgeCounts(residue: ErasureResidue | undefined): PurgeCounts {
  return residue
    ? { rooms: residue.rooms.length, messages: residue.messages, media: residue.media }
    : { rooms: null, messages: null, media: null };
}

/**
 * Which server users the plan needs the residue of: those the file wants completely erased (and
 * only those — reading it costs a request per room of theirs). Everyone else costs nothing more.
 */
export function needsResidue(
  desired: Map<string, DesiredUser>,
  policy: Pick<Policy, "erasure">,
  now: number,
): (user: ActualUser) => boolean {
  const complete = new Set<string>();
  for (const want of desired.values()) if (wantsCompleteErasure(dueUser(want, now), policy)) complete.add(want.userId);
  if (complete.size === 0) return () => false;
  return (user) => complete.has(user.userId);
}
