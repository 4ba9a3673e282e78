// The stand-in MAS's cursor pagination (test/mas-standin/pagination.ts), alone: the MAS-mode tests
// and the MAS backend's inventory rely on it walking every item exactly once, in ID order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageLinks, paginate, parsePageRequest } from "../mas-standin/pagination.js";
import { isUlid, ulidGenerator } from "../mas-standin/ulid.js";

const items = (n: number) => {
  const next = ulidGenerator(() => 1_700_000_000_000);
  return Array.from({ length: n }, () => ({ id: next() }));
};
const request = (query: string) => {
  const parsed = parsePageRequest(new URLSearchParams(query));
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

describe("stand-in MAS pagination", () => {
  it("makes strictly increasing ULIDs, even within one millisecond", () => {
    const ids = items(1000).map((x) => x.id);
    expect(ids.every(isUlid)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("walks forward by links.next through every item once, in order, and stops with no next link", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 12 }), (n, size) => {
        const all = items(n);
        const seen: string[] = [];
        let query = `page[first]=${size}`;
        for (let pages = 1; ; pages++) {
          const req = request(query);
          const page = paginate(all, req);
          seen.push(...page.items.map((x) => x.id));
          const links = pageLinks("/api/admin/v1/users", [["filter[status]", "active"]], req, page);
          expect(links.first).toBe(`/api/admin/v1/users?filter[status]=active&page[first]=${size}`);
          if (!links.next) {
            expect(pages).toBe(Math.max(1, Math.ceil(n / size)));
            break;
          }
          expect(links.next.startsWith("/api/admin/v1/users?filter[status]=active&page[after]=")).toBe(true);
          query = links.next.slice(links.next.indexOf("?") + 1).replace("filter[status]=active&", "");
        }
        expect(seen).toEqual(all.map((x) => x.id));
      }),
    );
  });

  it("walks backward by links.prev from page[last]", () => {
    const all = items(23);
    const seen: string[][] = [];
    let query = "page[last]=5";
    for (;;) {
      const req = request(query);
      const page = paginate(all, req);
      seen.unshift(page.items.map((x) => x.id));
      const prev = pageLinks("/x", [], req, page).prev;
      if (!prev) break;
      query = prev.slice(prev.indexOf("?") + 1);
    }
    expect(seen.flat()).toEqual(all.map((x) => x.id));
    expect(seen[0]).toHaveLength(3);
  });

  it("defaults to 10 a page and counts the whole filtered list", () => {
    const page = paginate(items(25), request(""));
    expect(page.items).toHaveLength(10);
    expect(page.total).toBe(25);
    expect(page.hasNext).toBe(true);
    expect(request("").count).toBe("true");
  });

  it("refuses first with last, sizes below 1 and cursors that are not ULIDs", () => {
    for (const bad of [
      "page[first]=1&page[last]=1",
      "page[first]=0",
      "page[first]=x",
      "page[after]=nope",
      "count=maybe",
    ])
      expect(typeof parsePageRequest(new URLSearchParams(bad))).toBe("string");
  });
});
