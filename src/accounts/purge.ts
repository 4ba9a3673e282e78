// Complete erasure on Synapse (issue 15): what is left of a user's messages and media, and removing
// it. Synapse-only admin APIs, which answer the Synapse admin token under MAS too.
import { setTimeout as sleep } from "node:timers/promises";
import type { ErasureResidue } from "../domain/account.js";
import type { SynapseClient } from "../synapse/client.js";
import { mapConcurrent } from "../util/concurrency.js";

/**
 * Events redacted per room at most, newest first, already redacted ones included (Synapse's
 * `limit`, 1,000 by default). Synapse stops at the user's last event, so a high bound costs
 * nothing for users with fewer; it only bounds what one task loads.
 */
export const REDACT_LIMIT_PER_ROOM = 1_000_000;

export interface PurgeTiming {
  /** How long to wait for one redaction task before giving up (it goes on on the server). */
  maxWaitMs: number;
  sleep: (ms: number) => Promise<unknown>;
}

export const DEFAULT_PURGE_TIMING: PurgeTiming = { maxWaitMs: 15 * 60_000, sleep: (ms) => sleep(ms) };

/** The rooms the user was ever in (memberships, left rooms included), their unredacted messages there, and their media. */
export async function readResidue(client: SynapseClient, userId: string): Promise<ErasureResidue> {
  const rooms = Object.keys(await client.userMemberships(userId)).sort();
  const perRoom = new Array<number>(rooms.length).fill(0);
  const media = client.countUserMedia(userId);
  await mapConcurrent(rooms, 4, async (room, i) => {
    perRoom[i] = await client.countUnredactedMessages(userId, room);
  });
  return { rooms, messages: perRoom.reduce((a, b) => a + b, 0), media: await media };
}

/**
 * Redacts the user's events in `rooms` and waits for Synapse's task to end, polling with growing
 * pauses for at most `timing.maxWaitMs`. Returns how many events Synapse could not redact. Rooms are
 * named (from the memberships): an empty list would mean only the rooms the user is in now.
 */
export async function redactAndWait(
  client: SynapseClient,
  userId: string,
  rooms: string[],
  timing: PurgeTiming,
): Promise<number> {
  if (rooms.length === 0) return 0;
  const redactId = await client.redactUserEvents(userId, rooms, REDACT_LIMIT_PER_ROOM);
  let waited = 0;
  let pause = 100;
  for (;;) {
    const status = await client.redactStatus(redactId);
    if (!status) {
      throw new Error(
        `Synapse forgot the redaction of ${userId}'s messages (restarted?) before it ended; run apply again`,
      );
    }
    if (status.status === "complete") return status.failed;
    if (status.status === "failed")
      throw new Error(`Synapse's redaction of ${userId}'s messages failed; run apply again`);
    if (waited >= timing.maxWaitMs) {
      throw new Error(
        `the redaction of ${userId}'s messages was still ${status.status} after ${Math.round(waited / 1000)} s; it goes on on the server: plan and apply again to finish the purge`,
      );
    }
    await timing.sleep(pause);
    waited += pause;
    pause = Math.min(pause * 2, 5000);
  }
}

/** Deletes the user's media a page at a time until a call deletes none (Synapse gives no next page); returns how many. */
export async function deleteAllMedia(client: SynapseClient, userId: string, maxRounds = 100_000): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < maxRounds; round++) {
    const n = await client.deleteUserMedia(userId);
    if (n === 0) return deleted;
    deleted += n;
  }
  throw new Error(`${userId}'s media were still being deleted after ${maxRounds} rounds; run apply again`);
}
