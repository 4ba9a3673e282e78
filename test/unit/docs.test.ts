import { readFileSync } from "node:fs";
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

  it("VERSION is package.json's version", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  });
});
