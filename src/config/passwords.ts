// Password references (`password: { env: NAME }` or `{ file: PATH }`) come from the users file, that
// is from whoever can open a pull request: they may name only what the operator allows. Without a
// policy nothing is allowed — otherwise `{ env: INPUT_ADMIN-TOKEN }` made the admin token a user's
// password, `{ file: /dev/null }` an empty password that logs in, and `{ file: /dev/ptmx }` hung an
// apply that held the server's lock. Here, not in apply/: the planner refuses what is not allowed
// (passwordRefProblem, pure), and apply reads what is (readPasswordRef).
import { constants } from "node:fs";
import { lstat, open, realpath } from "node:fs/promises";
import { resolve } from "node:path";
import type { PasswordRef } from "../domain/desired.js";
import { ToolError } from "../errors.js";
import { isInside, readCapped, specialKind } from "../util/files.js";

/** What the operator allows password references to read (flags `--password-env-prefix`, `--password-env`, `--password-dir`). */
export interface PasswordPolicy {
  /** Environment variables whose names start with this prefix (an empty prefix allows none). */
  envPrefix?: string;
  /** Environment variables allowed by name. */
  envNames?: string[];
  /** Files under this directory (relative paths: from the current directory), regular files only. */
  dir?: string;
}

/**
 * Environment variables never read as a password, whatever the policy allows: the admin token's,
 * and the CI's own secrets. GitHub Actions passes each input as `INPUT_<NAME>` (the admin token is
 * `INPUT_ADMIN-TOKEN`, the GitHub token `INPUT_GITHUB-TOKEN`); `ACTIONS_*` hold the runner's tokens.
 * Compared without regard to case (Windows reads environment names so).
 */
export const DENIED_PASSWORD_ENV = {
  names: ["SYNAPSE_ADMIN_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"],
  prefixes: ["INPUT_", "ACTIONS_", "GITHUB_", "RUNNER_"],
} as const;

/** Synapse refuses longer passwords (`password` over 512 characters: 400 M_INVALID_PARAM). */
export const MAX_PASSWORD_LENGTH = 512;

/** The most read from a password file: far more than a password, far less than a mistake. */
const MAX_PASSWORD_FILE_BYTES = 4 * 1024;

/**
 * Why `ref` may not be used under `policy`, or undefined when it may. Pure (no file is touched):
 * the planner shows the answer as a refusal. Given `env`, an allowed variable that is unset or
 * empty is a problem too.
 */
export function passwordRefProblem(
  ref: PasswordRef,
  policy: PasswordPolicy,
  env?: Record<string, string | undefined>,
): string | undefined {
  if ("env" in ref) {
    const name = ref.env;
    const upper = name.toUpperCase();
    if (
      DENIED_PASSWORD_ENV.names.some((denied) => denied === upper) ||
      DENIED_PASSWORD_ENV.prefixes.some((prefix) => upper.startsWith(prefix))
    ) {
      return `the environment variable ${name} is never read as a password (it holds the admin token, an Action input or a CI secret)`;
    }
    const prefix = policy.envPrefix;
    const allowed =
      (policy.envNames ?? []).includes(name) ||
      (prefix !== undefined && prefix !== "" && name.startsWith(prefix) && name.length > prefix.length);
    if (!allowed) {
      return `the environment variable ${name} is not allowed for passwords: allow it with --password-env ${name} or --password-env-prefix`;
    }
    if (env) {
      const value = env[name];
      if (value === undefined) return `the password variable ${name} is not set`;
      if (value === "") return `the password variable ${name} is empty`;
    }
    return undefined;
  }
  if (policy.dir === undefined || policy.dir === "") {
    return `password files are not allowed (${ref.file}): name the directory that holds them with --password-dir`;
  }
  if (!isInside(resolve(ref.file), resolve(policy.dir))) {
    return `the password file ${ref.file} is not under the password directory ${policy.dir}`;
  }
  return undefined;
}

/**
 * The password `ref` names, read as `policy` allows: an environment variable that is set and not
 * empty; or a regular file (no device, FIFO or socket) that really lies under `policy.dir` (no
 * symbolic link out of it), holding 1 to 512 characters (one final line break is not part of
 * it). Anything else is a ToolError that names the reference, never the value.
 */
export async function readPasswordRef(
  ref: PasswordRef,
  policy: PasswordPolicy,
  env: Record<string, string | undefined>,
): Promise<string> {
  const problem = passwordRefProblem(ref, policy, env);
  if (problem) throw new ToolError(problem);
  if ("env" in ref) return checkedPassword(env[ref.env]!, `the password variable ${ref.env}`);

  const file = ref.file;
  const what = `the password file ${file}`;
  const fail = (message: string) => new ToolError(`${what} ${message}`);
  const fsFail = (error: unknown) => fail(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`);
  const dir = await realpath(policy.dir!).catch((error: unknown) => {
    throw new ToolError(
      `the password directory ${policy.dir} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  });
  const link = await lstat(file).catch((error: unknown) => {
    throw fsFail(error);
  });
  const kind = specialKind(link);
  if (kind) throw fail(`${kind}: only a regular file can hold a password`);
  const real = await realpath(file).catch((error: unknown) => {
    throw fsFail(error);
  });
  if (!isInside(real, dir)) throw fail(`leads to ${real}, outside the password directory ${policy.dir}`);
  if (link.isSymbolicLink()) {
    // What the link leads to, checked before it is opened (opening /dev/ptmx makes a terminal).
    const target = await lstat(real).catch((error: unknown) => {
      throw fsFail(error);
    });
    const targetKind = specialKind(target);
    if (targetKind) throw fail(`leads to ${real}, which ${targetKind}: only a regular file can hold a password`);
  }
  // No link followed, and no wait for a writer should a FIFO be swapped in; the handle is checked
  // again before reading, so what is read is what was checked.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: unknown) => {
      throw fsFail(error);
    },
  );
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw fail(`${specialKind(info) ?? "is not a regular file"}: only a regular file can hold a password`);
    const bytes = await readCapped(handle, info.size, MAX_PASSWORD_FILE_BYTES).catch((error: unknown) => {
      throw fsFail(error);
    });
    if (bytes === undefined) throw fail(`holds more than ${MAX_PASSWORD_LENGTH} characters`);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw fail("is not UTF-8 text");
    }
    return checkedPassword(text.replace(/\r?\n$/, ""), what);
  } finally {
    await handle.close();
  }
}

function checkedPassword(password: string, what: string): string {
  if (password === "") throw new ToolError(`${what} is empty: an empty password is never set`);
  // Synapse counts characters (code points), not UTF-16 units.
  let length = 0;
  for (const _ of password) length++;
  if (length > MAX_PASSWORD_LENGTH) {
    throw new ToolError(`${what} holds more than ${MAX_PASSWORD_LENGTH} characters (Synapse refuses longer passwords)`);
  }
  return password;
}
