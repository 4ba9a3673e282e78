#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  describeValue,
  passwordRefSchema,
  roomSchema,
  userMapSchema,
  userValueSchema,
  usersFileJsonSchema,
  usersFileSchema
} from "./chunk-PI3GQNBG.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-SAG34VUY.js";
import "./chunk-6HBL5TLA.js";
import "./chunk-SVN2WMBC.js";
import "./chunk-I7MR6UWU.js";
import "./chunk-4CJPJK2Z.js";
export {
  describeValue,
  passwordRefSchema,
  roomSchema,
  userMapSchema,
  userValueSchema,
  usersFileJsonSchema,
  usersFileSchema
};
