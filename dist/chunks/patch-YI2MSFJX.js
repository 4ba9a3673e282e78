#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  MAX_ISSUE_PATCH,
  patchSummaryLines,
  renderPatchMarkdown,
  renderPatchSummaryText,
  renderPatchText
} from "./chunk-JH4FJXL7.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";
export {
  MAX_ISSUE_PATCH,
  patchSummaryLines,
  renderPatchMarkdown,
  renderPatchSummaryText,
  renderPatchText
};
