// A pull request that loosens the safety policy must say so at the top of its plan comment: the
// policy of the pull request's users file is compared with the base branch's.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { type Policy, policySchema } from "../domain/policy.js";

import { type PolicyChange, policyChanges } from "../plan/policy.js";
import type { GitHubApi } from "./github.js";

/** In a directory of users files, the one file that may set homeserver, serverName and policy. */
const ROOT_FILE = "_root.yaml";

/** The policy a users file sets (the defaults when it sets none); throws when it cannot be read. */
export function policyOf(text: string): Policy {
  const doc = parse(text, { maxAliasCount: 100 }) as { policy?: unknown } | null;
  return policySchema.parse(doc?.policy ?? {});
}

/** The path, relative to the repository, of the file holding the policy of `config`. */
async function policyPath(config: string): Promise<string> {
  const info = await stat(config);
  return info.isDirectory() ? join(config, ROOT_FILE) : config;
}

/** The changes a pull request makes to the policy, compared with the base branch (`baseRef`). */
export async function reviewPolicy(api: GitHubApi, config: string, baseRef: string): Promise<PolicyChange[]> {
  const path = await policyPath(config);
  const head = policyOf(await readFile(path, "utf8").catch(() => ""));
  const baseText = await api.fileAt(path.replace(/^\.\//, ""), baseRef);
  return policyChanges(policyOf(baseText ?? ""), head);
}

/** A Markdown warning for the top of the plan comment, or "" when the policy is not loosened. */
export function policyWarning(changes: PolicyChange[], baseRef: string, code: (text: string) => string): string {
  const loosened = changes.filter((c) => c.loosens);
  if (loosened.length === 0) return "";
  const others = changes.filter((c) => !c.loosens);
  return [
    "> [!WARNING]",
    `> **This pull request loosens the safety policy** (compared with ${code(baseRef)}):`,
    ...loosened.map((c) => `> - ${code(c.description)}`),
    ...(others.length > 0 ? [">", "> Also changed:", ...others.map((c) => `> - ${code(c.description)}`)] : []),
    "",
    "",
  ].join("\n");
}
