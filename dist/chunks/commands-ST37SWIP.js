#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  apply,
  drift,
  exportUsers,
  forceUnlock,
  plan,
  planExitCode,
  snapshot,
  validate
} from "./chunk-OGO2ZM7F.js";
import "./chunk-6HHALY7G.js";
import "./chunk-KKOGH2FD.js";
import "./chunk-2IS22656.js";
import "./chunk-UEGVKI2R.js";
import "./chunk-CUFBJBJW.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-DVGEGDS6.js";
import "./chunk-P7RHSH65.js";
import "./chunk-JO7W4AST.js";
import "./chunk-QE3EWGP7.js";
import "./chunk-U6LS732R.js";
import "./chunk-AD742QSL.js";
import "./chunk-6HBL5TLA.js";
import "./chunk-SVN2WMBC.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";
export {
  apply,
  drift,
  exportUsers,
  forceUnlock,
  plan,
  planExitCode,
  snapshot,
  validate
};
