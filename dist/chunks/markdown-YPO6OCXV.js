#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  renderMarkdown
} from "./chunk-MSVWU2MY.js";
import "./chunk-XBO4EKKD.js";
import "./chunk-5J3ZCMMJ.js";
import "./chunk-4CJPJK2Z.js";
export {
  renderMarkdown
};
