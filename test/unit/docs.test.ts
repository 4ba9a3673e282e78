import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lifecycleMarkdown } from "../../src/plan/lifecycle.js";
import { VERSION } from "../../src/version.js";

const root = join(import.meta.dirname, "../..");

describe("docs and metadata stay in step with the code", () => {
  it("the README prints the lifecycle table exactly as the planner reads it", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const printed = readme.match(/<!-- lifecycle:start -->\n([\s\S]*?)\n<!-- lifecycle:end -->/)?.[1];
    expect(printed, "README.md lost its lifecycle markers").toBeDefined();
    // Compared cell by cell: a Markdown formatter may pad the columns.
    const cells = (table: string) =>
      table
        .split("\n")
        .filter((row) => !/^\|[\s|:-]+\|$/.test(row))
        .map((row) => row.split(" | ").map((cell) => cell.replace(/^\|/, "").replace(/\|$/, "").trim()));
    expect(cells(printed!)).toEqual(cells(lifecycleMarkdown()));
  });

  it("SECURITY.md says how to report a vulnerability and what is trusted, and the README links it", () => {
    const security = readFileSync(join(root, "SECURITY.md"), "utf8");
    const sections = [...security.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(
      expect.arrayContaining([
        "Reporting a vulnerability",
        "What the admin token can do",
        "Who and what is trusted",
        "Safe patterns",
      ]),
    );
    expect(security).toMatch(/GitHub security advisory/);
    expect(security).toMatch(/pull_request_target/);
    // Every link to a file of the repository leads somewhere.
    for (const [, target] of security.matchAll(/\]\(((?!https?:|#)[^)#]+)/g))
      expect(existsSync(join(root, target!)), target).toBe(true);
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain("[SECURITY.md](SECURITY.md)");
  });

  it("VERSION is package.json's version", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  });
});
