#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);

// src/domain/plan.ts
var ACTION_KINDS = ["create", "update", "deactivate", "erase", "reactivate"];
var REFUSAL_CODES = [
  "un-erase",
  "erased-to-deactivated",
  "reactivation-not-allowed",
  "own-user",
  "protected-user",
  "max-deactivations",
  "max-erasures",
  "password-not-allowed",
  "historical-id",
  "case-variant",
  "synapse-only",
  "password-login-disabled",
  "unknown-provider",
  // Rooms (src/plan/rooms.ts): what the admin user cannot do, and the removal threshold.
  "room-not-found",
  "room-admin-not-member",
  "room-admin-power",
  "room-creator",
  "room-member-inactive",
  "max-removals"
];
function planHasChanges(plan) {
  return plan.actions.length > 0 || (plan.rooms?.changes.length ?? 0) > 0;
}

export {
  ACTION_KINDS,
  REFUSAL_CODES,
  planHasChanges
};
