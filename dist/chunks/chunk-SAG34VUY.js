#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  _enum,
  array,
  int,
  serverNameOf,
  strictObject,
  string
} from "./chunk-SVN2WMBC.js";

// src/domain/policy.ts
var UNMANAGED_POLICIES = ["ignore", "report", "deactivate"];
function isUserIdPattern(value) {
  return serverNameOf(value.replaceAll("*", "x")) !== void 0;
}
var ERASURE_KINDS = ["standard", "complete"];
var erasureKindSchema = _enum(ERASURE_KINDS, { error: `must be one of ${ERASURE_KINDS.join(", ")}` }).meta({
  description: "standard: Synapse's erase (profile gone, messages hidden from later joiners). complete: also redacts every message the user sent and deletes their uploaded media, before the erase."
});
var DEFAULT_MAX_REMOVALS = 10;
var policySchema = strictObject({
  unmanaged: _enum(UNMANAGED_POLICIES, { error: `must be one of ${UNMANAGED_POLICIES.join(", ")}` }).default("report").meta({ description: "What to do with users on the server that are not in the file." }),
  maxDeactivations: int().min(0).default(10).meta({ description: "Refuse a plan that deactivates more users than this." }),
  maxErasures: int().min(0).default(5).meta({ description: "Refuse a plan that erases more users than this." }),
  // Optional rather than defaulted: absent means standard, and plans and policies written before
  // it existed read the same.
  erasure: erasureKindSchema.optional().meta({
    description: "The erasure of users whose entry does not say (`erasure:` on the entry wins). Default: standard."
  }),
  // Optional rather than defaulted, so that policies written before rooms existed keep their shape.
  maxRemovals: int().min(0).optional().meta({
    description: `Refuse a plan that removes (kicks) members from the file's rooms or lowers their power levels more times than this, removals and demotions counted together. Default: ${DEFAULT_MAX_REMOVALS}.`
  }),
  protected: array(
    string().refine(isUserIdPattern, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a full user ID: write @localpart:server (with * for any characters)`
    })
  ).default([]).meta({
    description: 'Users never deactivated or erased, nor removed from a room or demoted in one: full user IDs or globs with *, e.g. "@*-bot:example.org".'
  })
}).meta({ description: "Safety limits and what to do with users that are not in the file." });
var DEFAULT_POLICY = policySchema.parse({});

export {
  erasureKindSchema,
  DEFAULT_MAX_REMOVALS,
  policySchema,
  DEFAULT_POLICY
};
