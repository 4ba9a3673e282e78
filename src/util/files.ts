import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { isAbsolute, relative, sep } from "node:path";

/**
 * Why a file is not one to read, when it is a device, a FIFO or a socket (reading /dev/zero never
 * ends, opening a FIFO waits for a writer); undefined for a regular file, a directory or a link.
 */
export function specialKind(info: Stats): string | undefined {
  if (info.isCharacterDevice() || info.isBlockDevice()) return "is a device";
  if (info.isFIFO()) return "is a FIFO (named pipe)";
  if (info.isSocket()) return "is a socket";
  return undefined;
}

/** Whether the absolute path `path` is `dir` or lies under it. */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The bytes of an open file, or undefined when it holds more than `limit`. What is read is
 * counted, not what the file says it holds: /proc files report a size of 0, and a file can grow
 * while it is read. `sizeHint` (the size fstat reported) only sizes the first buffer.
 */
export async function readCapped(handle: FileHandle, sizeHint: number, limit: number): Promise<Buffer | undefined> {
  // One byte more than expected: the read that finds nothing there is the end of the file.
  let buffer = Buffer.allocUnsafe(Math.min(Math.max(sizeHint + 1, 16 * 1024), limit + 1));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > limit) return undefined;
      const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

/**
 * A whole file another job or person handed over (a saved plan, a snapshot), read with care: a
 * device, FIFO or socket is refused before it is opened (and again on the open handle, which does
 * not wait), and more than `limit` bytes is refused as it is read. Errors are plain messages.
 */
export async function readHandedFile(path: string, limit: number): Promise<{ text: string } | { problem: string }> {
  try {
    const kind = specialKind(await lstat(path));
    if (kind) return { problem: kind };
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) return { problem: specialKind(info) ?? "is not a regular file" };
      const bytes = await readCapped(handle, info.size, limit);
      if (bytes === undefined) return { problem: `is larger than ${Math.round(limit / 1024 / 1024)} MB` };
      return { text: bytes.toString("utf8") };
    } finally {
      await handle.close();
    }
  } catch (cause) {
    return { problem: String((cause as NodeJS.ErrnoException).code ?? cause) };
  }
}

/**
 * Writes a file only its owner may read (plans, snapshots and exports hold user IDs and more): a
 * new file is created 0600, and one that was there already is made 0600 before a byte is written.
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const handle = await open(path, "w", 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
