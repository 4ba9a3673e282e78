#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  actionLines,
  renderApplyText,
  renderPlanText,
  resultLine
} from "./chunk-BFFVIZT5.js";
import "./chunk-XBO4EKKD.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";
export {
  actionLines,
  renderApplyText,
  renderPlanText,
  resultLine
};
