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
} from "./chunk-U3GVRZOZ.js";
import "./chunk-IPG5SGLA.js";
import "./chunk-DDL2U3WT.js";
import "./chunk-CUFBJBJW.js";
import "./chunk-5UI2KWUR.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-MSVWU2MY.js";
import "./chunk-BFFVIZT5.js";
import "./chunk-XBO4EKKD.js";
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
