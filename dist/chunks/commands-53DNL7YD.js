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
} from "./chunk-X72MK5AA.js";
import "./chunk-XY5T6OAR.js";
import "./chunk-SORW4BYI.js";
import "./chunk-2IS22656.js";
import "./chunk-VNJBPQAQ.js";
import "./chunk-CUFBJBJW.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-JAKXX44L.js";
import "./chunk-PQ2OZTJ4.js";
import "./chunk-JO7W4AST.js";
import "./chunk-QE3EWGP7.js";
import "./chunk-GMYKIWAC.js";
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
