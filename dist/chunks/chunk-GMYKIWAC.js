#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  planHasChanges
} from "./chunk-AD742QSL.js";
import {
  timeUntil
} from "./chunk-6HBL5TLA.js";

// src/snapshot/digest.ts
import { createHmac } from "node:crypto";
var DIGEST_PREFIX = "hmac-sha256:";
var CHANGED_MARKER = "(changed)";
var DIGEST = /^hmac-sha256:[A-Za-z0-9_-]{43}$/;
var SALT = /^[0-9a-f]{64}$/;
function digest(key, kind, ...parts) {
  return DIGEST_PREFIX + createHmac("sha256", key).update(JSON.stringify([kind, ...parts])).digest("base64url");
}
function keyOf(salt) {
  if (!SALT.test(salt)) throw new Error("bug: a snapshot salt is 64 lower-case hex digits");
  return Buffer.from(salt, "hex");
}
function isDigestString(text) {
  return typeof text === "string" && DIGEST.test(text);
}
function isDigest(value) {
  if (isDigestString(value)) return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every(
    (v) => typeof v === "string" ? isDigestString(v) : isDigestString(v.id)
  );
}
function byText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
function byExternalId(a, b) {
  return byText(a.provider, b.provider) || byText(a.id, b.id);
}
var Digester = class {
  #key;
  constructor(salt) {
    this.#key = keyOf(salt);
  }
  /**
   * Synapse's way of clearing a display name is "", and the planner counts a missing one as ""
   * (sameValue): both stay plain (`null` on the server's side, "" on the file's), so they still compare
   * equal. That a user has no display name is not hidden.
   */
  displayname(value) {
    return value === null || value === "" ? null : digest(this.#key, "displayname", value);
  }
  /** Like a display name: none stays plain. */
  avatarUrl(value) {
    return value === null || value === "" ? null : digest(this.#key, "avatarUrl", value);
  }
  /** Lower-cased first (Synapse stores addresses so), then sorted: the list is a set. */
  emails(values) {
    return values.map((e) => digest(this.#key, "email", e.toLowerCase())).sort(byText);
  }
  /** The provider stays plain (it names an identity provider of the server, not a person); the ID is digested with it. */
  externalIds(values) {
    return values.map((x) => ({ provider: x.provider, id: digest(this.#key, "externalId", x.provider, x.id) })).sort(byExternalId);
  }
};
function digestDesired(want, salt) {
  const digester = typeof salt === "string" ? new Digester(salt) : salt;
  const copy = { ...want };
  if (want.displayname !== void 0)
    copy.displayname = want.displayname === "" ? "" : digester.displayname(want.displayname);
  if (want.avatarUrl !== void 0) copy.avatarUrl = want.avatarUrl === "" ? "" : digester.avatarUrl(want.avatarUrl);
  if (want.emails !== void 0) copy.emails = digester.emails(want.emails);
  if (want.externalIds !== void 0) copy.externalIds = digester.externalIds(want.externalIds);
  return copy;
}
var PERSONAL = ["displayname", "avatarUrl", "emails", "externalIds"];
function withFileValues(plan, desired) {
  return {
    ...plan,
    actions: plan.actions.map((action) => {
      if (!action.changes.some((c) => PERSONAL.includes(c.attribute) && isDigest(c.to))) return action;
      const want = desired.get(action.userId);
      return {
        ...action,
        changes: action.changes.map((c) => {
          const plain = want?.[c.attribute];
          return PERSONAL.includes(c.attribute) && isDigest(c.to) && plain !== void 0 ? { ...c, to: plain } : c;
        })
      };
    })
  };
}

// src/report/model.ts
var SYMBOL = {
  create: "+",
  update: "~",
  deactivate: "-",
  erase: "!",
  reactivate: "^"
};
function describeAction(a, esc) {
  let text = a.kind;
  if (a.kind === "create" && a.to !== "active") {
    text = a.to === "erased" ? "create, then erase (reserves the ID)" : "create, then deactivate (reserves the ID)";
  }
  if (a.purge) text = purgeText(a);
  if (a.reason === "unmanaged") text += " (not in the file; policy unmanaged: deactivate)";
  if (a.due !== void 0) text += ` (scheduled for ${esc(a.due)}, due)`;
  if (a.password) {
    text += "env" in a.password ? ` with the password from env ${esc(a.password.env)}` : ` with the password from file ${esc(a.password.file)}`;
  }
  return a.irreversible ? `${text} \u2014 IRREVERSIBLE` : text;
}
function purgeText(a) {
  const p = a.purge;
  const head = a.from === "erased" ? "finish the complete erasure" : "erase completely";
  if (p.rooms === null || p.messages === null || p.media === null) {
    return `${head}: redact the messages and delete the media (not counted offline)`;
  }
  const rooms = `${p.rooms} room${p.rooms === 1 ? "" : "s"}`;
  return `${head}: redact ${p.messages} message${p.messages === 1 ? "" : "s"} in ${rooms}, delete ${p.media} media`;
}
function formatValue(value, esc) {
  return esc(plainValue(value));
}
function plainValue(value) {
  if (value === void 0 || value === null) return "(none)";
  if (Array.isArray(value)) {
    return `[${value.map((v) => typeof v === "string" ? v : `${v.provider}:${v.id}`).join(", ")}]`;
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
function formatFrom(value, esc, report) {
  return report.snapshot && isDigest(value) ? CHANGED_MARKER : formatValue(value, esc);
}
function policyLine(policy, esc) {
  const protectedList = policy.protected.length === 0 ? "none" : policy.protected.map(esc).join(", ");
  return `Policy: unmanaged ${policy.unmanaged}, maxDeactivations ${policy.maxDeactivations}, maxErasures ${policy.maxErasures}${policy.erasure === "complete" ? ", erasure complete" : ""}, protected: ${protectedList}.`;
}
function backendLine(backend) {
  return backend === "mas" ? "Accounts backend: mas (Matrix Authentication Service, with Synapse for profiles)." : `Accounts backend: ${backend}.`;
}
function snapshotLines(report, esc) {
  if (!report.snapshot) return void 0;
  const lines = [
    `Planned offline against the inventory snapshot ${report.snapshot.age}; apply plans again against the live server.`
  ];
  for (const n of report.snapshot.notCompared) {
    lines.push(`Not compared (the snapshot did not read it): ${n.attribute} of ${esc(n.userId)}.`);
  }
  for (const key of report.snapshot.roomsNotCompared ?? []) {
    lines.push(`Not compared (the snapshot holds no such room; take it again from this file): room ${esc(key)}.`);
  }
  return lines;
}
function scheduledEntries(plan, esc) {
  const now = plan.now === void 0 ? void 0 : Date.parse(plan.now);
  return (plan.scheduled ?? []).map((step) => ({
    userId: esc(step.userId),
    what: `${step.kind} on ${esc(step.on)}${now === void 0 ? "" : ` (${timeUntil(Date.parse(step.at), now)})`}`
  }));
}
function scheduledHeading(plan, esc) {
  return `Scheduled by the file, not due yet (${plan.scheduled?.length ?? 0}, as of ${esc(plan.now ?? "an unknown time")})`;
}
function summaryLine(plan) {
  const s = plan.summary;
  if (!planHasChanges(plan) && plan.refusals.length === 0) return "No changes: the server matches the file.";
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.deactivate} to deactivate, ${s.erase} to erase, ${s.reactivate} to reactivate.`;
}
function applySummaryLine(result) {
  const s = result.summary;
  const parts = [`${s.done} done`, `${s.failed} failed`, `${s.stale} stale`];
  if (s["not-started"]) parts.push(`${s["not-started"]} not started`);
  return `Apply: ${parts.join(", ")}.`;
}

export {
  SALT,
  isDigestString,
  Digester,
  digestDesired,
  withFileValues,
  SYMBOL,
  describeAction,
  formatValue,
  formatFrom,
  policyLine,
  backendLine,
  snapshotLines,
  scheduledEntries,
  scheduledHeading,
  summaryLine,
  applySummaryLine
};
