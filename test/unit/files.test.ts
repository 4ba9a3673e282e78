// Files handed over or written by the tool: read with care, written for their owner only.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadDesiredState } from "../../src/config/load.js";
import { readHandedFile, writePrivateFile } from "../../src/util/files.js";

const temp = () => mkdtempSync(join(tmpdir(), "files-"));

describe("writePrivateFile", () => {
  it("creates 0600, and makes an existing world-readable file 0600 before writing", async () => {
    const dir = temp();
    await writePrivateFile(join(dir, "new.json"), "{}");
    expect(statSync(join(dir, "new.json")).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, "old.json"), "old");
    chmodSync(join(dir, "old.json"), 0o644);
    await writePrivateFile(join(dir, "old.json"), "{}");
    expect(statSync(join(dir, "old.json")).mode & 0o777).toBe(0o600);
  });
});

describe("readHandedFile", () => {
  it("refuses a device and a FIFO without waiting, and a file over the limit", async () => {
    expect(await readHandedFile("/dev/zero", 1024)).toEqual({ problem: "is a device" });
    const dir = temp();
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(await readHandedFile(fifo, 1024)).toEqual({ problem: "is a FIFO (named pipe)" });
    writeFileSync(join(dir, "big"), "x".repeat(2048));
    expect(await readHandedFile(join(dir, "big"), 1024)).toEqual({ problem: "is larger than 0 MB" });
    writeFileSync(join(dir, "ok"), "fine");
    expect(await readHandedFile(join(dir, "ok"), 1024)).toEqual({ text: "fine" });
  });
});

describe("the users file", () => {
  it("is never read through a link into .git (its config can hold a credential)", async () => {
    const repo = temp();
    mkdirSync(join(repo, ".git"));
    writeFileSync(join(repo, ".git", "config"), '[http]\n\textraheader = "AUTHORIZATION: basic c2VjcmV0"\n');
    symlinkSync(join(repo, ".git", "config"), join(repo, "users.yaml"));
    const error = await loadDesiredState(join(repo, "users.yaml")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("into the repository's .git directory");
    expect((error as ConfigError).message).not.toContain("c2VjcmV0");
  });

  it("names a file on one line, whatever its name holds", async () => {
    const dir = temp();
    const name = "z\n::error::forged\u001b[2J.yaml";
    writeFileSync(join(dir, name), "version: 1\nusers: [\n");
    const error = (await loadDesiredState(dir).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    for (const line of error.message.split("\n")) expect(line.startsWith("::")).toBe(false);
    expect(error.message).not.toContain("\u001b");
  });
});
