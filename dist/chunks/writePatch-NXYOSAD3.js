#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  MAX_FILE_BYTES,
  readCapped,
  specialKind
} from "./chunk-FLQYQNNJ.js";
import "./chunk-PI3GQNBG.js";
import "./chunk-TY2JSSN6.js";
import "./chunk-SAG34VUY.js";
import "./chunk-6HBL5TLA.js";
import "./chunk-SVN2WMBC.js";
import {
  ToolError
} from "./chunk-I7MR6UWU.js";
import "./chunk-4CJPJK2Z.js";

// src/config/writePatch.ts
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
async function writePatchedFiles(files) {
  for (const file of files) await checkUnchanged(file);
  for (const file of files) {
    const temp = join(dirname(file.name), `.${basename(file.name)}.${randomBytes(6).toString("hex")}.tmp`);
    const info = await lstat(file.name);
    const handle = await open(temp, "wx", info.mode & 511);
    try {
      try {
        await handle.writeFile(file.after);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await checkUnchanged(file);
      await rename(temp, file.name);
    } catch (error) {
      await unlink(temp).catch(() => {
      });
      throw error;
    }
  }
}
async function checkUnchanged(file) {
  const refuse = (why) => new ToolError(
    `${file.name} ${why}; nothing was written`,
    "apply the printed patch by hand, or run drift --format patch --write again"
  );
  const info = await lstat(file.name).catch((error) => {
    throw refuse(`cannot be read (${error.code ?? error.message})`);
  });
  if (info.isSymbolicLink()) throw refuse("is a symbolic link: --write replaces only regular files");
  const kind = specialKind(info);
  if (kind || !info.isFile()) throw refuse(`${kind ?? "is not a regular file"}: --write replaces only regular files`);
  const handle = await open(file.name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let now;
  try {
    if (!(await handle.stat()).isFile()) throw refuse("is not a regular file: --write replaces only regular files");
    now = await readCapped(handle, info.size, MAX_FILE_BYTES);
  } finally {
    await handle.close();
  }
  if (now === void 0 || !now.equals(Buffer.from(file.before, "utf8"))) {
    throw refuse("changed since drift read it");
  }
}
export {
  writePatchedFiles
};
