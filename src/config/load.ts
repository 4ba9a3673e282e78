import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type * as z from "zod";
import type { AccountState } from "../domain/account.js";
import { ATTRIBUTES, type Attribute } from "../domain/attributes.js";
import type { DesiredUser, SourcePosition } from "../domain/desired.js";
import { DEFAULT_POLICY, type Policy } from "../domain/policy.js";
import { type Schedule, scheduledDate } from "../domain/schedule.js";
import {
  isHistoricalLocalpart,
  isValidNewLocalpart,
  localpartOf,
  NEW_LOCALPART_CHARACTERS,
  serverNameOf,
} from "../domain/userId.js";
import { ToolError } from "../errors.js";
import { isInside, readCapped, specialKind } from "../util/files.js";
import { readRooms, type UserGroups } from "./rooms.js";
import { describeValue, type UserMap, userMapSchema, usersFileSchema, userValueSchema } from "./schema.js";
import type { DesiredState } from "./types.js";
import { parseYaml, type YEntry, type YMap, type YNode } from "./yamlTree.js";

/**
 * One problem in the configuration. `line` and `column` are 1-based; both are 0 for a problem
 * with the file as a whole (missing, too large). `path` is the key path (`users.bob.state`), or ""
 * when there is none (YAML syntax errors, the file itself).
 */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

/** Every problem found in the configuration, one per line: `FILE:LINE:COLUMN PATH: MESSAGE`. */
export class ConfigError extends ToolError {
  override name = "ConfigError";
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const clean = issues.map((i) => ({
      ...i,
      file: oneLine(i.file),
      path: oneLine(i.path),
      message: oneLine(i.message),
    }));
    super(clean.map(formatIssue).join("\n"));
    this.issues = clean;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  const prefix = `${where}${issue.path ? ` ${issue.path}` : ""}`;
  return prefix ? `${prefix}: ${issue.message}` : issue.message;
}

/**
 * Keys and quoted values come from the file: a line break or a terminal escape in one must not
 * split an issue over lines (or print `::error::` lines into a CI log). Control characters are
 * written as escapes instead.
 */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
}

export interface LoadOptions {
  /** The server's own name (from the admin token), checked against the file's and used when it has none. */
  serverName?: string;
  /**
   * The homeserver the operator named (normalised). A file's `homeserver:` is never used to send the
   * token anywhere: it is only checked against this one, and a file naming another is an error.
   */
  homeserver?: string;
}

export const MAX_FILE_BYTES = 50 * 1024 * 1024;

/**
 * When the server name is unknown (validating offline a file that does not name its server),
 * users keyed by localpart are keyed `@localpart:unknown.invalid`: a well-formed ID on a server
 * that cannot exist (RFC 2606 reserves .invalid), so it can never match or touch a real account.
 */
export const UNKNOWN_SERVER = "unknown.invalid";

/** The longest user ID the Matrix spec allows (as serverNameOf checks). */
const MAX_USER_ID_LENGTH = 255;

/** What only an active user may carry: the managed attributes, and what creating or reactivating one takes. */
export const ACTIVE_ONLY = [...ATTRIBUTES, "password", "allowReactivation"] as const;

/**
 * Reads and validates a users file, or every `*.yaml`/`*.yml` file directly in a directory
 * (merged in name order, the root file first). Throws one ConfigError listing every problem found in every file.
 */
export async function loadDesiredState(path: string, options: LoadOptions = {}): Promise<DesiredState> {
  return parseDesiredState(await readDesiredFiles(path), options);
}

/**
 * The text of one file of the configuration. `part` is set for the files of a directory: "root"
 * for its root file (ROOT_FILES), the only one that may set homeserver, serverName and policy;
 * "member" for the others. A single users file has none and may set everything.
 */
export interface DesiredFile {
  name: string;
  text: string;
  part?: "root" | "member";
}

/** The names a directory's root file may have. */
export const ROOT_FILES = ["_root.yaml", "_root.yml"] as const;

/** The keys only a directory's root file may set: the server, and the safety policy that every team's file shares. */
const ROOT_KEYS = ["homeserver", "serverName", "policy"] as const;

/**
 * The text of the users file, or of each file in the directory: the reading half of loadDesiredState.
 *
 * The file comes from whoever can open a pull request, so it is read with care: only regular files
 * (a device such as /dev/zero, a FIFO or a socket is refused before it is opened), at most
 * MAX_FILE_BYTES of it (counted as read: /proc files and devices report a size of 0), and a
 * symbolic link (or a linked directory) only when it leads to a file inside the repository — the
 * nearest directory above the users file that holds `.git`, or else the users file's own directory
 * (see repositoryRoot).
 */
export async function readDesiredFiles(path: string): Promise<DesiredFile[]> {
  const { names, directory } = await filesAt(path);
  const root = await repositoryRoot(path, directory);
  const files: DesiredFile[] = [];
  const issues: ConfigIssue[] = [];
  for (const name of names) {
    const text = await readText(name, root).catch((error: unknown) => {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    });
    if (text === undefined) continue;
    const file: DesiredFile = { name, text };
    if (directory) file.part = isRootFile(name) ? "root" : "member";
    files.push(file);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return files;
}

function isRootFile(name: string): boolean {
  return (ROOT_FILES as readonly string[]).includes(basename(name));
}

async function filesAt(path: string): Promise<{ names: string[]; directory: boolean }> {
  const info = await stat(path).catch((error: unknown) => fileError(path, error));
  if (!info.isDirectory()) return { names: [path], directory: false };
  const entries = await readdir(path, { withFileTypes: true }).catch((error: unknown) => fileError(path, error));
  // Dot files are left out: editors' lock and backup files look like YAML files. Anything else
  // named like YAML but a directory is read, and refused if it is not a regular file.
  const names = entries
    .filter((e) => /\.ya?ml$/.test(e.name) && !e.name.startsWith(".") && !e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) throw fileIssue(path, "no .yaml or .yml file in this directory");
  const roots = names.filter(isRootFile);
  if (roots.length > 1) {
    throw fileIssue(path, `both ${roots.join(" and ")} are here: keep one root file`);
  }
  // The root file first: it says which server and policy the others are read under.
  const ordered = [...roots, ...names.filter((name) => !isRootFile(name))];
  return { names: ordered.map((name) => join(path, name)), directory: true };
}

/**
 * The real path of the repository the users file belongs to, which a symbolic link must not
 * leave: the nearest directory holding `.git`, from the users file's own directory (or the
 * directory given) upwards; without one (a checkout without its Git data, a Kubernetes ConfigMap),
 * that directory itself. (Not the current directory: a ConfigMap's files are links into the
 * directory they are mounted in, wherever the job runs.)
 */
async function repositoryRoot(path: string, directory: boolean): Promise<string> {
  const given = resolve(path);
  // A directory given through a link is not followed to look for `.git` in it.
  const linked = await lstat(given).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
  const start = directory && !linked ? given : dirname(given);
  let root = start;
  for (let dir = start; ; ) {
    if (await exists(join(dir, ".git"))) {
      root = dir;
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return realpath(root).catch(() => root);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Reads one file of the configuration (see readDesiredFiles): the real file is checked and then
 * opened without following links (O_NOFOLLOW) and without waiting (O_NONBLOCK: a FIFO swapped in
 * would otherwise hang the open); the handle itself is checked again (fstat) before a byte is read,
 * so nothing can be swapped in between.
 */
async function readText(name: string, root: string): Promise<string> {
  const link = await lstat(name).catch((error: unknown) => fileError(name, error));
  const kind = specialKind(link);
  if (kind) throw fileIssue(name, `${kind}: only a regular file can be a users file`);
  const real = await realpath(name).catch((error: unknown) => fileError(name, error));
  if (!isInside(real, root)) {
    throw fileIssue(name, `leads through a symbolic link to ${real}, outside the repository (${root})`);
  }
  // Git's own files are in the repository but are not the repository's content: .git/config can
  // hold a credential, which a YAML error would quote.
  if (isInside(real, join(root, ".git"))) {
    throw fileIssue(name, `leads through a symbolic link into the repository's .git directory (${real})`);
  }
  if (link.isSymbolicLink()) {
    // What the link leads to, checked before it is opened (opening some devices does something).
    const target = await lstat(real).catch((error: unknown) => fileError(name, error));
    const targetKind = specialKind(target);
    if (targetKind)
      throw fileIssue(name, `leads to ${real}, which ${targetKind}: only a regular file can be a users file`);
  }
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: unknown) => fileError(name, error),
  );
  try {
    const info = await handle.stat();
    const opened = specialKind(info);
    if (opened) throw fileIssue(name, `${opened}: only a regular file can be a users file`);
    if (info.isDirectory()) throw fileIssue(name, "is a directory");
    if (info.size > MAX_FILE_BYTES) {
      throw fileIssue(name, `the file is ${(info.size / 1024 / 1024).toFixed(0)} MB: files over 50 MB are refused`);
    }
    const bytes = await readCapped(handle, info.size, MAX_FILE_BYTES).catch((error: unknown) => fileError(name, error));
    if (bytes === undefined) throw fileIssue(name, "the file is over 50 MB: files over 50 MB are refused");
    try {
      // fatal: a file that is not UTF-8 is refused rather than read with replacement characters.
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw fileIssue(name, "the file is not valid UTF-8 text");
    }
  } finally {
    await handle.close();
  }
}

const FS_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory",
};

function fileError(file: string, error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  throw fileIssue(file, FS_ERRORS[code] ?? (error as Error).message);
}

function fileIssue(file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: 0, column: 0, path: "", message }]);
}

type Path = PropertyKey[];

/** An issue before positions are resolved: offsets are cheap, lines and columns only for issues. */
interface PendingIssue {
  file: number;
  /** -1 for the file as a whole. */
  offset: number;
  path: Path;
  message: string;
}

/** What one file says, once its own content is validated. */
interface ParsedFile {
  name: string;
  text: string;
  lines?: LineIndex;
  /** Top-level keys, to point at `serverName` or `policy` when two files set them. */
  keys: Map<string, YEntry>;
  homeserver?: string;
  serverName?: string;
  policy?: Policy;
  users?: YMap;
  /** Whether `groups` and `rooms` (if any) passed the schema: their names are resolved once the users are known. */
  roomsValid?: boolean;
}

const PARSE_PARAMS = { reportInput: true, error: friendlyMessage } as const;

/**
 * The pure core of loadDesiredState: validates and merges files already read. Each file is parsed
 * once. Knowing the server's name (the admin token's), users are checked as the parser reads them
 * (see UserSink: their nodes die young); offline, once the file's serverName is known, from the tree.
 */
export function parseDesiredState(files: DesiredFile[], options: LoadOptions = {}): DesiredState {
  const issues: PendingIssue[] = [];
  const users = new Map<string, DesiredUser>();
  const early = options.serverName === undefined ? undefined : new UserChecker(options.serverName, users, issues);
  const parsed: ParsedFile[] = [];
  for (const [index, file] of files.entries()) {
    const one = parseFile(file, index, issues, early);
    parsed.push(one);
    // Users the parser kept in the tree (a flow map `users: {…}`, or a file the library read), in their turn.
    if (early) for (const entry of one.users?.entries ?? []) early.check(one, index, entry);
  }
  if (files.length === 0) issues.push({ file: -1, offset: -1, path: [], message: "no users file to read" });

  // homeserver, serverName and policy: in a directory, only in its root file (one team's file
  // must not loosen the policy all teams share, nor name the server); else in one file at most.
  const setIn = new Map<string, number>();
  for (const [index, file] of parsed.entries()) {
    for (const key of ROOT_KEYS) {
      const entry = file.keys.get(key);
      if (!entry) continue;
      if (files[index]!.part === "member") {
        const message = `${key} may only be set in the directory's root file (${ROOT_FILES[0]}): move it there`;
        issues.push({ file: index, offset: entry.keyOffset, path: [key], message });
        continue;
      }
      const first = setIn.get(key);
      if (first === undefined) setIn.set(key, index);
      else {
        const at = positionText(parsed[first]!, parsed[first]!.keys.get(key)!.keyOffset);
        issues.push({ file: index, offset: entry.keyOffset, path: [key], message: `${key} is already set at ${at}` });
      }
    }
  }
  const pick = <K extends "homeserver" | "serverName" | "policy">(key: K) => {
    const index = setIn.get(key);
    return index === undefined ? undefined : { file: parsed[index]!, index, value: parsed[index]![key] };
  };

  const fileServer = pick("serverName");
  if (fileServer?.value !== undefined) {
    const offset = fileServer.file.keys.get("serverName")!.value.offset;
    if (options.serverName !== undefined && options.serverName !== fileServer.value) {
      issues.push({
        file: fileServer.index,
        offset,
        path: ["serverName"],
        message: `serverName "${fileServer.value}" differs from the server's "${options.serverName}"`,
      });
    }
  }
  // The server's own name when it is known: a file naming another is an error (above), and its
  // users are checked against the server they would be applied to.
  const serverName = options.serverName ?? fileServer?.value;

  const fileHomeserver = pick("homeserver");
  if (fileHomeserver?.value !== undefined && options.homeserver !== undefined) {
    if (!sameHomeserver(fileHomeserver.value, options.homeserver)) {
      issues.push({
        file: fileHomeserver.index,
        offset: fileHomeserver.file.keys.get("homeserver")!.value.offset,
        path: ["homeserver"],
        message: `the file names the homeserver ${fileHomeserver.value}, but this run's homeserver is ${options.homeserver}; the admin token is only ever sent to the homeserver given by --homeserver or SYNAPSE_URL`,
      });
    }
  }

  const checker = early ?? new UserChecker(serverName, users, issues);
  if (!early) {
    for (const [index, file] of parsed.entries()) {
      for (const entry of file.users?.entries ?? []) checker.check(file, index, entry);
    }
  }

  // Groups and rooms may be in any file; the names they use must be the users' (config/rooms.ts).
  const rooms = readRooms(
    parsed.flatMap((file, index) =>
      file.roomsValid
        ? [{ file: index, groups: file.keys.get("groups")?.value, rooms: file.keys.get("rooms")?.value }]
        : [],
    ),
    {
      users,
      userGroups: checker.userGroups,
      userIdOf: (key) => {
        const id = userIdOf(key, serverName);
        return typeof id === "string" ? id : "historical" in id ? id.historical : undefined;
      },
      add: (file, offset, path, message) => issues.push({ file, offset, path, message }),
      position: (file, offset) => position(parsed[file]!, offset),
    },
  );

  if (issues.length > 0) throw new ConfigError(resolveIssues(issues, parsed));

  const state = withSha256(
    {
      policy: pick("policy")?.value ?? { ...DEFAULT_POLICY, protected: [] },
      users,
      rooms,
      files: parsed.map((f) => f.name),
    },
    parsed,
  );
  const homeserver = pick("homeserver")?.value;
  if (homeserver !== undefined) state.homeserver = homeserver;
  if (serverName !== undefined) state.serverName = serverName;
  return state;
}

/**
 * The state with the files' hash, which only saved plans and audit logs need: computed on first
 * use (a plan of a large file need not). Made out here, so that the getter holds the texts and
 * nothing else: a closure in parseDesiredState would keep every file's tree alive with the state.
 */
function withSha256(
  state: Omit<DesiredState, "sha256">,
  files: readonly { name: string; text: string }[],
): DesiredState {
  const texts = files.map(({ name, text }) => ({ name, text }));
  let sha256: string | undefined;
  return {
    ...state,
    get sha256() {
      if (sha256 === undefined) {
        const hash = createHash("sha256");
        for (const file of texts) {
          // Names are framed with the byte length, so that no two file sets hash alike.
          hash.update(`${basename(file.name)}\n${Buffer.byteLength(file.text)}\n`).update(file.text);
        }
        sha256 = hash.digest("hex");
      }
      return sha256;
    },
  };
}

/** Whether two homeserver URLs name the same base URL (origin and path, trailing slashes aside). */
function sameHomeserver(a: string, b: string): boolean {
  const base = (raw: string) => {
    try {
      const url = new URL(raw);
      return url.origin + url.pathname.replace(/\/+$/, "");
    } catch {
      return raw;
    }
  };
  return base(a) === base(b);
}

/**
 * Parses one file and validates everything but its users, unless a checker is given: then the
 * users the fast parser streams are checked as they are read, and the others (`parsed.users`) are
 * left to the caller.
 */
function parseFile(
  file: { name: string; text: string },
  index: number,
  issues: PendingIssue[],
  checker?: UserChecker,
): ParsedFile {
  const parsed: ParsedFile = { name: file.name, text: file.text, keys: new Map() };
  const add = (offset: number, path: Path, message: string) => issues.push({ file: index, offset, path, message });

  const mark = checker?.mark();
  const tree = parseYaml(
    file.text,
    checker && ((entry, line, column) => checker.check(parsed, index, entry, { file: file.name, line, column })),
  );
  // The fast parser gave up half way and the library read the file: what was checked of its users
  // is forgotten, and they are checked again from the library's tree (or not at all, if it has errors).
  if (mark && !tree.usersStreamed) checker!.undo(mark);
  if (tree.lineStarts) parsed.lines = new LineIndex(tree.lineStarts);
  for (const problem of tree.problems) add(problem.offset, [], problem.message);
  if (tree.problems.length > 0) return parsed;
  // `---` alone is a null document: as empty as an empty file.
  if (tree.root === null || (tree.root.kind === "scalar" && tree.root.value === null)) {
    add(0, [], "the file is empty: it needs at least `version: 1` and `users:`");
    return parsed;
  }
  if (tree.root.kind !== "map") {
    add(tree.root.offset, [], "expected a map (version, users, …) at the top level of the file");
    return parsed;
  }
  const root = tree.root;

  // The top level without the users, which are validated one by one later.
  const top: Record<string, unknown> = {};
  const toJS = new JsConverter();
  for (const entry of root.entries) {
    const first = parsed.keys.get(entry.key);
    if (first) add(entry.keyOffset, [entry.key], duplicateMessage(entry, first, parsed));
    parsed.keys.set(entry.key, entry);
    if (entry.key === "users" && entry.value.kind === "map") {
      // Already checked, if they were streamed.
      if (!tree.usersStreamed) parsed.users = entry.value;
      top.users = {};
    } else {
      setProperty(top, entry.key, toJS.convert(entry.value, [entry.key]));
      for (const dup of toJS.duplicates)
        add(dup.entry.keyOffset, dup.path, duplicateMessage(dup.entry, dup.first, parsed));
    }
  }
  const result = usersFileSchema.safeParse(top, PARSE_PARAMS);
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const flat of flattenIssue(issue)) add(locate(root, flat.path, flat.atKey), flat.path, flat.message);
    }
    // The keys that are valid are still used, to check the users against serverName.
    const valid = (key: string) => !result.error.issues.some((i) => i.path[0] === key);
    if (!valid("users")) parsed.users = undefined;
    if (valid("serverName")) parsed.serverName = top.serverName as string | undefined;
    return parsed;
  }
  parsed.homeserver = result.data.homeserver;
  parsed.serverName = result.data.serverName;
  parsed.roomsValid = true;
  parsed.policy = result.data.policy;
  return parsed;
}

/** How far a UserChecker has got: see UserChecker.undo. */
interface CheckMark {
  groups: number;
  users: number;
  invalid: number;
  localparts: number;
  issues: number;
}

/**
 * Validates users one by one (one zod parse of the whole file is not faster) and adds the valid
 * ones to `users`, in file order; the first declaration of a user wins, later ones are issues.
 */
class UserChecker {
  private readonly toJS = new JsConverter();
  /** Users declared with a valid key but an invalid value: still declared, for duplicates. */
  private readonly invalid = new Map<string, SourcePosition>();
  /** `groups:` written on users (resolved with the file's groups, by config/rooms.ts). */
  readonly userGroups: UserGroups[] = [];
  /** Offline only: the first full ID declared per localpart, which a localpart key conflicts with. */
  private readonly fullIdByLocalpart = new Map<string, SourcePosition>();

  private readonly serverValid: boolean;

  constructor(
    private readonly serverName: string | undefined,
    private readonly users: Map<string, DesiredUser>,
    private readonly issues: PendingIssue[],
  ) {
    this.serverValid = serverNameOf(`@x:${serverName ?? UNKNOWN_SERVER}`) !== undefined;
  }

  /** `source`: where the key is, when the parser has it at hand. */
  check(file: ParsedFile, index: number, entry: YEntry, source = position(file, entry.keyOffset)): void {
    const before = this.issues.length;
    const id = userIdOf(entry.key, this.serverName, this.serverValid);
    if (typeof id !== "string" && "message" in id) this.add(index, entry.keyOffset, ["users", entry.key], id.message);
    const userId = typeof id === "string" ? id : "historical" in id ? id.historical : "";
    const user = this.validate(file, index, entry, userId, source);
    if (userId === "") return;
    if (user && typeof id !== "string") user.historical = true;

    const first = this.users.get(userId)?.source ?? this.invalid.get(userId) ?? this.offlineConflict(userId, entry.key);
    if (first) {
      const name = this.serverName === undefined ? entry.key : userId;
      const message = `${name} is already declared at ${first.file}:${first.line}:${first.column}`;
      this.add(index, entry.keyOffset, ["users", entry.key], message);
      return;
    }
    if (user && this.issues.length === before) {
      this.users.set(userId, user);
      this.noteGroups(index, entry, userId);
    } else this.invalid.set(userId, source);
    if (this.serverName === undefined && entry.key.startsWith("@")) {
      const localpart = localpartOf(userId);
      if (!this.fullIdByLocalpart.has(localpart)) this.fullIdByLocalpart.set(localpart, source);
    }
  }

  mark(): CheckMark {
    return {
      groups: this.userGroups.length,
      users: this.users.size,
      invalid: this.invalid.size,
      localparts: this.fullIdByLocalpart.size,
      issues: this.issues.length,
    };
  }

  /** Forgets every user checked since `mark` was taken, and the issues found meanwhile (only the checker adds any). */
  undo(mark: CheckMark): void {
    this.userGroups.length = mark.groups;
    truncate(this.users, mark.users);
    truncate(this.invalid, mark.invalid);
    truncate(this.fullIdByLocalpart, mark.localparts);
    this.issues.length = mark.issues;
  }

  private add(file: number, offset: number, path: Path, message: string): void {
    this.issues.push({ file, offset, path, message });
  }

  /** The groups a user's map names (`groups: [engineering]`), with where each is written. */
  private noteGroups(file: number, entry: YEntry, userId: string): void {
    if (entry.value.kind !== "map") return;
    const list = entry.value.entries.findLast((e) => e.key === "groups")?.value;
    if (list?.kind !== "seq") return;
    for (const [i, item] of list.items.entries()) {
      if (item.kind === "scalar" && typeof item.value === "string") {
        this.userGroups.push({
          file,
          userId,
          group: item.value,
          offset: item.offset,
          path: ["users", entry.key, "groups", i],
        });
      }
    }
  }

  /** Without a server name, `bob` and `@bob:anything` may be the same user: that is a conflict. */
  private offlineConflict(userId: string, key: string): SourcePosition | undefined {
    if (this.serverName !== undefined) return undefined;
    if (!key.startsWith("@")) return this.fullIdByLocalpart.get(key);
    const localKeyed = `@${localpartOf(userId)}:${UNKNOWN_SERVER}`;
    return this.users.get(localKeyed)?.source ?? this.invalid.get(localKeyed);
  }

  /**
   * The user's `deactivateOn` / `eraseOn`: undefined when there are none, null after reporting a
   * contradiction — a date that the state already passed, or an erasure before the deactivation.
   */
  private schedule(index: number, entry: YEntry, data: UserMap): Schedule | undefined | null {
    const { deactivateOn, eraseOn } = data;
    if (deactivateOn === undefined && eraseOn === undefined) return undefined;
    const base: Path = ["users", entry.key];
    const at = (key: string) => locate(entry.value, [key], true);
    const problems: [key: string, message: string][] = [];
    if (data.state === "erased") {
      for (const key of ["deactivateOn", "eraseOn"] as const) {
        if (data[key] !== undefined)
          problems.push([key, `${entry.key} is erased already: nothing is left to schedule (remove ${key})`]);
      }
    } else if (data.state === "deactivated" && deactivateOn !== undefined) {
      problems.push([
        "deactivateOn",
        `${entry.key} is deactivated already: remove deactivateOn, or write state: active to deactivate it on that date`,
      ]);
    }
    const schedule: Schedule = {};
    if (deactivateOn !== undefined) schedule.deactivate = scheduledDate(deactivateOn);
    if (eraseOn !== undefined) schedule.erase = scheduledDate(eraseOn);
    if (schedule.deactivate && schedule.erase && schedule.erase.at < schedule.deactivate.at) {
      problems.push([
        "eraseOn",
        `eraseOn ${eraseOn} is before deactivateOn ${deactivateOn}: an account is erased on or after its deactivation`,
      ]);
    }
    for (const [key, message] of problems) this.add(index, at(key), [...base, key], message);
    return problems.length > 0 ? null : schedule;
  }

  /** The user the entry's value describes, or undefined after reporting why it is invalid. */
  private validate(
    file: ParsedFile,
    index: number,
    entry: YEntry,
    userId: string,
    source: SourcePosition,
  ): DesiredUser | undefined {
    // The forms most users are written in are read straight from the tree: no plain values, no zod.
    const number = this.users.size;
    const simple = simpleUser(entry.value, userId, number, source);
    if (simple) return simple;
    const base: Path = ["users", entry.key];
    const value = this.toJS.convert(entry.value, base);
    for (const dup of this.toJS.duplicates) {
      this.add(index, dup.entry.keyOffset, dup.path, duplicateMessage(dup.entry, dup.first, file));
    }
    // The union's branch is picked by type here: quicker, and its errors are the ones to show.
    const schema = isPlainMap(value) ? userMapSchema : userValueSchema;
    const result = schema.safeParse(value, PARSE_PARAMS);
    if (!result.success) {
      for (const issue of result.error.issues) {
        for (const flat of flattenIssue(issue)) {
          this.add(index, locate(entry.value, flat.path, flat.atKey), [...base, ...flat.path], flat.message);
        }
      }
      return undefined;
    }
    const data = result.data as UserMap;

    if (data.state !== "active") {
      const attributes = ACTIVE_ONLY.filter((attribute) => data[attribute] !== undefined);
      for (const attribute of attributes) {
        const message = `attributes are only allowed on active users (${entry.key} is ${data.state})`;
        this.add(index, locate(entry.value, [attribute], true), [...base, attribute], message);
      }
      if (attributes.length > 0) return undefined;
    }
    const schedule = this.schedule(index, entry, data);
    if (schedule === null) return undefined;
    // A user the file erases today or on a date (eraseOn) may say how completely.
    if (data.erasure !== undefined && data.state !== "erased" && data.eraseOn === undefined) {
      const message = `erasure is only allowed on erased users or with eraseOn (${entry.key} is ${data.state})`;
      this.add(index, locate(entry.value, ["erasure"], true), [...base, "erasure"], message);
      return undefined;
    }
    const user: DesiredUser = {
      userId,
      index: number,
      state: data.state,
      allowReactivation: data.allowReactivation ?? false,
      source,
    };
    if (schedule) user.schedule = schedule;
    for (const attribute of ATTRIBUTES) {
      if (data[attribute] !== undefined) (user as Record<Attribute, unknown>)[attribute] = data[attribute];
    }
    if (data.erasure !== undefined) user.erasure = data.erasure;
    // Synapse stores email addresses lower-cased: compare them so.
    if (data.emails !== undefined) user.emails = data.emails.map((email) => email.toLowerCase());
    // The schema's refinement guarantees exactly one of env and file.
    if (data.password !== undefined) {
      user.password = data.password.env !== undefined ? { env: data.password.env } : { file: data.password.file! };
    }
    return user;
  }
}

function isAccountState(value: unknown): value is AccountState {
  return value === "active" || value === "deactivated" || value === "erased";
}

/**
 * The user, when its value is in one of the forms nearly every user is written in — a state
 * (`bob: deactivated`), or a map of `state`, `displayname`, `admin`, `locked` and
 * `allowReactivation` with values of the right types, each key once and attributes only on an
 * active user — else undefined, and the general path (plain values, zod) reads it and words any
 * error. Where it answers, it gives what that path would (test/unit/load-fast.test.ts checks).
 */
function simpleUser(node: YNode, userId: string, index: number, source: SourcePosition): DesiredUser | undefined {
  if (node.kind === "scalar") {
    return isAccountState(node.value)
      ? { userId, index, state: node.value, allowReactivation: false, source }
      : undefined;
  }
  if (node.kind !== "map") return undefined;
  let state: AccountState | undefined;
  let displayname: string | undefined;
  let admin: boolean | undefined;
  let locked: boolean | undefined;
  let allowReactivation: boolean | undefined;
  for (const { key, value: child } of node.entries) {
    if (child.kind !== "scalar") return undefined;
    const { value } = child;
    // A key given twice, or a value of another type: left to the general path, which says why.
    if (key === "state" && state === undefined && isAccountState(value)) state = value;
    else if (key === "displayname" && displayname === undefined && typeof value === "string") displayname = value;
    else if (key === "admin" && admin === undefined && typeof value === "boolean") admin = value;
    else if (key === "locked" && locked === undefined && typeof value === "boolean") locked = value;
    else if (key === "allowReactivation" && allowReactivation === undefined && typeof value === "boolean")
      allowReactivation = value;
    else return undefined;
  }
  state ??= "active";
  // Attributes on a user that is not active are an error, which the general path reports.
  const attributes = displayname !== undefined || admin !== undefined || locked !== undefined;
  if (state !== "active" && (attributes || allowReactivation !== undefined)) return undefined;
  // With the display name in the literal, the common shapes keep every property in the object
  // itself (one added later costs a separate property array per user).
  const user: DesiredUser =
    displayname === undefined
      ? { userId, index, state, allowReactivation: allowReactivation ?? false, source }
      : { userId, index, state, allowReactivation: allowReactivation ?? false, source, displayname };
  if (admin !== undefined) user.admin = admin;
  if (locked !== undefined) user.locked = locked;
  return user;
}

/** Deletes the entries of `map` after its first `size`. */
function truncate(map: Map<string, unknown>, size: number): void {
  if (map.size === size) return;
  let kept = 0;
  for (const key of [...map.keys()]) if (kept++ >= size) map.delete(key);
}

function isPlainMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The full user ID a key of `users` stands for, or why it is invalid. `serverValid`: whether
 * `@x:<serverName>` is a valid user ID; then a valid localpart makes a valid ID exactly when it is
 * not too long, and the full check (a regular expression, for every user) is not needed.
 *
 * A localpart in today's grammar gives the ID itself (nearly every user: no object is made); a
 * historical one (any printable ASCII but `:`, as older servers let accounts be named, e.g.
 * `Old.Admin`) gives `{ historical }`: such an account can be managed, and the planner refuses to
 * create it.
 */
function userIdOf(
  key: string,
  serverName: string | undefined,
  serverValid = false,
): string | { historical: string } | { message: string } {
  if (!key.startsWith("@")) {
    const current = isValidNewLocalpart(key);
    if (!current && !isHistoricalLocalpart(key)) return { message: invalidLocalpart(key) };
    // Joined rather than concatenated: one flat string, not three linked pieces that the map (and
    // the heap, for each of a million users) would keep.
    const userId = ["@", key, ":", serverName ?? UNKNOWN_SERVER].join("");
    const valid = serverValid ? userId.length <= MAX_USER_ID_LENGTH : serverNameOf(userId) !== undefined;
    if (!valid) return { message: `${userId} is longer than 255 characters` };
    return current ? userId : { historical: userId };
  }
  const server = serverNameOf(key);
  if (server === undefined) {
    const at = key.indexOf(":");
    if (at > 1 && !isHistoricalLocalpart(key.slice(1, at))) return { message: invalidLocalpart(key.slice(1, at)) };
    return { message: `invalid user ID "${key}": write @localpart:server, or the localpart alone` };
  }
  if (serverName !== undefined && server !== serverName)
    return { message: `${key} is not on this server (${serverName})` };
  return isValidNewLocalpart(localpartOf(key)) ? key : { historical: key };
}

function invalidLocalpart(localpart: string): string {
  return `invalid localpart "${localpart}": use ${NEW_LOCALPART_CHARACTERS} (an existing account's may also hold other printable ASCII, but no space or ":")`;
}

/**
 * Turns a tree into plain values for zod, noting duplicate keys on the way (the last one wins, as
 * in the `yaml` library). The path is kept on a stack and only copied for a duplicate: this runs
 * over every user.
 */
class JsConverter {
  duplicates: { entry: YEntry; first: YEntry; path: Path }[] = [];
  private readonly stack: Path = [];

  convert(node: YNode, base: Path): unknown {
    if (this.duplicates.length > 0) this.duplicates = [];
    this.stack.length = 0;
    this.stack.push(...base);
    return this.value(node);
  }

  private value(node: YNode): unknown {
    if (node.kind === "scalar") return node.value;
    const { stack } = this;
    if (node.kind === "seq") {
      const out: unknown[] = new Array(node.items.length);
      for (let i = 0; i < node.items.length; i++) {
        stack.push(i);
        out[i] = this.value(node.items[i]!);
        stack.pop();
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const entry of node.entries) {
      stack.push(entry.key);
      if (Object.hasOwn(out, entry.key)) {
        const first = node.entries.find((e) => e.key === entry.key)!;
        this.duplicates.push({ entry, first, path: [...stack] });
      }
      setProperty(out, entry.key, this.value(entry.value));
      stack.pop();
    }
    return out;
  }
}

/** `__proto__` is a valid localpart and key: define it rather than set the object's prototype. */
function setProperty(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

function duplicateMessage(entry: YEntry, first: YEntry, file: ParsedFile): string {
  return `duplicate key "${entry.key}" (first at ${positionText(file, first.keyOffset)})`;
}

/**
 * The offset a zod issue path points at, from `node`: the node itself, or with `atKey` the key
 * naming it (unknown keys); a missing key points at the map that lacks it.
 */
function locate(node: YNode, path: PropertyKey[], atKey = false): number {
  let current = node;
  for (const [i, segment] of path.entries()) {
    if (current.kind === "map") {
      // The last entry wins, as in the values given to zod.
      const entry = current.entries.findLast((e) => e.key === segment);
      if (!entry) return current.offset;
      if (atKey && i === path.length - 1) return entry.keyOffset;
      current = entry.value;
    } else if (current.kind === "seq" && typeof segment === "number" && current.items[segment]) {
      current = current.items[segment];
    } else {
      return current.offset;
    }
  }
  return current.offset;
}

interface FlatIssue {
  path: PropertyKey[];
  message: string;
  atKey: boolean;
}

/**
 * zod issues as users should read them: one issue per unknown key (at that key), and for a
 * failed union the errors of the branch the value was meant for (the one of its type).
 */
function flattenIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[] = []): FlatIssue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key "${key}"`, atKey: true }));
  }
  if (issue.code === "invalid_union") {
    const meant = issue.errors.filter((branch) => !branch.some((e) => isTypeMismatch(e, issue.input)));
    if (meant.length === 1) return meant[0]!.flatMap((e) => flattenIssue(e, path));
  }
  return [{ path, message: issue.message, atKey: false }];
}

/** Whether a union branch failed because the input is not of its type at all. */
function isTypeMismatch(issue: z.core.$ZodIssue, input: unknown): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === "invalid_type") return true;
  return issue.code === "invalid_value" && !issue.values.some((v) => typeof v === typeof input);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  boolean: "a boolean (true or false)",
  number: "a number",
  int: "an integer",
  object: "a map",
  array: "a list",
  record: "a map",
};

/** The message of every zod issue that its schema does not word itself. */
function friendlyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  // Values from YAML are never undefined: undefined is a missing key.
  if (issue.input === undefined && issue.code !== "unrecognized_keys") return "is required";
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      const quote =
        issue.expected === "string" && (typeof issue.input === "number" || typeof issue.input === "boolean")
          ? " (quote it to make it a string)"
          : "";
      return `expected ${expected}, got ${describeValue(issue.input)}${quote}`;
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.join(", ")}`;
    case "too_small":
      if (issue.origin === "string" && Number(issue.minimum) === 1) return "must not be empty";
      return `must be at least ${issue.minimum}`;
    case "too_big":
      return `must be at most ${issue.maximum}`;
    case "invalid_format":
      return `is not a valid ${issue.format}`;
    default:
      return undefined;
  }
}

/** Line starts of a text, to turn offsets into lines and columns (only for what is reported). */
export class LineIndex {
  constructor(private readonly starts: ArrayLike<number>) {}

  static of(text: string): LineIndex {
    const starts = [0];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    return new LineIndex(starts);
  }

  position(file: string, offset: number): SourcePosition {
    const starts = this.starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - starts[low]! + 1 };
  }
}

function position(file: ParsedFile, offset: number): SourcePosition {
  file.lines ??= LineIndex.of(file.text);
  return file.lines.position(file.name, offset);
}

function positionText(file: ParsedFile, offset: number): string {
  const { line, column } = position(file, offset);
  return `${file.name}:${line}:${column}`;
}

function formatPath(path: Path): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** Issues in file order, then in the order of the text. */
function resolveIssues(pending: PendingIssue[], files: ParsedFile[]): ConfigIssue[] {
  const sorted = pending
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => a.issue.file - b.issue.file || a.issue.offset - b.issue.offset || a.order - b.order);
  return sorted.map(({ issue }) => {
    const file = files[issue.file];
    const where =
      file && issue.offset >= 0 ? position(file, issue.offset) : { file: file?.name ?? "", line: 0, column: 0 };
    return { ...where, path: formatPath(issue.path), message: issue.message };
  });
}
