#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  describeValue,
  passwordRefSchema,
  userMapSchema,
  userValueSchema,
  usersFileJsonSchema,
  usersFileSchema
} from "./chunk-IPG5SGLA.js";
import "./chunk-5UI2KWUR.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-4CJPJK2Z.js";
export {
  describeValue,
  passwordRefSchema,
  userMapSchema,
  userValueSchema,
  usersFileJsonSchema,
  usersFileSchema
};
