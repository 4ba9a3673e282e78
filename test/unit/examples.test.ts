// The examples people copy hold a full server-admin token: they are checked as code is.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { VERSION } from "../../src/version.js";

const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

const action = parse(read("action.yml")) as {
  inputs: Record<string, { required?: boolean }>;
  outputs: Record<string, unknown>;
};

interface Step {
  uses?: string;
  id?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  environment?: string;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

const WORKFLOWS = ["plan.yml", "apply.yml", "drift.yml", "nightly-apply.yml", "mas/apply.yml", "mas/drift.yml"];
const workflow = (name: string) => parse(read(`examples/workflows/${name}`)) as Workflow;
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);
const ours = (wf: Workflow) => steps(wf).filter((s) => s.uses?.startsWith("synapse-gitops/synapse-gitops@"));
/** A plan against an inventory snapshot: no token, no server. */
const offline = (step: Step) => step.with?.command === "plan" && step.with?.snapshot !== undefined;
const ARTIFACT = "synapse-gitops-snapshot";

describe("the example workflows", () => {
  it.each(
    WORKFLOWS,
  )("%s uses the action's real inputs, an operator-given homeserver and a safe concurrency group", (name) => {
    const wf = workflow(name);
    expect(ours(wf).length).toBeGreaterThan(0);
    for (const step of ours(wf)) {
      for (const input of Object.keys(step.with ?? {}))
        expect(Object.keys(action.inputs), `${name}: unknown input ${input}`).toContain(input);
      for (const [input, spec] of Object.entries(action.inputs))
        if (spec.required && !(input === "admin-token" && offline(step)))
          expect(step.with, `${name}: missing ${input}`).toHaveProperty(input);
      if (offline(step)) expect(step.with, `${name}: an offline plan holds no token`).not.toHaveProperty("admin-token");
      else expect(step.with?.["admin-token"]).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
      // The token goes only where the operator says, never to the homeserver a (pull request's) file names.
      expect(step.with?.homeserver, `${name}: homeserver`).toMatch(/^https:\/\//);
    }
    expect(wf.concurrency.group).toBeTruthy();
    // An apply in flight is never cancelled by the next push (a plan may be: it changes nothing).
    if (ours(wf).some((s) => s.with?.command !== "plan"))
      expect(wf.concurrency["cancel-in-progress"] ?? false).toBe(false);
  });

  it.each(WORKFLOWS)("%s: the admin token is an environment secret, in the jobs that need it only", (name) => {
    // A repository or organisation secret reaches every branch's workflows, which anyone who can
    // push a branch can edit: the token lives in an environment that deploys from the default branch.
    for (const [id, job] of Object.entries(workflow(name).jobs)) {
      const usesSecret = JSON.stringify(job.steps).includes("secrets.");
      if (usesSecret)
        expect(job.environment, `${name}: job ${id} reads a secret outside an environment`).toBe("synapse-admin");
      else expect(job.environment, `${name}: job ${id}`).toBeUndefined();
    }
  });

  it.each(WORKFLOWS)("%s grants each job only what it uses, and never runs on pull_request_target", (name) => {
    const wf = workflow(name);
    expect(Object.keys(wf.on)).not.toContain("pull_request_target");
    expect(read(`examples/workflows/${name}`)).not.toMatch(/^\s*pull_request_target\s*:/m);
    expect(wf.permissions, `${name}: nothing at the top; each job asks`).toEqual({});
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job.permissions, `${name}: job ${id} names its permissions`).toBeDefined();
      const granted = Object.entries(job.permissions!).map(([scope, level]) => `${scope}: ${level}`);
      const allowed = ["contents: read"];
      const base = name.split("/").pop();
      if (base === "plan.yml") allowed.push("actions: read", "pull-requests: write"); // the snapshot; the comment
      if (base === "drift.yml" && id === "drift") allowed.push("issues: write"); // the drift issue
      for (const grant of granted) expect(allowed, `${name}: job ${id} is granted ${grant}`).toContain(grant);
    }
  });

  it.each(
    WORKFLOWS,
  )("%s pins every action by commit, version in a comment, and leaves no credentials in the checkout", (name) => {
    const text = read(`examples/workflows/${name}`);
    const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [, ref, rest] of uses) {
      const [repo, sha] = ref!.split("@");
      if (repo === "synapse-gitops/synapse-gitops") {
        // Our own release's commit is known only once it is made: a placeholder that fails loudly until replaced.
        expect(sha, `${name}: ${ref}`).toMatch(/^(?:[0-9a-f]{40}|RELEASE_COMMIT_SHA)$/);
        expect(rest, `${name}: ${ref}`).toMatch(new RegExp(`^\\s+# v${VERSION.replaceAll(".", "\\.")}\\b`));
      } else {
        expect(sha, `${name}: ${ref} is not pinned by a full commit SHA`).toMatch(/^[0-9a-f]{40}$/);
        expect(rest, `${name}: ${ref} names no version`).toMatch(/^\s+# v\d+\.\d+\.\d+\b/);
      }
    }
    const checkouts = steps(workflow(name)).filter((s) => s.uses?.startsWith("actions/checkout@"));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const step of checkouts) expect(step.with?.["persist-credentials"], `${name}: checkout`).toBe(false);
  });

  it("the pull-request plan holds no secret and plans from the snapshot the trusted workflows save", () => {
    const plan = workflow("plan.yml");
    expect(read("examples/workflows/plan.yml")).not.toContain("secrets.");
    const planStep = ours(plan).find((s) => s.with?.command === "plan")!;
    expect(offline(planStep)).toBe(true);

    const download = steps(plan).find((s) => s.uses?.startsWith("actions/download-artifact@"))!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, meant literally
    expect(download.with).toMatchObject({ name: ARTIFACT, "github-token": "${{ github.token }}" });
    const find = steps(plan).find((s) => s.id && download.with?.["run-id"] === `\${{ steps.${s.id}.outputs.run-id }}`);
    expect(find?.run, "the run id comes from a step that looks it up").toContain("gh run list");
    expect(String(planStep.with?.snapshot).startsWith(String(download.with?.path))).toBe(true);

    // The run searched for is one of the two workflows that upload the snapshot, never a pull request's.
    for (const [file, name] of [
      ["accounts-drift.yml", "drift.yml"],
      ["accounts-apply.yml", "apply.yml"],
    ] as const) {
      expect(find!.run).toContain(file);
      expect(read(`examples/workflows/${name}`)).toMatch(new RegExp(`^# \\.github/workflows/${file} `));
      const trusted = workflow(name);
      expect(Object.keys(trusted.on)).not.toContain("pull_request");
      const upload = steps(trusted).find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
      expect(upload.with?.name).toBe(ARTIFACT);
      const writer = ours(trusted).find((s) => s.with?.command === "snapshot")!;
      expect(writer.id).toBeTruthy();
      expect(upload.with?.path).toBe(`\${{ steps.${writer.id}.outputs.snapshot-file }}`);
      expect(Object.keys(action.outputs)).toContain("snapshot-file");
    }
    expect(find!.run).toMatch(/select\(\.event == "schedule" or \.event == "workflow_dispatch" or \.event == "push"\)/);
  });
});

describe("the MAS variant of the workflows", () => {
  it.each([
    "mas/apply.yml",
    "mas/drift.yml",
  ])("%s forces the MAS backend, names MAS's URL and keeps the client secret in the environment", (name) => {
    for (const step of ours(workflow(name))) {
      expect(step.with?.backend).toBe("mas");
      expect(step.with?.["mas-url"]).toMatch(/^https:\/\//);
      expect(step.env?.MAS_CLIENT_ID).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
      expect(step.env?.MAS_CLIENT_SECRET).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
      expect(JSON.stringify(step.with)).not.toContain("MAS_CLIENT_SECRET");
    }
  });
});

describe("the nightly apply (scheduled offboarding)", () => {
  it("applies the default branch's file every night, at the real time, never beside another apply", () => {
    const nightly = workflow("nightly-apply.yml");
    expect(Object.keys(nightly.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect((nightly.on.schedule as { cron: string }[]).length).toBe(1);
    expect(ours(nightly).map((s) => s.with?.command)).toEqual(["apply"]);
    // One apply at a time for the server: the same concurrency group as the apply on merge.
    expect(nightly.concurrency.group).toBe(workflow("apply.yml").concurrency.group);
    // The clock is never injected outside tests.
    expect(read("examples/workflows/nightly-apply.yml")).not.toContain("SYNAPSE_GITOPS_NOW");
  });
});

describe("the scheduling examples", () => {
  const files = readdirSync(join(root, "examples/scheduling"));

  it.each(files)("%s runs a pinned version, installed without the token", (file) => {
    const text = read(`examples/scheduling/${file}`);
    // Never fetch-and-run the newest package with the admin token in the environment.
    expect(text).not.toMatch(/^[^#]*\bnpx\b/m);
    expect(text).not.toMatch(/synapse-gitops@(?:latest|next|\^|~)/);
    const runs =
      /synapse-gitops(?:\/node_modules\/\.bin\/synapse-gitops|\/node_modules\/synapse-gitops\/dist\/cli\.js)/;
    if (file.endsWith(".timer")) return;
    expect(text, `${file} runs the pinned copy`).toMatch(runs);
    expect(text, `${file} names the version it installs`).toContain(`synapse-gitops@${VERSION}`);
    expect(text).toContain("--ignore-scripts");
  });

  it("the Kubernetes job installs in a container without the token and runs it read-only", () => {
    const job = parse(read("examples/scheduling/cronjob.yaml")) as {
      spec: { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } };
    };
    const pod = job.spec.jobTemplate.spec.template.spec as {
      automountServiceAccountToken: boolean;
      initContainers: { image: string; command: string[]; env?: { name: string }[] }[];
      containers: { image: string; env: { name: string }[]; volumeMounts: { name: string; readOnly?: boolean }[] }[];
    };
    expect(pod.automountServiceAccountToken).toBe(false);
    const [install] = pod.initContainers;
    expect(install!.command).toContain(`synapse-gitops@${VERSION}`);
    expect((install!.env ?? []).map((e) => e.name)).not.toContain("SYNAPSE_ADMIN_TOKEN");
    const [drift] = pod.containers;
    expect(drift!.env.map((e) => e.name)).toContain("SYNAPSE_ADMIN_TOKEN");
    expect(drift!.volumeMounts.find((m) => m.name === "tool")?.readOnly).toBe(true);
    for (const image of [install!.image, drift!.image])
      expect(image).toMatch(/^node:\d+\.\d+\.\d+-slim(@sha256:[0-9a-f]{64})?$/);
  });
});
