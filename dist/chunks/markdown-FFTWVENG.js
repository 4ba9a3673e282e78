#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  renderMarkdown
} from "./chunk-LB3TG42Z.js";
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
  renderMarkdown
};
