// Password references read only what the operator allows (issue 11, item 4): environment variables
// by name or prefix, never an Action input or the admin token's; files only regular files under the
// operator's directory, no link out, small, never empty.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DENIED_PASSWORD_ENV,
  type PasswordPolicy,
  passwordRefProblem,
  readPasswordRef,
} from "../../src/config/passwords.js";
import { ToolError } from "../../src/errors.js";

const made: string[] = [];
afterAll(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

/** A temporary directory holding `secrets/` (the allowed one) and `outside/`, with these files in `secrets/`. */
function secrets(files: Record<string, string> = {}): { base: string; dir: string; outside: string } {
  const base = mkdtempSync(join(tmpdir(), "synapse-gitops-pw-"));
  made.push(base);
  const dir = join(base, "secrets");
  const outside = join(base, "outside");
  mkdirSync(dir);
  mkdirSync(outside);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { base, dir, outside };
}

async function readError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolError);
  return (error as Error).message;
}

describe("passwordRefProblem: environment variables", () => {
  const env = { TEAM_PW_DAVE: "s3cret", OTHER: "x", EMPTY: "" };

  it("allows nothing without a policy", () => {
    expect(passwordRefProblem({ env: "TEAM_PW_DAVE" }, {})).toMatch(
      /TEAM_PW_DAVE is not allowed for passwords: allow it with --password-env TEAM_PW_DAVE/,
    );
    expect(passwordRefProblem({ env: "TEAM_PW_DAVE" }, { envPrefix: "" })).toMatch(/not allowed/);
  });

  it("allows a name by prefix or by the list, and no other", () => {
    const policy: PasswordPolicy = { envPrefix: "TEAM_PW_", envNames: ["OTHER"] };
    expect(passwordRefProblem({ env: "TEAM_PW_DAVE" }, policy, env)).toBeUndefined();
    expect(passwordRefProblem({ env: "OTHER" }, policy, env)).toBeUndefined();
    expect(passwordRefProblem({ env: "PATH" }, policy, env)).toMatch(/PATH is not allowed/);
    expect(passwordRefProblem({ env: "TEAM_PW_" }, policy, env)).toMatch(/not allowed/); // the prefix alone
    expect(passwordRefProblem({ env: "team_pw_dave" }, policy, env)).toMatch(/not allowed/);
  });

  it("never allows an Action input, the admin token's variable or a CI secret, whatever the policy", () => {
    const everything: PasswordPolicy = {
      envPrefix: "I",
      envNames: ["INPUT_ADMIN-TOKEN", "SYNAPSE_ADMIN_TOKEN", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "input_x"],
    };
    for (const name of [
      "INPUT_ADMIN-TOKEN",
      "INPUT_GITHUB-TOKEN",
      "input_x",
      "SYNAPSE_ADMIN_TOKEN",
      "GITHUB_TOKEN",
      "ACTIONS_RUNTIME_TOKEN",
    ]) {
      expect(passwordRefProblem({ env: name }, everything), name).toMatch(/is never read as a password/);
    }
    expect(passwordRefProblem({ env: "INPUT_ADMIN-TOKEN" }, { envPrefix: "INPUT_" })).toMatch(/never read/);
    expect(DENIED_PASSWORD_ENV.prefixes).toContain("INPUT_");
    expect(DENIED_PASSWORD_ENV.names).toContain("SYNAPSE_ADMIN_TOKEN");
  });

  it("with the environment given, an unset or empty variable is a problem", () => {
    const policy: PasswordPolicy = { envNames: ["MISSING", "EMPTY", "OTHER"] };
    expect(passwordRefProblem({ env: "MISSING" }, policy, env)).toBe("the password variable MISSING is not set");
    expect(passwordRefProblem({ env: "EMPTY" }, policy, env)).toBe("the password variable EMPTY is empty");
    expect(passwordRefProblem({ env: "MISSING" }, policy)).toBeUndefined(); // not asked
  });
});

describe("passwordRefProblem: files", () => {
  it("allows no file without a directory", () => {
    expect(passwordRefProblem({ file: "/tmp/pw" }, {})).toMatch(/password files are not allowed .*--password-dir/);
    expect(passwordRefProblem({ file: "/tmp/pw" }, { envPrefix: "X_" })).toMatch(/not allowed/);
  });

  it("allows a path under the directory only, once resolved", () => {
    const policy: PasswordPolicy = { dir: "/srv/secrets" };
    expect(passwordRefProblem({ file: "/srv/secrets/dave" }, policy)).toBeUndefined();
    expect(passwordRefProblem({ file: "/srv/secrets/team/dave" }, policy)).toBeUndefined();
    expect(passwordRefProblem({ file: "/srv/secrets/../other/dave" }, policy)).toMatch(/is not under/);
    expect(passwordRefProblem({ file: "/srv/secrets-old/dave" }, policy)).toMatch(/is not under/);
    expect(passwordRefProblem({ file: "/dev/null" }, policy)).toMatch(/is not under the password directory/);
    expect(passwordRefProblem({ file: "secrets/dave" }, { dir: "secrets" })).toBeUndefined();
    expect(passwordRefProblem({ file: "../secrets/dave" }, { dir: "secrets" })).toMatch(/is not under/);
  });
});

describe("readPasswordRef", () => {
  it("reads an allowed variable, and refuses what is not allowed or empty", async () => {
    const env = { TEAM_PW_DAVE: "s3cret", EMPTY: "", "INPUT_ADMIN-TOKEN": "the-admin-token" };
    expect(await readPasswordRef({ env: "TEAM_PW_DAVE" }, { envPrefix: "TEAM_PW_" }, env)).toBe("s3cret");
    expect(await readError(readPasswordRef({ env: "TEAM_PW_DAVE" }, {}, env))).toMatch(/not allowed/);
    expect(await readError(readPasswordRef({ env: "EMPTY" }, { envNames: ["EMPTY"] }, env))).toMatch(/is empty/);
    expect(await readError(readPasswordRef({ env: "UNSET" }, { envNames: ["UNSET"] }, env))).toMatch(/is not set/);
    const input = await readError(
      readPasswordRef({ env: "INPUT_ADMIN-TOKEN" }, { envNames: ["INPUT_ADMIN-TOKEN"] }, env),
    );
    expect(input).toMatch(/never read as a password/);
    expect(input).not.toContain("the-admin-token");
    const long = "x".repeat(513);
    expect(await readError(readPasswordRef({ env: "LONG" }, { envNames: ["LONG"] }, { LONG: long }))).toMatch(
      /more than 512 characters/,
    );
  });

  it("reads a regular file under the directory, without one final line break", async () => {
    const { dir } = secrets({ dave: "pa ss\n", crlf: "pw\r\n", two: "pw\n\n", exact: "é".repeat(512) });
    expect(await readPasswordRef({ file: join(dir, "dave") }, { dir }, {})).toBe("pa ss");
    expect(await readPasswordRef({ file: join(dir, "crlf") }, { dir }, {})).toBe("pw");
    expect(await readPasswordRef({ file: join(dir, "two") }, { dir }, {})).toBe("pw\n");
    expect(await readPasswordRef({ file: join(dir, "exact") }, { dir }, {})).toBe("é".repeat(512));
  });

  it("refuses an empty file, or one with only a line break", async () => {
    const { dir } = secrets({ empty: "", newline: "\n" });
    expect(await readError(readPasswordRef({ file: join(dir, "empty") }, { dir }, {}))).toMatch(
      /password file .*empty is empty/,
    );
    expect(await readError(readPasswordRef({ file: join(dir, "newline") }, { dir }, {}))).toMatch(/is empty/);
  });

  it("refuses a file longer than 512 characters, and reads no more than a few KiB of a large one", async () => {
    const { dir } = secrets({ long: "x".repeat(513), huge: "x".repeat(10 * 1024 * 1024) });
    expect(await readError(readPasswordRef({ file: join(dir, "long") }, { dir }, {}))).toMatch(
      /more than 512 characters/,
    );
    expect(await readError(readPasswordRef({ file: join(dir, "huge") }, { dir }, {}))).toMatch(
      /more than 512 characters/,
    );
  });

  it("refuses a file outside the directory, and a symbolic link out of it", async () => {
    const { dir, outside } = secrets();
    writeFileSync(join(outside, "token"), "the-admin-token\n");
    symlinkSync(join(outside, "token"), join(dir, "link-out"));
    symlinkSync(outside, join(dir, "dir-out"));
    expect(await readError(readPasswordRef({ file: join(outside, "token") }, { dir }, {}))).toMatch(/is not under/);
    const viaLink = await readError(readPasswordRef({ file: join(dir, "link-out") }, { dir }, {}));
    expect(viaLink).toMatch(/leads to .*outside the password directory/);
    expect(viaLink).not.toContain("the-admin-token");
    expect(await readError(readPasswordRef({ file: join(dir, "dir-out", "token") }, { dir }, {}))).toMatch(
      /outside the password directory/,
    );
  });

  it("follows a symbolic link that stays inside the directory", async () => {
    const { dir } = secrets({ real: "pw\n" });
    symlinkSync(join(dir, "real"), join(dir, "alias"));
    expect(await readPasswordRef({ file: join(dir, "alias") }, { dir }, {})).toBe("pw");
  });

  it("refuses devices (/dev/null, /dev/ptmx, /dev/zero), even with /dev allowed, and a link to one", async () => {
    for (const device of ["/dev/null", "/dev/ptmx", "/dev/zero"]) {
      expect(await readError(readPasswordRef({ file: device }, { dir: "/dev" }, {})), device).toMatch(
        /is a device: only a regular file can hold a password/,
      );
    }
    const { base } = secrets();
    symlinkSync("/dev/null", join(base, "null"));
    expect(await readError(readPasswordRef({ file: join(base, "null") }, { dir: "/" }, {}))).toMatch(
      /leads to \/dev\/null, which is a device/,
    );
  });

  it("refuses a FIFO without waiting for a writer", async () => {
    const { dir } = secrets();
    execFileSync("mkfifo", [join(dir, "fifo")]);
    expect(await readError(readPasswordRef({ file: join(dir, "fifo") }, { dir }, {}))).toMatch(/is a FIFO/);
  });

  it("refuses a directory, a missing file and a missing password directory", async () => {
    const { dir } = secrets();
    mkdirSync(join(dir, "sub"));
    expect(await readError(readPasswordRef({ file: join(dir, "sub") }, { dir }, {}))).toMatch(/is not a regular file/);
    expect(await readError(readPasswordRef({ file: join(dir, "nope") }, { dir }, {}))).toMatch(
      /cannot be read: ENOENT/,
    );
    expect(await readError(readPasswordRef({ file: join(dir, "x", "y") }, { dir: join(dir, "x") }, {}))).toMatch(
      /the password directory .* cannot be read: ENOENT/,
    );
  });
});
