// ULIDs as MAS uses them for every ID: 48 bits of milliseconds, then 80 random bits, in Crockford's
// base32 (26 characters). Monotonic within one generator, so sorting by ID is sorting by creation,
// which is what MAS's cursor pagination relies on.
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isUlid(value: string): boolean {
  return ULID.test(value);
}

function encode(value: bigint, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** A generator of strictly increasing ULIDs (the random part counts up within one millisecond). */
export function ulidGenerator(now: () => number = Date.now): () => string {
  let lastTime = -1;
  let lastRandom = 0n;
  return () => {
    const time = Math.max(now(), lastTime);
    if (time === lastTime) {
      lastRandom += 1n;
    } else {
      lastTime = time;
      // 79 random bits: room to count up without overflowing into the time part.
      lastRandom = BigInt(`0x${randomBytes(10).toString("hex")}`) >> 1n;
    }
    return encode(BigInt(time), 10) + encode(lastRandom, 16);
  };
}
