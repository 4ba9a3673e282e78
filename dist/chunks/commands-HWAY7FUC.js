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
} from "./chunk-VWPEIHIH.js";
import "./chunk-K4HIYU7O.js";
import "./chunk-FLQYQNNJ.js";
import "./chunk-PI3GQNBG.js";
import "./chunk-OGVSU3CA.js";
import "./chunk-CUFBJBJW.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-LB3TG42Z.js";
import "./chunk-MGCSEC47.js";
import "./chunk-RRRXE2QY.js";
import "./chunk-SAG34VUY.js";
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
