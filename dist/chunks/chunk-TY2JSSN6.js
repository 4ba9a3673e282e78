#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  array,
  boolean,
  email,
  strictObject,
  string
} from "./chunk-SVN2WMBC.js";

// src/domain/attributes.ts
var nonEmpty = string().min(1);
function noRepeats(key, message) {
  return (items, ctx) => {
    const seen = /* @__PURE__ */ new Map();
    items.forEach((item, i) => {
      const k = key(item);
      const first = seen.get(k);
      if (first === void 0) seen.set(k, i);
      else
        ctx.addIssue({ code: "custom", path: [i], message: `${message}: the same as item ${first + 1}`, input: item });
    });
  };
}
var externalIdSchema = strictObject({
  provider: nonEmpty.meta({ description: "The SSO provider's ID in Synapse's configuration, e.g. oidc." }),
  id: nonEmpty.meta({ description: "The user's ID at that provider (quote it if it looks like a number)." })
}).meta({ description: "A link to an SSO identity." });
var MXC_URI = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;
var ATTRIBUTE_SPECS = {
  displayname: {
    schema: string().meta({ description: "Managed only when given." }),
    compare: "text",
    detail: false,
    exported: (v) => v || void 0
  },
  avatarUrl: {
    schema: string().regex(MXC_URI, { error: "must be an mxc:// URI, e.g. mxc://example.org/AbCdEf" }).meta({ description: "The avatar, as an mxc:// URI of media on the server. Managed only when given." }),
    compare: "text",
    detail: false,
    exported: (v) => v || void 0
  },
  admin: {
    schema: boolean().meta({ description: "Server admin. Managed only when given." }),
    compare: "value",
    detail: false,
    exported: (v) => v
  },
  locked: {
    schema: boolean().meta({ description: "A locked account cannot log in. Managed only when given." }),
    compare: "value",
    detail: false,
    exported: (v) => v ? true : void 0
  },
  suspended: {
    schema: boolean().meta({
      description: "A suspended account can log in and read, but not send, join, invite or change its profile (moderation without deactivation; Synapse \u2265 1.122). Managed only when given."
    }),
    compare: "value",
    // Synapse 1.160's user list does not carry it: only the single-user GET does.
    detail: true,
    exported: (v) => v ? true : void 0
  },
  emails: {
    schema: array(email({ error: (iss) => `${JSON.stringify(iss.input)} is not an email address` })).superRefine(noRepeats((e) => e.toLowerCase(), "listed twice (emails compare without case)")).meta({ description: "The account's email addresses (the whole list is managed when given)." }),
    compare: "set",
    detail: true,
    exported: (v) => v?.length ? v : void 0
  },
  externalIds: {
    schema: array(externalIdSchema).superRefine(noRepeats((e) => `${e.provider}\0${e.id}`, "listed twice")).meta({ description: "The account's SSO identities (the whole list is managed when given)." }),
    compare: "set",
    detail: true,
    exported: (v) => v?.length ? v : void 0
  }
};
var ATTRIBUTES = Object.keys(ATTRIBUTE_SPECS);
var DETAIL_ATTRIBUTES = ATTRIBUTES.filter((a) => ATTRIBUTE_SPECS[a].detail);
function exportedAttributes(user) {
  const entry = {};
  for (const attribute of ATTRIBUTES) {
    const value = ATTRIBUTE_SPECS[attribute].exported(user[attribute]);
    if (value !== void 0) entry[attribute] = value;
  }
  return entry;
}

export {
  ATTRIBUTE_SPECS,
  ATTRIBUTES,
  DETAIL_ATTRIBUTES,
  exportedAttributes
};
