#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  VERSION
} from "./chunk-CUFBJBJW.js";
import {
  ATTRIBUTES,
  ATTRIBUTE_SPECS,
  DETAIL_ATTRIBUTES
} from "./chunk-TY2JSSN6.js";
import {
  backendLine,
  formatValue
} from "./chunk-GMYKIWAC.js";
import {
  awaitingDue,
  dueUser,
  stepsAhead
} from "./chunk-6HBL5TLA.js";
import {
  NEW_LOCALPART_CHARACTERS,
  isHistoricalUserId
} from "./chunk-SVN2WMBC.js";
import {
  escapeTerminal,
  mdCode,
  mdText
} from "./chunk-5J3ZCMMJ.js";

// src/plan/attributes.ts
function managesDetails(want) {
  for (const attribute of DETAIL_ATTRIBUTES) if (want[attribute] !== void 0) return true;
  return false;
}
function sortedKey(value) {
  if (!Array.isArray(value)) return JSON.stringify(value ?? null);
  const items = value.map(
    (v) => typeof v === "string" ? v : `${v.provider}\0${v.id}`
  );
  return JSON.stringify(items.sort());
}
function sameValue(attribute, actual, wanted) {
  const compare = ATTRIBUTE_SPECS[attribute].compare;
  if (compare === "text") return (actual ?? "") === (wanted ?? "");
  if (!Array.isArray(actual) && !Array.isArray(wanted)) return (actual ?? null) === (wanted ?? null);
  return sortedKey(actual) === sortedKey(wanted);
}
function actualValue(user, attribute) {
  return user[attribute];
}
function attributeChanges(want, have) {
  return attributeChangesIfAny(want, have) ?? [];
}
function attributeChangesIfAny(want, have) {
  let changes;
  for (const attribute of ATTRIBUTES) {
    const wanted = want[attribute];
    if (wanted === void 0) continue;
    let change;
    if (!have) change = { attribute, to: wanted };
    else {
      const current = actualValue(have, attribute);
      if (current === void 0) {
        throw new Error(`bug: ${attribute} of ${have.userId} was not read from the server before planning`);
      }
      if (sameValue(attribute, current, wanted)) continue;
      change = { attribute, from: current, to: wanted };
    }
    if (changes) changes.push(change);
    else changes = [change];
  }
  return changes;
}

// src/plan/caseVariants.ts
var CaseVariants = class {
  constructor(desired) {
    this.desired = desired;
  }
  /** The lower-cased IDs of the file's users that hold upper case; gathered on first need. */
  #fileUpper;
  /** Server users that may be a variant, by the lower-cased ID. */
  #server = /* @__PURE__ */ new Map();
  /** A server user the file does not name. */
  unmatched(userId) {
    const lower = userId.toLowerCase();
    if (lower === userId && !this.#upperInFile().has(lower)) return;
    this.#keep(lower, userId);
  }
  /** A file's user the server has: one the file may also name in another case. */
  matched(want) {
    if (want.historical) this.#keep(want.userId.toLowerCase(), want.userId);
  }
  /**
   * The server's users whose ID differs from `userId` (a file's user the server does not have) only
   * in case, once the server's list is read; `absent` holds every file user the server does not
   * have. In code unit order, as the server sorts: the same answer whatever order the list came in.
   */
  of(userId, absent) {
    const lower = userId.toLowerCase();
    const ids = (this.#server.get(lower) ?? []).filter((id) => id !== userId);
    if (lower !== userId && this.desired.has(lower) && !absent.has(lower) && !ids.includes(lower)) ids.push(lower);
    return ids.sort();
  }
  #keep(lower, userId) {
    const ids = this.#server.get(lower);
    if (!ids) this.#server.set(lower, [userId]);
    else if (!ids.includes(userId)) ids.push(userId);
  }
  #upperInFile() {
    if (this.#fileUpper) return this.#fileUpper;
    const upper = /* @__PURE__ */ new Set();
    for (const want of this.desired.values()) {
      if (!want.historical) continue;
      const lower = want.userId.toLowerCase();
      if (lower !== want.userId) upper.add(lower);
    }
    this.#fileUpper = upper;
    return upper;
  }
};
function creationRefusal(want, existing) {
  const { userId } = want;
  if (existing.length > 0) {
    return {
      code: "case-variant",
      userId,
      message: `${userId} is not on the server, but ${existing.join(" and ")} ${existing.length > 1 ? "are" : "is"}: user IDs are case-sensitive, and Synapse refuses to create one that differs from an existing one only in case`,
      hint: caseVariantHint(existing)
    };
  }
  if (want.historical || isHistoricalUserId(userId)) {
    return {
      code: "historical-id",
      userId,
      message: `${userId} is not on the server, and Synapse refuses to create it: a new user ID may only hold ${NEW_LOCALPART_CHARACTERS} (no upper case, no other character)`,
      hint: "a historical ID can only be managed where the account exists: check its spelling (user IDs are case-sensitive), or choose an ID in today's grammar"
    };
  }
  return void 0;
}
function caseVariantHint(existing) {
  return `to manage the existing account, name it exactly as the server does: ${existing.join(" or ")}`;
}

// src/plan/erasure.ts
function wantsCompleteErasure(want, policy) {
  return want.state === "erased" && (want.erasure ?? policy.erasure ?? "standard") === "complete";
}
function hasResidue(residue) {
  return residue !== void 0 && (residue.messages > 0 || residue.media > 0);
}
function purgeCounts(residue) {
  return residue ? { rooms: residue.rooms.length, messages: residue.messages, media: residue.media } : { rooms: null, messages: null, media: null };
}
function needsResidue(desired, policy, now) {
  const complete = /* @__PURE__ */ new Set();
  for (const want of desired.values()) if (wantsCompleteErasure(dueUser(want, now), policy)) complete.add(want.userId);
  if (complete.size === 0) return () => false;
  return (user) => complete.has(user.userId);
}

// src/plan/match.ts
var LOOK_AHEAD = 4;
var Match = class {
  constructor(desired, judge) {
    this.desired = desired;
    this.judge = judge;
    this.#inOrder = [...desired.values()];
    let size = 0;
    for (const want of this.#inOrder) if (want.index >= size) size = want.index + 1;
    this.#met = new Uint8Array(size);
    for (const want of this.#inOrder) {
      if (!(Number.isInteger(want.index) && want.index >= 0) || this.#met[want.index] === 1) {
        throw new Error(`bug: the desired users' indexes are not distinct whole numbers (${want.userId})`);
      }
      this.#met[want.index] = 1;
    }
    this.#met.fill(0);
  }
  /** Active users outside the file already passed on (only those are kept: they are the output). */
  #unmanaged = /* @__PURE__ */ new Set();
  /** Rows seen, repeats included. */
  listed = 0;
  /** The file's users in file order, and the next one the list is expected to show (see observe). */
  #inOrder;
  #cursor = 0;
  /** 1 at a user's index once the list has shown it. */
  #met;
  observe(have) {
    this.listed++;
    let want;
    const inOrder = this.#inOrder;
    const end = Math.min(this.#cursor + LOOK_AHEAD, inOrder.length);
    for (let i = this.#cursor; i < end; i++) {
      if (inOrder[i].userId === have.userId) {
        want = inOrder[i];
        this.#cursor = i + 1;
        break;
      }
    }
    want ??= this.desired.get(have.userId);
    if (want) {
      if (this.#met[want.index] === 1) return;
      this.#met[want.index] = 1;
      this.judge.pair(want, have);
    } else if (this.judge.unmanaged && have.state === "active" && !this.#unmanaged.has(have.userId)) {
      this.#unmanaged.add(have.userId);
      this.judge.unmanaged(have);
    }
  }
  finish() {
    for (const want of this.#inOrder) {
      if (this.#met[want.index] === 0) this.judge.pair(want, void 0);
    }
  }
};
function byUserId(a, b) {
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

// src/plan/lifecycle.ts
var LIFECYCLE = {
  absent: {
    active: { do: "create" },
    // Creating then deactivating reserves the ID: Synapse never reuses a deactivated user ID.
    deactivated: { do: "create" },
    // Irreversible too: the ID is taken for good and the account can never be brought back.
    erased: { do: "create", irreversible: true }
  },
  active: {
    active: { do: "update" },
    deactivated: { do: "deactivate" },
    erased: { do: "erase", irreversible: true }
  },
  deactivated: {
    active: {
      do: "reactivate",
      unlessFlag: "allowReactivation",
      code: "reactivation-not-allowed",
      why: "is deactivated; reactivating needs `allowReactivation: true` on the entry"
    },
    deactivated: { do: "nothing" },
    erased: { do: "erase", irreversible: true }
  },
  erased: {
    active: { do: "refuse", code: "un-erase", why: "is erased; an erased account is never reactivated" },
    deactivated: {
      do: "refuse",
      code: "erased-to-deactivated",
      why: "is erased, but the file says deactivated; the file must say erased"
    },
    erased: { do: "nothing" }
  }
};

// src/plan/plan.ts
function planUsers(input) {
  const planner = new Planner(input);
  for (const have of input.actual.values()) planner.observe(have);
  return planner.finish();
}
var Planner = class {
  constructor(context) {
    this.context = context;
    this.#isProtected = globMatcher(context.policy.protected);
    this.#variants = new CaseVariants(context.desired);
    this.#match = new Match(context.desired, {
      pair: (want, have) => this.#pair(want, have),
      ...context.policy.unmanaged === "ignore" ? {} : { unmanaged: (have) => this.#unmanagedUser(have) }
    });
  }
  #actions = [];
  #refusals = [];
  #unmanaged = [];
  #match;
  #isProtected;
  /** Server users whose ID differs from a file's user's only in case (see CaseVariants). */
  #variants;
  /** Server users paired with one of the file's so far: one that leaves it unchanged is not in the file. */
  #paired = 0;
  /** The file's users the server does not have, planned once all are known (see #planAbsent). */
  #absent = [];
  /** The schedule's steps still to come at `context.now`. */
  #scheduled = [];
  observe(have) {
    const paired = this.#paired;
    this.#match.observe(have);
    if (this.#paired === paired) this.#variants.unmatched(have.userId);
  }
  /** Rows the server listed (a row repeated by pagination counts twice). */
  get listed() {
    return this.#match.listed;
  }
  #guard(userId) {
    return userId === this.context.ownUserId ? "own-user" : this.#isProtected(userId) ? "protected-user" : void 0;
  }
  #pair(fileUser, have) {
    const want = dueUser(fileUser, this.context.now);
    if (fileUser.schedule) this.#scheduled.push(...stepsAhead(fileUser, this.context.now));
    if (!have) {
      this.#absent.push(want);
      return;
    }
    this.#paired++;
    this.#variants.matched(want);
    this.#plan(want, have);
  }
  /**
   * The file's users the server does not have, once the whole list is read: a historical ID, or one
   * the server has in another case, is refused rather than planned as a create that Synapse would
   * refuse half-way through apply.
   */
  #planAbsent() {
    const absent = /* @__PURE__ */ new Set();
    for (const want of this.#absent) absent.add(want.userId);
    for (const want of this.#absent) {
      const refusal = creationRefusal(want, this.#variants.of(want.userId, absent));
      if (refusal) this.#refusals.push(refusal);
      else this.#plan(want, void 0);
    }
  }
  #plan(want, have) {
    const { userId } = want;
    const from = have ? have.state : "absent";
    const complete = wantsCompleteErasure(want, this.context.policy);
    let cell = LIFECYCLE[from][want.state];
    if (cell.do === "nothing" && complete && from === "erased" && hasResidue(have?.residue)) cell = FINISH_PURGE;
    if (cell.do === "nothing") return;
    if (cell.do === "refuse" || "unlessFlag" in cell && cell.unlessFlag && !want[cell.unlessFlag]) {
      const { code, why } = cell;
      this.#refusals.push({ code, userId, message: `${userId} ${why}` });
      return;
    }
    let changes;
    if (cell.do === "update") {
      const found = attributeChangesIfAny(want, have);
      if (!found) return;
      changes = found;
    } else changes = cell.do === "reactivate" || cell.do === "create" ? attributeChanges(want, have) : [];
    const action = {
      kind: cell.do,
      userId,
      from,
      to: want.state,
      changes,
      irreversible: "irreversible" in cell && cell.irreversible === true,
      observed: have ? { admin: have.admin, locked: have.locked } : {}
    };
    const backendRefusal = this.#backendRefusal(want, have, action);
    if (backendRefusal) {
      this.#refusals.push(backendRefusal);
      return;
    }
    if (want.due !== void 0) action.due = want.due;
    if (complete && action.kind === "erase") action.purge = purgeCounts(have?.residue);
    if (want.password && want.state === "active" && (cell.do === "create" || cell.do === "reactivate")) {
      action.password = want.password;
      const problem = this.context.passwordProblem?.(want.password);
      if (problem) {
        this.#refusals.push({
          code: "password-not-allowed",
          userId,
          message: `${userId}: ${problem}`,
          hint: "allow it with --password-env-prefix, --password-env or --password-dir (the Action: password-env-prefix, password-env, password-dir)"
        });
        return;
      }
    }
    const guarded = this.#guard(userId);
    const harm = guarded && harmDone(action);
    if (guarded && harm) {
      this.#refusals.push({
        code: guarded,
        userId,
        message: `${userId} is ${guarded === "own-user" ? "the admin token's own user" : "protected by policy.protected"}; refusing to ${harm}`
      });
      return;
    }
    this.#actions.push(action);
  }
  /**
   * What the accounts backend cannot do (MAS): write a user that lives only in Synapse, set a
   * password when password login is off, link an identity at a provider it does not know.
   */
  #backendRefusal(want, have, action) {
    const backend = this.context.backend;
    if (!backend) return void 0;
    const { userId } = want;
    if (have?.synapseOnly) {
      return {
        code: "synapse-only",
        userId,
        message: `${userId} lives only in Synapse, not in ${backend.name.toUpperCase()}; refusing to ${action.kind} it through ${backend.name.toUpperCase()}`,
        hint: "an application-service (bridge) user is its bridge's to manage; migrate other accounts to MAS (syn2mas), or remove the entry"
      };
    }
    const setsPassword = want.password && want.state === "active" && (action.kind === "create" || action.kind === "reactivate");
    if (setsPassword && backend.passwordLogin === false) {
      return {
        code: "password-login-disabled",
        userId,
        message: `${userId}: a password is given, but password login is off in MAS (site-config password_login_enabled: false)`,
        hint: "remove the password from the entry, or enable passwords in MAS's config (passwords.enabled: true)"
      };
    }
    const ext = action.changes.find((c) => c.attribute === "externalIds");
    for (const e of ext?.to ?? []) {
      const problem = backend.providerProblem?.(e.provider);
      if (problem) {
        return {
          code: "unknown-provider",
          userId,
          message: `${userId}: externalIds: ${problem}`,
          hint: "write the MAS upstream provider's ID (a ULID; GET /api/admin/v1/upstream-oauth-providers), or its exact human_name or issuer"
        };
      }
    }
    return void 0;
  }
  #unmanagedUser(have) {
    const { policy, ownUserId } = this.context;
    const exempt = policy.unmanaged === "deactivate" ? unmanagedExemption(have, ownUserId, this.#isProtected) : void 0;
    this.#unmanaged.push(
      exempt ? { userId: have.userId, state: have.state, exempt } : { userId: have.userId, state: have.state }
    );
    if (policy.unmanaged === "deactivate" && !exempt) {
      this.#actions.push({
        kind: "deactivate",
        userId: have.userId,
        from: "active",
        to: "deactivated",
        changes: [],
        irreversible: false,
        reason: "unmanaged",
        observed: { admin: have.admin, locked: have.locked }
      });
    }
  }
  /** The plan, once every server user has been observed. */
  finish() {
    this.#match.finish();
    this.#planAbsent();
    const actions = this.#actions.sort(byUserId);
    const refusals = this.#refusals.sort((a, b) => byUserId({ userId: a.userId ?? "" }, { userId: b.userId ?? "" }));
    refusals.push(...limitRefusals(actions, this.context.policy));
    const summary = { create: 0, update: 0, deactivate: 0, erase: 0, reactivate: 0 };
    for (const a of actions) summary[a.kind]++;
    return {
      serverName: this.context.serverName,
      ...this.context.backend ? { backend: this.context.backend.name } : {},
      policy: this.context.policy,
      actions,
      refusals,
      unmanaged: this.#unmanaged.sort(byUserId),
      summary,
      now: new Date(this.context.now).toISOString(),
      scheduled: this.#scheduled.sort((a, b) => a.at < b.at ? -1 : a.at > b.at ? 1 : byUserId(a, b))
    };
  }
};
function limitRefusals(actions, policy) {
  const refusals = [];
  const deactivations = actions.filter(
    (a) => (a.kind === "deactivate" || a.kind === "erase") && a.from === "active"
  ).length;
  if (deactivations > policy.maxDeactivations) {
    refusals.push({
      code: "max-deactivations",
      message: `the plan deactivates ${deactivations} active users, over the limit of ${policy.maxDeactivations}`,
      hint: `if that is intended, raise policy.maxDeactivations or pass --max-deactivations ${deactivations}`
    });
  }
  const erasures = actions.filter((a) => a.kind === "erase").length;
  if (erasures > policy.maxErasures) {
    refusals.push({
      code: "max-erasures",
      message: `the plan erases ${erasures} users, over the limit of ${policy.maxErasures}`,
      hint: `if that is intended, raise policy.maxErasures or pass --max-erasures ${erasures}`
    });
  }
  return refusals;
}
function unmanagedExemption(have, ownUserId, isProtected) {
  if (have.userId === ownUserId) return "own-user";
  if (isProtected(have.userId)) return "protected";
  if (have.synapseOnly) return "synapse-only";
  if (have.isGuest) return "guest";
  if (have.appserviceId === void 0) return "appservice-unknown";
  return have.appserviceId !== null ? "appservice" : void 0;
}
var FINISH_PURGE = { do: "erase", irreversible: true };
function harmDone(action) {
  if (action.to === "erased") return "erase it";
  if (action.to === "deactivated") return "deactivate it";
  const lock = action.changes.some((c) => c.attribute === "locked" && c.to === true && c.from !== true);
  if (lock) return "lock it";
  const suspend = action.changes.some((c) => c.attribute === "suspended" && c.to === true && c.from !== true);
  if (suspend) return "suspend it";
  const demote = action.changes.some((c) => c.attribute === "admin" && c.to === false && c.from === true);
  if (demote) return "remove its admin rights";
  return void 0;
}
function globMatcher(patterns) {
  const exact = /* @__PURE__ */ new Set();
  const globs = [];
  for (const pattern of patterns) {
    if (pattern.includes("*")) globs.push(compileGlob(pattern));
    else exact.add(pattern);
  }
  if (globs.length === 0) return exact.size === 0 ? () => false : (userId) => exact.has(userId);
  return (userId) => {
    if (exact.has(userId)) return true;
    for (const glob of globs) if (globMatches(glob, userId)) return true;
    return false;
  };
}
function compileGlob(pattern) {
  const parts = pattern.split("*");
  const prefix = parts[0];
  const suffix = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((part) => part !== "");
  const minLength = prefix.length + suffix.length + middle.reduce((sum, part) => sum + part.length, 0);
  return { prefix, suffix, middle, minLength };
}
function globMatches(glob, text) {
  if (text.length < glob.minLength || !text.startsWith(glob.prefix) || !text.endsWith(glob.suffix)) return false;
  const end = text.length - glob.suffix.length;
  let at = glob.prefix.length;
  for (const part of glob.middle) {
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
function needsSuspended(desired) {
  return (user) => user.state !== "erased" && desired.get(user.userId)?.suspended !== void 0;
}
function needsDetails(desired, unmanagedPolicy) {
  const withDetails = /* @__PURE__ */ new Set();
  for (const want of desired.values()) {
    if (managesDetails(want)) withDetails.add(want.userId);
  }
  if (unmanagedPolicy !== "deactivate") {
    if (withDetails.size === 0) return () => false;
    return (user) => user.state !== "erased" && withDetails.has(user.userId);
  }
  return (user) => withDetails.has(user.userId) ? user.state !== "erased" : user.state === "active" && !user.isGuest && !desired.has(user.userId);
}

// src/plan/drift.ts
var DRIFT_ORDER = [
  "reactivated",
  "deactivated-out-of-band",
  "erasure",
  "backends-disagree",
  "due",
  "missing",
  "attributes",
  "synapse-only",
  "unmanaged",
  "member-left",
  "member-invited",
  "member-joined",
  "power-level"
];
var DriftDetector = class {
  constructor(context) {
    this.context = context;
    const isProtected = globMatcher(context.policy.protected);
    this.#variants = new CaseVariants(context.desired);
    const { unmanaged } = context.policy;
    this.#match = new Match(context.desired, {
      pair: (want, have) => this.#pair(want, have),
      ...unmanaged === "ignore" ? {} : {
        unmanaged: (have) => {
          if (have.synapseOnly) {
            if (have.state === "active" && !have.appserviceId && !have.isGuest)
              this.#synapseOnly(have, "not in the file");
            return;
          }
          if (unmanaged === "deactivate" && unmanagedExemption(have, context.ownUserId, isProtected)) return;
          this.#items.push({
            class: "unmanaged",
            userId: have.userId,
            expected: "not in the file",
            actual: "active"
          });
        }
      }
    });
  }
  #items = [];
  #match;
  /** Server users whose ID differs from a file's user's only in case (see CaseVariants). */
  #variants;
  /** Server users paired with one of the file's so far: one that leaves it unchanged is not in the file. */
  #paired = 0;
  /** The file's users the server does not have: `missing`, with a hint once all are known. */
  #missing = [];
  observe(have) {
    if (have.disagreement) {
      this.#items.push({
        class: "backends-disagree",
        userId: have.userId,
        expected: "MAS and Synapse agree",
        actual: have.disagreement
      });
    }
    const paired = this.#paired;
    this.#match.observe(have);
    if (this.#paired === paired) this.#variants.unmatched(have.userId);
  }
  /** Rows the server listed (a row repeated by pagination counts twice). */
  get listed() {
    return this.#match.listed;
  }
  #pair(fileUser, have) {
    const want = dueUser(fileUser, this.context.now);
    const { userId } = want;
    if (!have) {
      this.#missing.push(want);
      return;
    }
    this.#paired++;
    this.#variants.matched(want);
    if (have.synapseOnly) this.#synapseOnly(have, want.state);
    if (have.state === want.state) {
      if (have.state === "erased" && wantsCompleteErasure(want, this.context.policy) && hasResidue(have.residue)) {
        const { messages, media } = have.residue;
        const actual = `erased, but ${messages} messages and ${media} media are left`;
        this.#items.push({ class: "erasure", userId, expected: "erased (complete)", actual });
      }
      if (have.state !== "active") return;
      const changes = attributeChangesIfAny(want, have);
      if (changes) this.#items.push({ class: "attributes", userId, expected: "active", actual: "active", changes });
      return;
    }
    if (awaitingDue(fileUser, want, have.state)) {
      const hint = `the file schedules it for ${want.due}, and that date has passed; apply carries it out`;
      this.#items.push({ class: "due", userId, expected: want.state, actual: have.state, hint });
      return;
    }
    const cls = have.state === "active" ? "reactivated" : want.state === "active" ? "deactivated-out-of-band" : "erasure";
    this.#items.push({ class: cls, userId, expected: want.state, actual: have.state });
  }
  #synapseOnly(have, expected) {
    this.#items.push({
      class: "synapse-only",
      userId: have.userId,
      expected,
      actual: `${have.state}, in Synapse only`,
      hint: "MAS does not know this user: it cannot log in through MAS, and is never written through it"
    });
  }
  finish() {
    this.#match.finish();
    const absent = /* @__PURE__ */ new Set();
    for (const want of this.#missing) absent.add(want.userId);
    for (const want of this.#missing) {
      const { userId } = want;
      const item = { class: "missing", userId, expected: want.state, actual: "absent" };
      const existing = this.#variants.of(userId, absent);
      if (existing.length > 0) item.hint = `the server has ${existing.join(" and ")}; ${caseVariantHint(existing)}`;
      else if (want.historical || isHistoricalUserId(userId))
        item.hint = "apply cannot create it: Synapse refuses new user IDs outside today's grammar";
      this.#items.push(item);
    }
    const rank = new Map(DRIFT_ORDER.map((c, i) => [c, i]));
    const items = this.#items.sort((a, b) => rank.get(a.class) - rank.get(b.class) || byUserId(a, b));
    const counts = Object.fromEntries(DRIFT_ORDER.map((c) => [c, 0]));
    for (const item of items) counts[item.class]++;
    return {
      serverName: this.context.serverName,
      ...this.context.backend ? { backend: this.context.backend.name } : {},
      drifted: items.length > 0,
      counts,
      items
    };
  }
};

// src/report/drift.ts
var TITLE = {
  reactivated: "Reactivated behind the file's back (the file says deactivated or erased)",
  "deactivated-out-of-band": "Deactivated or erased, but active in the file",
  erasure: "Erasure differs from the file",
  "backends-disagree": "MAS and Synapse disagree",
  "synapse-only": "In Synapse but not in MAS",
  due: "Scheduled in the file, due, not yet applied",
  missing: "In the file but not on the server",
  attributes: "Attributes changed on the server",
  unmanaged: "On the server but not in the file",
  "member-left": "Declared room members who left (or never joined)",
  "member-invited": "Invited to a room that does not declare them",
  "member-joined": "Joined a room that does not declare them (by hand)",
  "power-level": "Power levels changed in a room"
};
function driftSummaryLine(report, esc) {
  if (!report.drifted) return `No drift: ${esc(report.serverName)} matches the file.`;
  const parts = DRIFT_ORDER.filter((c) => report.counts[c] > 0).map((c) => `${report.counts[c]} ${c}`);
  return `Drift on ${esc(report.serverName)}: ${parts.join(", ")}.`;
}
function itemLines(item, indent) {
  const head = `${indent}${escapeTerminal(item.userId)}${item.room ? ` in ${escapeTerminal(item.room)}` : ""}: file says ${item.expected}, server has ${item.actual}`;
  return [
    head,
    ...(item.changes ?? []).map(
      (c) => `${indent}    ${c.attribute}: ${formatValue(c.to, escapeTerminal)} in the file, ${formatValue(c.from, escapeTerminal)} on the server`
    ),
    ...item.hint ? [`${indent}    ${escapeTerminal(item.hint)}`] : []
  ];
}
function renderDriftText(report) {
  const out = [driftSummaryLine(report, escapeTerminal)];
  if (report.backend) out.push(backendLine(report.backend));
  for (const cls of DRIFT_ORDER) {
    const items = report.items.filter((i) => i.class === cls);
    if (items.length === 0) continue;
    out.push("", `${TITLE[cls]} [${cls}] (${items.length}):`);
    for (const item of items) out.push(...itemLines(item, "  "));
  }
  return `${out.join("\n")}
`;
}
function renderDriftJson(report) {
  return `${JSON.stringify(
    {
      formatVersion: 1,
      tool: { name: "synapse-gitops", version: VERSION },
      command: "drift",
      serverName: report.serverName,
      ...report.backend ? { backend: report.backend } : {},
      drifted: report.drifted,
      counts: report.counts,
      items: report.items
    },
    null,
    2
  )}
`;
}
function renderDriftMarkdown(report) {
  const out = [
    `### synapse-gitops drift for ${mdCode(report.serverName)}`,
    "",
    `**${driftSummaryLine(report, mdText)}**`,
    ...report.backend ? ["", backendLine(report.backend)] : []
  ];
  for (const cls of DRIFT_ORDER) {
    const items = report.items.filter((i) => i.class === cls);
    if (items.length === 0) continue;
    out.push("", `#### ${cls === "reactivated" ? "\u{1F6A8} " : ""}${TITLE[cls]} \u2014 \`${cls}\` (${items.length})`, "");
    for (const item of items) {
      const changes = (item.changes ?? []).map((c) => `${c.attribute}: ${formatValue(c.from, mdCode)} \u2192 ${formatValue(c.to, mdCode)}`).join("; ");
      const hint = item.hint ? ` \u2014 _${mdText(item.hint)}_` : "";
      out.push(
        `- ${mdCode(item.userId)}${item.room ? ` in ${mdCode(item.room)}` : ""}: file says ${item.expected}, server has ${item.actual}${changes ? ` (${changes})` : ""}${hint}`
      );
    }
  }
  return `${out.join("\n")}
`;
}

export {
  sameValue,
  actualValue,
  hasResidue,
  needsResidue,
  planUsers,
  Planner,
  limitRefusals,
  globMatcher,
  needsSuspended,
  needsDetails,
  DRIFT_ORDER,
  DriftDetector,
  driftSummaryLine,
  renderDriftText,
  renderDriftJson,
  renderDriftMarkdown
};
