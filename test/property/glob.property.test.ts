// The `protected` glob matcher (src/plan/plan.ts globMatcher) against a reference written for
// clarity, not speed: the same answer for every pattern and user ID, over a small alphabet so that
// parts repeat, overlap and nearly match.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatcher } from "../../src/plan/plan.js";

const RUNS = { numRuns: 2000, seed: 0x5eed_0610 } as const;

/** Whether `text` matches `pattern` (`*`: any run of characters), by dynamic programming. */
function referenceMatch(pattern: string, text: string): boolean {
  // matches[j]: whether the pattern read so far matches text.slice(0, j).
  let matches = Array.from({ length: text.length + 1 }, (_, j) => j === 0);
  for (const p of pattern) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    for (let j = 0; j <= text.length; j++) {
      if (p === "*") next[j] = matches[j]! || (j > 0 && next[j - 1]!);
      else next[j] = j > 0 && matches[j - 1]! && text[j - 1] === p;
    }
    matches = next;
  }
  return matches[text.length]!;
}

const textArb = fc.string({ unit: fc.constantFrom("a", "b", ":", "."), maxLength: 12 });
const patternArb = fc.string({ unit: fc.constantFrom("a", "b", ":", ".", "*", "*"), maxLength: 8 });

describe("globMatcher", () => {
  it("agrees with the reference for one pattern", () => {
    fc.assert(
      fc.property(patternArb, textArb, (pattern, text) => {
        expect(globMatcher([pattern])(text)).toBe(referenceMatch(pattern, text));
      }),
      RUNS,
    );
  });

  it("matches a user ID exactly when one of its patterns does", () => {
    fc.assert(
      fc.property(fc.array(patternArb, { maxLength: 4 }), textArb, (patterns, text) => {
        expect(globMatcher(patterns)(text)).toBe(patterns.some((p) => referenceMatch(p, text)));
      }),
      RUNS,
    );
  });

  it("matches a user ID made from the pattern itself, stars filled with anything", () => {
    fc.assert(
      fc.property(patternArb, fc.array(textArb, { minLength: 8, maxLength: 8 }), (pattern, fills) => {
        let i = 0;
        const text = pattern.replace(/\*/g, () => fills[i++]!);
        expect(globMatcher([pattern])(text)).toBe(true);
      }),
      RUNS,
    );
  });
});
