#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  driftSummaryLine,
  renderDriftJson,
  renderDriftMarkdown,
  renderDriftText
} from "./chunk-OGVSU3CA.js";
import "./chunk-CUFBJBJW.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-GMYKIWAC.js";
import "./chunk-AD742QSL.js";
import "./chunk-6HBL5TLA.js";
import "./chunk-SVN2WMBC.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";
export {
  driftSummaryLine,
  renderDriftJson,
  renderDriftMarkdown,
  renderDriftText
};
