#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);

// src/errors.ts
var ToolError = class extends Error {
  constructor(message, hint, options) {
    super(message, options);
    this.hint = hint;
  }
  name = "ToolError";
};
var EXIT = { ok: 0, error: 1, changes: 2 };

export {
  ToolError,
  EXIT
};
