// MAS admin API cursor pagination over a list already filtered and sorted by ID (a ULID):
// `page[first]=N` + `page[after]=<ID>` forward, `page[last]=N` + `page[before]=<ID>` backward, default
// page size 10, `count=true|false|only`. The answer carries `meta.count` and the links `self`, `first`,
// `last`, and `next` / `prev` only when there is such a page. Pure: no I/O, so it is unit-tested alone.
import { isUlid } from "./ulid.js";

export const DEFAULT_PAGE_SIZE = 10;

export interface PageRequest {
  first?: number;
  last?: number;
  after?: string;
  before?: string;
  count: "true" | "false" | "only";
}

/** Reads the pagination parameters; a string is the title of a 400. */
export function parsePageRequest(query: URLSearchParams): PageRequest | string {
  const number = (name: string): number | undefined | string => {
    const raw = query.get(name);
    if (raw === null) return undefined;
    if (!/^[0-9]+$/.test(raw) || Number(raw) < 1) return `Invalid ${name} parameter: ${JSON.stringify(raw)}`;
    return Number(raw);
  };
  const cursor = (name: string): string | undefined => query.get(name) ?? undefined;
  const first = number("page[first]");
  const last = number("page[last]");
  if (typeof first === "string") return first;
  if (typeof last === "string") return last;
  if (first !== undefined && last !== undefined) return "Cannot specify both `first` and `last` parameters";
  const after = cursor("page[after]");
  const before = cursor("page[before]");
  for (const [name, value] of [
    ["page[after]", after],
    ["page[before]", before],
  ] as const) {
    if (value !== undefined && !isUlid(value)) return `Invalid ${name} parameter: not a ULID`;
  }
  const count = query.get("count") ?? "true";
  if (count !== "true" && count !== "false" && count !== "only") return `Invalid count parameter: ${count}`;
  return { first, last, after, before, count };
}

export interface Page<T> {
  items: T[];
  total: number;
  hasNext: boolean;
  hasPrevious: boolean;
}

export function paginate<T extends { id: string }>(sorted: T[], request: PageRequest): Page<T> {
  let window = sorted;
  if (request.after !== undefined) window = window.filter((x) => x.id > request.after!);
  if (request.before !== undefined) window = window.filter((x) => x.id < request.before!);
  const total = sorted.length;
  if (request.last !== undefined) {
    const items = window.slice(Math.max(0, window.length - request.last));
    return {
      items,
      total,
      hasPrevious: window.length > items.length,
      hasNext: request.before !== undefined && sorted.some((x) => x.id >= request.before!),
    };
  }
  const size = request.first ?? DEFAULT_PAGE_SIZE;
  const items = window.slice(0, size);
  return {
    items,
    total,
    hasNext: window.length > items.length,
    hasPrevious: request.after !== undefined && sorted.some((x) => x.id <= request.after!),
  };
}

/**
 * The links of a list answer. `base` is the collection's path; `filters` are the request's filter
 * parameters, which every link keeps.
 */
export function pageLinks<T extends { id: string }>(
  base: string,
  filters: [string, string][],
  request: PageRequest,
  page: Page<T>,
): Record<string, string> {
  const size = request.first ?? request.last ?? DEFAULT_PAGE_SIZE;
  const href = (params: [string, string][]) => {
    const all = [...filters, ...params];
    return all.length === 0 ? base : `${base}?${all.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
  };
  const self: [string, string][] = [];
  if (request.after !== undefined) self.push(["page[after]", request.after]);
  if (request.before !== undefined) self.push(["page[before]", request.before]);
  if (request.last !== undefined) self.push(["page[last]", String(request.last)]);
  else self.push(["page[first]", String(size)]);
  const links: Record<string, string> = {
    self: href(self),
    first: href([["page[first]", String(size)]]),
    last: href([["page[last]", String(size)]]),
  };
  const lastItem = page.items.at(-1);
  const firstItem = page.items[0];
  if (page.hasNext && lastItem)
    links.next = href([
      ["page[after]", lastItem.id],
      ["page[first]", String(size)],
    ]);
  if (page.hasPrevious && firstItem)
    links.prev = href([
      ["page[before]", firstItem.id],
      ["page[last]", String(size)],
    ]);
  return links;
}
