// The GitHub Action runs dist/ as committed: it must be exactly the build of the current source.
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILD_DIR } from "./support/cli.js";

const root = join(import.meta.dirname, "..");

describe("dist/", () => {
  it("is the build of the current source (run `npm run build` and commit dist/)", () => {
    const files = (dir: string) =>
      (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
        .filter((d) => d.isFile())
        .map((d) => relative(dir, join(d.parentPath, d.name)))
        .sort();
    const built = files(BUILD_DIR);
    expect(built).toContain("cli.js");
    expect(files(join(root, "dist"))).toEqual(built);
    for (const name of built) {
      const fresh = readFileSync(join(BUILD_DIR, name), "utf8");
      const committed = readFileSync(join(root, "dist", name), "utf8");
      expect(committed === fresh, `dist/${name} is out of date: run npm run build and commit dist/`).toBe(true);
    }
  });
});
