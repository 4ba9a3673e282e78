// `drift --format patch --write`: the patched users files written over the ones read, each
// atomically (a temporary file in the same directory, then a rename), and only when the file on
// disk is still, byte for byte, the one the patch was made from.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ToolError } from "../errors.js";
import { readCapped, specialKind } from "../util/files.js";
import { MAX_FILE_BYTES } from "./load.js";
import type { PatchedFile } from "./patch.js";

/**
 * Writes each file's `after` in place of its `before`. Every file is checked before any is
 * written: a regular file (a symbolic link is not replaced by a file: the patch is for what it
 * leads to, which the operator applies by hand; a device, FIFO or socket is never opened), still
 * holding exactly what was read. Each is checked once more right before its rename.
 */
export async function writePatchedFiles(files: PatchedFile[]): Promise<void> {
  for (const file of files) await checkUnchanged(file);
  for (const file of files) {
    const temp = join(dirname(file.name), `.${basename(file.name)}.${randomBytes(6).toString("hex")}.tmp`);
    const info = await lstat(file.name);
    // "wx": never through a file or link that is already there.
    const handle = await open(temp, "wx", info.mode & 0o777);
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
      await unlink(temp).catch(() => {});
      throw error;
    }
  }
}

async function checkUnchanged(file: PatchedFile): Promise<void> {
  const refuse = (why: string) =>
    new ToolError(
      `${file.name} ${why}; nothing was written`,
      "apply the printed patch by hand, or run drift --format patch --write again",
    );
  const info = await lstat(file.name).catch((error: NodeJS.ErrnoException) => {
    throw refuse(`cannot be read (${error.code ?? error.message})`);
  });
  if (info.isSymbolicLink()) throw refuse("is a symbolic link: --write replaces only regular files");
  const kind = specialKind(info);
  if (kind || !info.isFile()) throw refuse(`${kind ?? "is not a regular file"}: --write replaces only regular files`);
  const handle = await open(file.name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let now: Buffer | undefined;
  try {
    if (!(await handle.stat()).isFile()) throw refuse("is not a regular file: --write replaces only regular files");
    now = await readCapped(handle, info.size, MAX_FILE_BYTES);
  } finally {
    await handle.close();
  }
  if (now === undefined || !now.equals(Buffer.from(file.before, "utf8"))) {
    throw refuse("changed since drift read it");
  }
}
