// `drift --format patch`: the users file edited to match the server, as a unified diff. The edits
// are made on the `yaml` library's Document (so every value written is serialised by the library,
// never concatenated), and only the lines they touch are taken from its output (minimalText), so
// that the rest of the file — comments, blank lines, quoting, odd spacing — stays as it was.
import { isDeepStrictEqual } from "node:util";
import { diffArrays, FILE_HEADERS_ONLY, formatPatch, structuredPatch } from "diff";
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parse,
  parseDocument,
  Scalar,
  visit,
  YAMLMap,
} from "yaml";
import type { AccountState } from "../domain/account.js";
import { ATTRIBUTE_SPECS, type Attribute, type AttributeValue } from "../domain/attributes.js";
import type { DriftClass, DriftReport } from "../plan/drift.js";
import { quoteMergeKey, userKey } from "./export.js";
import { ACTIVE_ONLY, type DesiredFile, LineIndex, parseDesiredState } from "./load.js";
import type { DesiredState } from "./types.js";

/** A file of the configuration the patch changes: its text as read, and as it would be. */
export interface PatchedFile {
  name: string;
  before: string;
  after: string;
}

/** Drift the file is not edited to take, and why (the way back is `apply`). */
export interface DriftLeft {
  userId: string;
  class: DriftClass;
  reason: string;
}

export interface DriftPatch {
  /** Only the files that change, in the configuration's order. */
  files: PatchedFile[];
  /** The unified diff of those files (empty when none changes); names as the loader has them. */
  diff: string;
  /** Drift items the patch takes into the file. */
  accepted: number;
  /** Drift items it leaves: an erased user stays erased in the file (an erasure cannot be undone). */
  left: DriftLeft[];
  /** What a reviewer should know about an accepted item (an attribute no longer managed). */
  notes: { userId: string; text: string }[];
}

/** The options the loader parses with (src/config/yamlTree.ts): keys are names, duplicates are its own check. */
const PARSE = { uniqueKeys: false, stringKeys: true, prettyErrors: false, logLevel: "error" } as const;

/**
 * The users file (or directory) edited so that `drift` against the same server reports nothing,
 * for each kind of drift:
 * - `reactivated`, `deactivated-out-of-band`, `erasure`: the user's state becomes the server's
 *   (attributes, password and allowReactivation dropped from a user that is no longer active) —
 *   except that an erased user stays erased in the file: the server lost the erasure (a
 *   reactivation un-erases in Synapse), the file keeps it, and `apply` erases again. Left, with why.
 * - `attributes`: each differing managed attribute takes the server's value. A value the file
 *   cannot hold (an avatar the server cleared: the file has no "no avatar") is taken out of the
 *   file, so the attribute is no longer managed, and a note says so.
 * - `missing`: the user's entry is removed (the server has no such account).
 * - `unmanaged`: the user is added by its ID and state only (`bob: active`), never its attributes
 *   (no personal data of a user the file does not manage goes into the patch), to the single file, or to a directory's
 *   root file (the administrators' own file, whose code owners place it in a team's file), or its
 *   first file when it has none; in order where the file's users are sorted, else at the end.
 *
 * Each user is edited in the file that declares it. Pure: files in, texts out; the result is
 * checked to load again (a patch that would not load is a bug, and refused).
 */
export function driftPatch(files: DesiredFile[], desired: DesiredState, drift: DriftReport): DriftPatch {
  const serverName = drift.serverName;
  const edits = new Map<string, FileEdit>();
  const editOf = (name: string): FileEdit => {
    let edit = edits.get(name);
    if (!edit) {
      const file = files.find((f) => f.name === name);
      if (!file) throw new Error(`bug: ${name} is not a file of the configuration`);
      edit = new FileEdit(file.text, serverName);
      edits.set(name, edit);
    }
    return edit;
  };
  const left: DriftLeft[] = [];
  const notes: DriftPatch["notes"] = [];
  let accepted = 0;

  for (const item of drift.items) {
    const keep = (reason: string) => left.push({ userId: item.userId, class: item.class, reason });
    if (item.room !== undefined) {
      // Room drift (a member left, joined or was promoted by hand): the patch edits users only.
      keep("a room's membership or power level: apply restores it, or edit the room in the file");
      continue;
    }
    if (item.class === "backends-disagree" || item.class === "synapse-only") {
      // Between MAS and Synapse, not between the server and the file: nothing the file could say ends it.
      keep(`${item.actual}: a matter between MAS and Synapse that the file cannot settle`);
      continue;
    }
    if (item.class === "unmanaged") {
      // The first file: a directory's root file where it has one (the loader reads it first).
      const target = files[0];
      if (!target) throw new Error("bug: no users file");
      // By its ID and state only: none of an unmanaged user's personal data goes into the patch (nor
      // the drift issue that shows it); its attributes stay unmanaged until someone writes them.
      editOf(target.name).add(userKey(item.userId, serverName));
      accepted++;
      continue;
    }
    const want = desired.users.get(item.userId);
    if (!want) throw new Error(`bug: ${item.userId} drifted but is not in the file`);
    const edit = editOf(want.source.file);
    const { doc } = edit;
    const pair = edit.find(item.userId);
    if (!pair) throw new Error(`bug: ${item.userId} is not in ${want.source.file}`);
    if (item.class === "missing") edit.remove(pair);
    else if (item.class === "attributes") {
      for (const change of item.changes ?? []) {
        const note = setAttribute(doc, pair, change.attribute, change.from);
        if (note) notes.push({ userId: item.userId, text: note });
      }
    } else if (item.class === "due") {
      // Not drift from someone's hand: the file's own date came due and apply has not run since.
      keep(`${item.hint ?? "a date of the file has passed"}; to cancel it, remove the date from the file`);
      continue;
    } else if (want.state === "erased" && item.expected === "erased (complete)") {
      keep("a complete erasure is not finished on the server: apply finishes it");
      continue;
    } else if (want.state === "erased") {
      keep(
        `the file says erased and the server has it ${item.actual}: an erasure is never undone in the file; apply erases it again`,
      );
      continue;
    } else setState(doc, pair, item.actual as AccountState);
    accepted++;
  }

  const changed: PatchedFile[] = [];
  for (const file of files) {
    const edit = edits.get(file.name);
    if (!edit) continue;
    const after = edit.finish();
    if (after !== file.text) changed.push({ name: file.name, before: file.text, after });
  }
  // The patched configuration must load: a value the file cannot hold would be a bug here.
  try {
    parseDesiredState(
      files.map((f) => ({ ...f, text: changed.find((c) => c.name === f.name)?.after ?? f.text })),
      desired.serverName === undefined ? {} : { serverName: desired.serverName },
    );
  } catch (error) {
    throw new Error(`bug: the patch would not load: ${(error as Error).message}`, { cause: error });
  }
  const diff = changed
    .map((f) =>
      formatPatch(
        structuredPatch(f.name, f.name, f.before, f.after, undefined, undefined, { context: 3 }),
        FILE_HEADERS_ONLY,
      ),
    )
    .join("");
  return { files: changed, diff, accepted, left, notes };
}

/**
 * The edits of one file's document: users found by ID through one index, removals and additions
 * gathered and made once at the end (a patch may remove or add many users of a large file).
 */
class FileEdit {
  readonly #users: YAMLMap;
  readonly #byId = new Map<string, Pair<unknown, unknown>>();
  readonly #removed = new Set<Pair<unknown, unknown>>();
  readonly #added: { key: string; pair: Pair<unknown, unknown> }[] = [];

  readonly doc: Document;
  /** The original as the library writes it, before any edit (see minimalText). */
  readonly #base: string;
  readonly #options: WriteOptions;

  constructor(
    readonly original: string,
    serverName: string,
  ) {
    const doc = parseDocument(original, PARSE);
    this.doc = doc;
    this.#options = writeOptions(original);
    this.#base = doc.toString(this.#options);
    const users = doc.get("users", true);
    this.#users = isMap(users) ? users : new YAMLMap();
    if (!isMap(users)) doc.set("users", this.#users);
    for (const pair of this.#users.items) {
      const key = keyOf(pair);
      this.#byId.set(key.startsWith("@") ? key : `@${key}:${serverName}`, pair);
    }
  }

  /** The pair that declares `userId` (a localpart key on this server, or a full ID). */
  find(userId: string): Pair<unknown, unknown> | undefined {
    return this.#byId.get(userId);
  }

  remove(pair: Pair<unknown, unknown>): void {
    this.#removed.add(pair);
  }

  /** A new user, as export writes it. */
  add(key: string): void {
    const value = this.doc.createNode("active");
    this.#added.push({ key, pair: this.doc.createPair(key, value) });
  }

  /** The edited text: removals and additions made, new users in order among sorted users, else at the end. */
  finish(): string {
    const kept = this.#users.items.filter((pair) => !this.#removed.has(pair));
    const keys = kept.map(keyOf);
    const sorted = keys.every((k, i) => i === 0 || keys[i - 1]! <= k);
    const added = [...this.#added].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (!sorted) this.#users.items = [...kept, ...added.map((a) => a.pair)];
    else {
      const merged: Pair<unknown, unknown>[] = [];
      let i = 0;
      for (const [k, pair] of kept.entries()) {
        while (i < added.length && added[i]!.key < keys[k]!) merged.push(added[i++]!.pair);
        merged.push(pair);
      }
      while (i < added.length) merged.push(added[i++]!.pair);
      this.#users.items = merged;
    }
    quoteMergeKey(this.#users);
    return minimalText(this.original, this.#base, this.doc, this.#options);
  }
}

function keyOf(pair: Pair<unknown, unknown>): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

/** The user's state becomes `state`; a user that is no longer active loses what only active users carry. */
function setState(doc: Document, pair: Pair<unknown, unknown>, state: AccountState): void {
  if (isScalar(pair.value)) {
    pair.value.value = state;
    return;
  }
  if (!isMap(pair.value)) {
    pair.value = doc.createNode(state);
    return;
  }
  const map = pair.value;
  if (state !== "active") for (const key of ACTIVE_ONLY) map.delete(key);
  if (map.has("state")) map.set("state", state);
  else if (state !== "active") map.items.unshift(doc.createPair("state", state));
}

/**
 * The attribute takes the server's value (`null` and "" being "none" for text). Returns a note
 * when the file cannot hold that value and the attribute is taken out of the file instead.
 */
function setAttribute(
  doc: Document,
  pair: Pair<unknown, unknown>,
  attribute: Attribute,
  server: AttributeValue | undefined,
): string | undefined {
  const map = pair.value;
  if (!isMap(map)) throw new Error("bug: attributes drifted on a user without a map");
  const spec = ATTRIBUTE_SPECS[attribute];
  const value = spec.compare === "text" ? (server ?? "") : server;
  if (value === undefined || !spec.schema.safeParse(value).success) {
    map.delete(attribute);
    return `${attribute} is no longer managed: the server's value (${value === "" ? "none" : JSON.stringify(value)}) is not one the file can hold`;
  }
  const old = map.get(attribute, true) as Node | undefined;
  if (isScalar(old) && !Array.isArray(value)) {
    old.value = value;
    styleScalars(old);
    return undefined;
  }
  const node = doc.createNode(value) as Node;
  // A list keeps the style it was written in (`[a, b]` or one item a line), and its comments.
  if (isSeq(old) && isSeq(node)) {
    node.flow = old.flow;
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
  }
  styleScalars(node);
  map.set(attribute, node);
  return undefined;
}

/**
 * Strings that hold a line break or any other control or format character are written double
 * quoted: never a block scalar or a folded line, which a reviewer could misread. Control characters
 * are escapes there (`\n`, `\u001b`); format characters (a bidi override) are written as they are,
 * as YAML allows, and shown escaped wherever the tool prints them.
 */
function styleScalars(node: Node): void {
  const mark = (scalar: Scalar) => {
    if (typeof scalar.value === "string" && /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(scalar.value))
      scalar.type = Scalar.QUOTE_DOUBLE;
  };
  if (isScalar(node)) mark(node);
  else visit(node, { Scalar: (_key, scalar) => mark(scalar) });
}

type WriteOptions = ReturnType<typeof writeOptions>;

/** How the library writes the file: the file's own indentation, sequences indented or not, no folding. */
function writeOptions(text: string) {
  const indent = /^( +)[^\s#-]/m.exec(text)?.[1]?.length ?? 2;
  // A `- item` at the same indentation as the key that holds it: sequences are not indented.
  const flatSeq = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1- /m.test(text);
  // doubleQuotedAsJSON: a line break in a value is `\n` on one line, not a folded double-quoted line.
  return { lineWidth: 0, indent: Math.min(Math.max(indent, 1), 8), indentSeq: !flatSeq, doubleQuotedAsJSON: true };
}

/**
 * The edited document as text, changing as few lines of `original` as it can. The library writes
 * the whole file its own way (`base`: spacing, indentation, comments moved to their own line): the
 * lines of its writing that the edits did not touch are mapped back to the original's, and only
 * where an edit falls are the library's lines used. The result must mean what the edited document
 * means (parsed again and compared); otherwise, the library's whole writing is used.
 */
function minimalText(original: string, base: string, doc: Document, options: WriteOptions): string {
  const edited = doc.toString(options);
  if (base === original) return edited;
  const meaning = doc.toJS();
  const [o, b, e] = [lines(original), lines(base), lines(edited)];
  // Line by line; else each edited user's whole entry in the library's writing (its indentation
  // may differ from the original's); else the library's whole writing.
  const tries = [() => [], () => userBlocks(parseDocument(base, PARSE), base)];
  for (const blocks of tries) {
    const merged = mergeLines(o, b, e, blocks()).join("");
    if (isDeepStrictEqual(meaningOf(merged), meaning)) return merged;
  }
  return edited;
}

/** The base lines [from, to) of each user's entry (its key to the next one's), in the library's writing. */
function userBlocks(doc: Document, text: string): { from: number; to: number }[] {
  const users = doc.get("users", true);
  if (!isMap(users) || users.flow) return [];
  const index = LineIndex.of(text);
  const lineOf = (offset: number) => index.position("", offset).line - 1;
  const keys = users.items.map((p) => lineOf((p.key as Node).range?.[0] ?? 0));
  const end = lineOf(users.range?.[1] ?? text.length);
  return keys.map((from, i) => ({ from, to: Math.max(from + 1, keys[i + 1] ?? end) }));
}

/** What a text means as YAML, or undefined when it is not valid YAML (a merge that mixed indentations). */
function meaningOf(text: string): unknown {
  try {
    return parse(text, PARSE);
  } catch {
    return undefined;
  }
}

function lines(text: string): string[] {
  return text === "" ? [] : text.split(/(?<=\n)/);
}

/** One aligned stretch of two line arrays: equal, or a change of `aLen` lines into `bLen`. */
interface Stretch {
  a: number;
  aLen: number;
  b: number;
  bLen: number;
  equal: boolean;
}

/** Lines that differ only in white space: the library's respacing of a line the edit left alone. */
function sameButSpace(a: string, b: string): boolean {
  return a.replace(/\s+/g, "") === b.replace(/\s+/g, "");
}

function align(a: string[], b: string[], comparator?: (x: string, y: string) => boolean): Stretch[] {
  const out: Stretch[] = [];
  let i = 0;
  let j = 0;
  for (const change of diffArrays(a, b, comparator ? { comparator } : {})) {
    const n = change.count ?? change.value.length;
    if (!change.added && !change.removed) {
      out.push({ a: i, aLen: n, b: j, bLen: n, equal: true });
      i += n;
      j += n;
      continue;
    }
    const last = out.at(-1);
    const stretch = last && !last.equal && last.a + last.aLen === i && last.b + last.bLen === j ? last : undefined;
    const s = stretch ?? { a: i, aLen: 0, b: j, bLen: 0, equal: false };
    if (!stretch) out.push(s);
    if (change.removed) {
      s.aLen += n;
      i += n;
    } else {
      s.bLen += n;
      j += n;
    }
  }
  return out;
}

/**
 * A three-way merge over `base` (the original as the library writes it): the original's lines
 * wherever the edit left base alone, the edited lines where it did not. Stretches that change a
 * number of lines into another number cannot be matched line by line: they are merged whole.
 */
function mergeLines(
  original: string[],
  base: string[],
  edited: string[],
  blocks: { from: number; to: number }[],
): string[] {
  const n = base.length;
  // Per base line: its original line (or -1 when it has none, or is in a group), and its edited one.
  const orig = new Array<number>(n).fill(-1);
  const edit = new Array<number>(n).fill(-1);
  const touched = new Array<boolean>(n).fill(false);
  // Lines at a base boundary: the original's that the library dropped, the edit's inserted there.
  const dropped = new Map<number, string[]>();
  const inserted = new Map<number, string[]>();
  // Groups of base lines [from, to) to be taken whole, with their original and edited lines.
  const groups: { from: number; to: number }[] = [];
  const origGroup = new Map<number, { from: number; to: number; lines: string[] }>();
  const editGroup = new Map<number, { from: number; to: number; lines: string[] }>();

  for (const s of align(original, base, sameButSpace)) {
    if (s.bLen === 0) dropped.set(s.b, original.slice(s.a, s.a + s.aLen));
    else if (s.aLen === s.bLen) for (let k = 0; k < s.bLen; k++) orig[s.b + k] = s.a + k;
    else if (s.aLen > 0) {
      groups.push({ from: s.b, to: s.b + s.bLen });
      origGroup.set(s.b, { from: s.b, to: s.b + s.bLen, lines: original.slice(s.a, s.a + s.aLen) });
    }
  }
  for (const s of align(base, edited)) {
    if (s.aLen === 0) {
      inserted.set(s.a, edited.slice(s.b, s.b + s.bLen));
      continue;
    }
    for (let k = 0; k < s.aLen; k++) touched[s.a + k] = !s.equal;
    if (s.aLen === s.bLen) for (let k = 0; k < s.aLen; k++) edit[s.a + k] = s.b + k;
    else if (s.bLen > 0) {
      groups.push({ from: s.a, to: s.a + s.aLen });
      editGroup.set(s.a, { from: s.a, to: s.a + s.aLen, lines: edited.slice(s.b, s.b + s.bLen) });
    }
  }
  // An edited user's entry is taken whole, when asked.
  for (const block of blocks) {
    if (touched.slice(block.from, block.to).includes(true)) groups.push(block);
  }
  // Units: single lines, or overlapping groups merged.
  groups.sort((x, y) => x.from - y.from);
  const unitEnd = new Map<number, number>();
  let last: { from: number; to: number } | undefined;
  for (const g of groups) {
    if (last && g.from < last.to) last.to = Math.max(last.to, g.to);
    else {
      if (last) unitEnd.set(last.from, last.to);
      last = { ...g };
    }
  }
  if (last) unitEnd.set(last.from, last.to);

  const out: string[] = [];
  const emitLines = (from: number, to: number, useEdited: boolean) => {
    for (let i = from; i < to; ) {
      if (i > from) {
        if (!useEdited) out.push(...(dropped.get(i) ?? []));
        if (useEdited) out.push(...(inserted.get(i) ?? []));
      }
      const group = (useEdited ? editGroup : origGroup).get(i);
      if (group) {
        out.push(...group.lines);
        i = group.to;
        continue;
      }
      const index = useEdited ? edit[i]! : orig[i]!;
      if (index >= 0) out.push(((useEdited ? edited : original) as string[])[index]!);
      i++;
    }
  };
  for (let i = 0; i <= n; ) {
    out.push(...(dropped.get(i) ?? []), ...(inserted.get(i) ?? []));
    if (i === n) break;
    const end = unitEnd.get(i) ?? i + 1;
    let isEdited = false;
    for (let k = i; k < end; k++) if (touched[k] || (k > i && inserted.has(k))) isEdited = true;
    emitLines(i, end, isEdited);
    i = end;
  }
  return out;
}
