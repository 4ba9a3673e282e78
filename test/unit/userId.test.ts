import { describe, expect, it } from "vitest";
import {
  encodeUserId,
  isHistoricalLocalpart,
  isHistoricalUserId,
  isValidNewLocalpart,
  serverNameOf,
} from "../../src/domain/userId.js";

describe("user IDs", () => {
  it("accepts historical IDs (any printable ASCII but `:` in the localpart), and tells them from new ones", () => {
    for (const id of ["@Old.Admin:example.org", "@a`b|c*d<e%f/g:example.org", "@@x:example.org", "@_X:example.org"]) {
      expect(serverNameOf(id)).toBe("example.org");
      expect(isHistoricalUserId(id)).toBe(true);
    }
    expect(isHistoricalUserId("@old.admin:example.org")).toBe(false);
    expect(isHistoricalUserId("@..:example.org")).toBe(false);
    expect(isHistoricalLocalpart("Old.Admin")).toBe(true);
    expect(isValidNewLocalpart("Old.Admin")).toBe(false);
    for (const bad of ["a b", "a:b", "zoë", "", "tab\tx"]) expect(isHistoricalLocalpart(bad)).toBe(false);
  });

  it("percent-encodes every character a URL path would read as syntax, so an ID is one path segment", () => {
    expect(encodeUserId("@a`b|c*d<e%f/g?h#i:example.org")).toBe("%40a%60b%7Cc*d%3Ce%25f%2Fg%3Fh%23i%3Aexample.org");
    expect(encodeUserId("@..:example.org")).toBe("%40..%3Aexample.org");
    const all = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
      .filter((c) => c !== ":")
      .join("");
    const encoded = encodeUserId(`@${all}:example.org`);
    // Nothing a URL reads as syntax is left but the escapes themselves.
    expect(encoded.replace(/%[0-9A-F]{2}/g, "")).not.toMatch(/[/?#%\\[\]@:]/);
    expect(decodeURIComponent(encoded)).toBe(`@${all}:example.org`);
    expect(new URL(`https://h/_synapse/admin/v2/users/${encoded}`).pathname.split("/")).toHaveLength(6);
  });
});
