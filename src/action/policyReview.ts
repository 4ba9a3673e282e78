// A pull request that loosens the safety policy must say so at the top of its plan comment: the
// policy of the pull request's users file is compared with the base branch's, both found by the
// loader's own rules (a file, or a directory's root file, either name). What cannot be compared is
// said too. Advice to reviewers, not a control: see SECURITY.md.
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { parse } from "yaml";
import { ROOT_FILES } from "../config/load.js";
import { type Policy, policySchema } from "../domain/policy.js";
import { type PolicyChange, policyChanges } from "../plan/policy.js";
import type { GitHubApi } from "./github.js";

/** The policy a users file sets (the defaults when it sets none); throws when it cannot be read. */
export function policyOf(text: string): Policy {
  const doc = parse(text, { maxAliasCount: 100 }) as { policy?: unknown } | null;
  return policySchema.parse(doc?.policy ?? {});
}

/** The files that may hold the policy of `config`, as the loader reads it: the file, or a directory's root file. */
function candidates(config: string, isDirectory: boolean): string[] {
  return isDirectory ? ROOT_FILES.map((name) => join(config, name)) : [config];
}

/** Where the policy of the pull request's config lives (its text), or undefined when nothing sets one. */
async function headPolicyFile(
  config: string,
): Promise<{ path: string; text: string } | { directory: true } | undefined> {
  const info = await stat(config);
  for (const path of candidates(config, info.isDirectory())) {
    const text = await readFile(path, "utf8").catch(() => undefined);
    if (text !== undefined) return { path, text };
  }
  return info.isDirectory() ? { directory: true } : undefined;
}

export type PolicyReview = { changes: PolicyChange[] } | { cannotCompare: string };

/** The changes a pull request makes to the policy, compared with the base branch (`baseRef`). */
export async function reviewPolicy(api: GitHubApi, config: string, baseRef: string): Promise<PolicyReview> {
  const inRepo = isAbsolute(config) ? relative(process.cwd(), config) : config;
  if (inRepo.startsWith("..") || isAbsolute(inRepo)) {
    return { cannotCompare: `the config ${config} is outside the repository` };
  }
  const head = await headPolicyFile(inRepo);
  if (head === undefined) return { cannotCompare: `${inRepo} cannot be read` };
  // On the base branch the config may have been a file or a directory: look for either shape.
  let base: { path: string; text: string } | undefined;
  for (const path of [...candidates(inRepo, false), ...candidates(inRepo, true)]) {
    const text = await api.fileAt(path.replace(/^\.\//, ""), baseRef);
    if (text !== undefined) {
      base = { path, text };
      break;
    }
  }
  const headText = "text" in head ? head.text : undefined;
  if (base === undefined && headText === undefined) return { changes: [] }; // neither side sets a policy
  if (base === undefined) return { cannotCompare: `${inRepo} sets a policy that ${baseRef} does not have` };
  if (headText === undefined) {
    return { cannotCompare: `${base.path} set the policy on ${baseRef}; this pull request has no such file` };
  }
  if ("path" in head && head.path !== base.path) {
    return { cannotCompare: `the policy moved from ${base.path} on ${baseRef} to ${head.path}` };
  }
  try {
    return { changes: policyChanges(policyOf(base.text), policyOf(headText)) };
  } catch (e) {
    return { cannotCompare: `a policy could not be read (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** A Markdown warning for the top of the plan comment, or "" when the policy is not loosened. */
export function policyWarning(review: PolicyReview, baseRef: string, code: (text: string) => string): string {
  if ("cannotCompare" in review) {
    return [
      "> [!WARNING]",
      `> **The safety policy could not be compared with ${code(baseRef)}**: ${code(review.cannotCompare)}. Review it by hand.`,
      "",
      "",
    ].join("\n");
  }
  const loosened = review.changes.filter((c) => c.loosens);
  if (loosened.length === 0) return "";
  const others = review.changes.filter((c) => !c.loosens);
  return [
    "> [!WARNING]",
    `> **This pull request loosens the safety policy** (compared with ${code(baseRef)}):`,
    ...loosened.map((c) => `> - ${code(c.description)}`),
    ...(others.length > 0 ? [">", "> Also changed:", ...others.map((c) => `> - ${code(c.description)}`)] : []),
    "",
    "",
  ].join("\n");
}
