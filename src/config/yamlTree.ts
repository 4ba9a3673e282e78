import { isAlias, isMap, isScalar, isSeq, type Node, parseDocument, type YAMLParseError } from "yaml";

/**
 * A YAML document reduced to what the loader needs: plain values and the offset of every node,
 * so that any issue can be pointed at. Both parsers below produce this same tree.
 */
export type YNode = YMap | YSeq | YScalar;
export interface YScalar {
  kind: "scalar";
  offset: number;
  value: unknown;
}
export interface YMap {
  kind: "map";
  offset: number;
  entries: YEntry[];
}
export interface YEntry {
  /** Keys are always strings, as written (`123:` is "123", `true:` is "true"): they are names. */
  key: string;
  keyOffset: number;
  value: YNode;
}
export interface YSeq {
  kind: "seq";
  offset: number;
  items: YNode[];
}

export interface YamlProblem {
  offset: number;
  message: string;
}

/** `root` is null for an empty document (nothing but comments). */
export interface YamlTree {
  root: YNode | null;
  problems: YamlProblem[];
  /** The offset of each line, when the parser has them at hand. */
  lineStarts?: Int32Array;
  /** The entries of the top-level `users` map went to `onUser` as they were read: that map is empty here. */
  usersStreamed?: boolean;
}

/**
 * Called with each entry of the top-level `users` map as soon as it is read, with the line and
 * column of its key, instead of keeping it in the tree: a large file's users are then checked while
 * it is parsed, and their nodes are short-lived. Only the fast parser streams; if it gives up half
 * way (the library then reads the whole file), the tree says `usersStreamed` false, and the entries
 * already passed on must be dropped.
 */
export type UserSink = (entry: YEntry, line: number, column: number) => void;

/** More expanded aliases than this is taken for an alias bomb ("billion laughs"). */
const MAX_ALIAS_COUNT = 100;
/** A users file needs 5 levels; deeper documents are refused before recursion could overflow. */
const MAX_DEPTH = 50;

/**
 * Parses YAML text. The `yaml` library is exact but slow (about 5 s for a 100,000-user file on a
 * small machine), so the common shape of a users file goes through `parseYamlFast` first; anything
 * it is not sure about, including every error, goes to the library, which then has the last word.
 */
export function parseYaml(text: string, onUser?: UserSink): YamlTree {
  return parseFast(text, onUser) ?? parseYamlWithLibrary(text);
}

export function parseYamlWithLibrary(text: string): YamlTree {
  try {
    return parseWithLibrary(text);
  } catch (error) {
    // Not expected (the library reports errors rather than throwing), but never a crash.
    return { root: null, problems: [{ offset: 0, message: `cannot read this YAML: ${(error as Error).message}` }] };
  }
}

function parseWithLibrary(text: string): YamlTree {
  // uniqueKeys off: the library checks it in O(n²) (minutes for 100,000 users); the loader checks
  // duplicates itself. stringKeys: keys are names, `123:` must not become the number 123.
  // logLevel "error": no warnings on the console, but "silent" would also drop the error for a
  // second document in the file.
  const doc = parseDocument(text, { uniqueKeys: false, stringKeys: true, prettyErrors: false, logLevel: "error" });
  const problems: YamlProblem[] = doc.errors.map((e) => ({ offset: e.pos[0], message: explain(e) }));
  if (problems.length > 0) return { root: null, problems };

  const anchors = new Map<string, YNode>();
  let firstAlias: number | undefined;
  let depth = 0;
  const convert = (node: unknown): YNode => {
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      firstAlias ??= offset;
      const target = anchors.get(node.source);
      if (target) return target;
      problems.push({ offset, message: `alias *${node.source} has no anchor &${node.source} before it` });
      return { kind: "scalar", offset, value: null };
    }
    let converted: YNode;
    const offset = (node as Node | null)?.range?.[0] ?? 0;
    if ((isMap(node) || isSeq(node)) && depth >= MAX_DEPTH) {
      problems.push({ offset, message: `nested too deeply (more than ${MAX_DEPTH} levels)` });
      return { kind: "scalar", offset, value: null };
    }
    depth++;
    if (isMap(node)) {
      const entries = node.items.map((pair) => {
        const key = pair.key as Node | null;
        const keyOffset = key?.range?.[0] ?? offset;
        // Keys that are not scalars (`? [a, b]`) are kept as written, to be reported as unknown.
        const name = isScalar(key) ? String(key.value ?? "") : text.slice(keyOffset, key?.range?.[1] ?? keyOffset);
        return { key: name, keyOffset, value: convertValue(pair.value, keyOffset) };
      });
      converted = { kind: "map", offset, entries };
    } else if (isSeq(node)) {
      converted = { kind: "seq", offset, items: node.items.map((item) => convertValue(item, offset)) };
    } else {
      converted = { kind: "scalar", offset, value: isScalar(node) ? node.value : null };
    }
    depth--;
    // Registered after its content: an alias inside its own anchor would make a cycle.
    const anchor = (node as Node | null)?.anchor;
    if (anchor) anchors.set(anchor, converted);
    return converted;
  };
  const convertValue = (node: unknown, fallbackOffset: number): YNode =>
    node == null ? { kind: "scalar", offset: fallbackOffset, value: null } : convert(node);

  const root = doc.contents == null ? null : convert(doc.contents);
  if (firstAlias !== undefined && problems.length === 0) {
    // The tree shares aliased nodes, but the JS values (and zod) would expand them: let the
    // library's own counter refuse an alias bomb.
    try {
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const reason = (error as Error).message;
      problems.push({ offset: firstAlias, message: `refused: too many aliases expand to too much data (${reason})` });
    }
  }
  return problems.length > 0 ? { root: null, problems } : { root, problems };
}

/** The library's message, with what to do for the mistakes a users file invites. */
function explain(error: YAMLParseError): string {
  if (error.code === "MULTIPLE_DOCS") {
    return "a second YAML document (after ---): a users file holds one; split it into files in a directory";
  }
  if (error.code === "BAD_SCALAR_START" && error.message.endsWith("@")) {
    return `${error.message}: quote full user IDs, e.g. "@alice:example.org": active`;
  }
  // The library reports a stack overflow (from absurdly deep nesting) as an error: say why.
  if (error.message.includes("call stack")) return `nested too deeply (more than ${MAX_DEPTH} levels)`;
  return error.message;
}

/** Thrown (and caught) when the fast parser meets something it leaves to the library. */
const BAIL = new Error("not in the fast parser's subset");

// Characters the fast parser does not handle anywhere: tabs, controls, BOM, odd line breaks.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNUSUAL_CHARS = /[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\ufeff\u2028\u2029]|\r(?!\n)/;
const DOCUMENT_START = /^---(?: +(?:#.*)?)?$/;
const JSON_ESCAPES = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/g;
// YAML's indicators: a plain scalar may not start with them (but see cannotStartPlain).
const INDICATORS = new Uint8Array(128);
for (const c of "-?:,[]{}#&*!|>'\"%@`") INDICATORS[c.charCodeAt(0)] = 1;

const NULL_OR_BOOLEAN_START = new Uint8Array(128);
for (const c of "nNtTfF") NULL_OR_BOOLEAN_START[c.charCodeAt(0)] = 1;

const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;

/**
 * A parser for the subset of YAML a users file is normally written in: block maps and sequences
 * indented with spaces, one-line plain and quoted scalars, one-line flow collections, comments.
 * It returns undefined as soon as it meets anything else (anchors, tags, block scalars,
 * multi-line scalars, errors…), so that the `yaml` library handles it. Where it answers, it answers
 * as the library would (same values, same offsets): test/unit/config.test.ts compares them.
 */
export function parseYamlFast(text: string): YNode | null | undefined {
  return parseFast(text)?.root;
}

function parseFast(text: string, onUser?: UserSink): YamlTree | undefined {
  if (UNUSUAL_CHARS.test(text)) return undefined;
  try {
    const parser = new FastParser(text, onUser);
    const root = parser.parse();
    return { root, problems: [], lineStarts: parser.starts, usersStreamed: parser.streamed };
  } catch {
    // BAIL, or anything unexpected (even a stack overflow): the library will say what it is.
    return undefined;
  }
}

/**
 * Works on offsets in the text, line by line, without slicing lines: allocation (and garbage
 * collection) is most of the cost of parsing 100,000 users.
 */
class FastParser {
  readonly starts: Int32Array;
  /** Where each line's content ends (before "\r\n" or "\n"). */
  private readonly ends: Int32Array;
  /** Each line's indentation, or -1 for lines without content (blank, or only a comment). */
  private readonly indents: Int32Array;
  private row = 0;
  /** How many collections are open: deep documents go to the library, which refuses them. */
  private depth = 0;
  /** Second results, to avoid allocating tuples: the key splitKey found, where parseFlow ended. */
  private key = "";
  private after = 0;
  /** Whether the top-level `users` map went to the sink (a second `users` key is left to the library). */
  streamed = false;

  constructor(
    private readonly text: string,
    private readonly onUser?: UserSink,
  ) {
    let count = 1;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
    this.starts = new Int32Array(count);
    this.ends = new Int32Array(count);
    this.indents = new Int32Array(count);
    let start = 0;
    for (let row = 0; row < count; row++) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      const next = end + 1;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      let p = start;
      while (p < end && text.charCodeAt(p) === SPACE) p++;
      this.starts[row] = start;
      this.ends[row] = end;
      this.indents[row] = p === end || text.charCodeAt(p) === HASH ? -1 : p - start;
      start = next;
    }
  }

  parse(): YNode | null {
    if (this.nextRow() === -1) return null;
    if (DOCUMENT_START.test(this.text.slice(this.starts[this.row], this.ends[this.row]))) {
      this.row++;
      // `---` and nothing else: the library makes that a null scalar, not an empty document.
      if (this.nextRow() === -1) throw BAIL;
    }
    if (this.indents[this.row] !== 0 || this.isSeqItem(this.starts[this.row]!)) throw BAIL;
    const root = this.parseMap(0, this.starts[this.row]!);
    if (this.nextRow() !== -1) throw BAIL;
    return root;
  }

  /** Moves to the next line with content; returns its indent, or -1 at the end. */
  private nextRow(): number {
    while (this.row < this.indents.length && this.indents[this.row] === -1) this.row++;
    return this.row < this.indents.length ? this.indents[this.row]! : -1;
  }

  private isSeqItem(p: number): boolean {
    return this.text.charCodeAt(p) === DASH && (p + 1 === this.ends[this.row] || this.text.charCodeAt(p + 1) === SPACE);
  }

  /**
   * Whether a plain scalar cannot start at `p`: at an indicator, except `-`, `?` and `:` followed
   * by a character that can be part of it (`-1`, `-=Bob=-`).
   */
  private cannotStartPlain(p: number, inFlow: boolean): boolean {
    const c = this.text.charCodeAt(p);
    if (!(c < 128 && INDICATORS[c] === 1)) return false;
    if (c !== DASH && c !== 63 && c !== COLON) return true;
    const next = this.text.charCodeAt(p + 1);
    if (p + 1 >= this.ends[this.row]! || next === SPACE) return true;
    return inFlow && (next === 44 || next === 91 || next === 93 || next === 123 || next === 125);
  }

  private skipSpaces(p: number): number {
    while (this.text.charCodeAt(p) === SPACE) p++;
    return p;
  }

  /** A block map whose keys are at column `indent`, the first one at offset `p` of the current row. */
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw BAIL;
  }

  private parseMap(indent: number, p: number, sink?: UserSink): YMap {
    this.enter();
    const map: YMap = { kind: "map", offset: p, entries: [] };
    for (;;) {
      if (sink) {
        const row = this.row;
        sink(this.parseEntry(indent, p), row + 1, p - this.starts[row]! + 1);
      } else map.entries.push(this.parseEntry(indent, p));
      const next = this.nextRow();
      if (next === -1 || next < indent) {
        this.depth--;
        return map;
      }
      p = this.starts[this.row]! + indent;
      if (next > indent || this.isSeqItem(p)) throw BAIL;
    }
  }

  private parseEntry(indent: number, p: number): YEntry {
    const end = this.ends[this.row]!;
    const colon = this.splitKey(p, end);
    if (colon === -1) throw BAIL;
    const key = this.key;
    const at = this.skipSpaces(colon + 1);
    // The top-level users map is streamed when there is a sink; a second `users:` is left to the library.
    const users = this.onUser !== undefined && this.depth === 1 && key === "users";
    if (users && this.streamed) throw BAIL;
    let value: YNode;
    if (at === end || this.text.charCodeAt(at) === HASH) {
      this.row++;
      const sink = users ? this.onUser : undefined;
      value = this.parseBlockValue(indent, at, true, sink);
      if (sink && value.kind === "map") this.streamed = true;
    } else {
      value = this.parseLineValue(at, end);
      this.row++;
      if (this.nextRow() > indent) throw BAIL; // a multi-line scalar, or an error
    }
    return { key, keyOffset: p, value };
  }

  /**
   * If the text at `p` is `key:` followed by a space or the end of the line: the colon's offset,
   * with the key in `this.key`; else -1.
   */
  private splitKey(p: number, end: number): number {
    const { text } = this;
    const first = text.charCodeAt(p);
    if (first === 34 || first === 39) {
      const close = this.quotedEnd(p, end);
      if (text.charCodeAt(close) !== COLON || !(close + 1 === end || text.charCodeAt(close + 1) === SPACE)) return -1;
      this.key = this.unquote(p, close);
      return close;
    }
    if (this.cannotStartPlain(p, false)) return -1;
    let colon = p;
    while (
      colon < end &&
      !(text.charCodeAt(colon) === COLON && (colon + 1 === end || text.charCodeAt(colon + 1) === SPACE))
    ) {
      colon++;
    }
    if (colon === end) return -1;
    let keyEnd = colon;
    while (text.charCodeAt(keyEnd - 1) === SPACE) keyEnd--;
    const key = text.slice(p, keyEnd);
    // The library refuses implicit keys over 1024 characters; a " #" would start a comment.
    if (key.length > 1024 || key.includes(" #")) throw BAIL;
    this.key = key;
    return colon;
  }

  /**
   * The value of a key (or `- `) with nothing after it on its line: a block collection on the
   * following lines, or null. `sameIndentSeq`: a map's value may be a sequence at the key's indent.
   */
  private parseBlockValue(indent: number, emptyOffset: number, sameIndentSeq: boolean, sink?: UserSink): YNode {
    const next = this.nextRow();
    if (next > indent) {
      const p = this.starts[this.row]! + next;
      return this.isSeqItem(p) ? this.parseSeq(next) : this.parseMap(next, p, sink);
    }
    if (next === indent && sameIndentSeq && this.isSeqItem(this.starts[this.row]! + indent))
      return this.parseSeq(indent);
    return { kind: "scalar", offset: emptyOffset, value: null };
  }

  private parseSeq(indent: number): YSeq {
    this.enter();
    const seq: YSeq = { kind: "seq", offset: this.starts[this.row]! + indent, items: [] };
    for (;;) {
      const start = this.starts[this.row]!;
      const end = this.ends[this.row]!;
      const at = this.skipSpaces(start + indent + 1);
      if (at === end || this.text.charCodeAt(at) === HASH) {
        this.row++;
        seq.items.push(this.parseBlockValue(indent, at, false));
      } else if (this.isSeqItem(at)) {
        throw BAIL; // "- - x"
      } else if (this.splitKey(at, end) !== -1) {
        seq.items.push(this.parseMap(at - start, at)); // "- key: value": the map's keys are at that column
      } else {
        seq.items.push(this.parseLineValue(at, end));
        this.row++;
        if (this.nextRow() > indent) throw BAIL;
      }
      const next = this.nextRow();
      // A line at the same indent that is not an item: the next key of a map around a sequence
      // that is indented as its key (the caller checks).
      if (next === -1 || next < indent || (next === indent && !this.isSeqItem(this.starts[this.row]! + indent))) {
        this.depth--;
        return seq;
      }
      if (next > indent) throw BAIL;
    }
  }

  /** A value that starts at `at` and ends on this line, followed at most by a comment. */
  private parseLineValue(at: number, end: number): YNode {
    const { text } = this;
    const first = text.charCodeAt(at);
    let node: YNode;
    let p: number;
    if (first === 91 || first === 123) {
      node = this.parseFlow(at, end);
      p = this.after;
    } else if (first === 34 || first === 39) {
      p = this.quotedEnd(at, end);
      node = { kind: "scalar", offset: at, value: this.unquote(at, p) };
    } else {
      if (this.cannotStartPlain(at, false)) throw BAIL;
      let stop = at;
      for (; stop < end; stop++) {
        const c = text.charCodeAt(stop);
        if (c === HASH && text.charCodeAt(stop - 1) === SPACE) break;
        // "a: b: c" is an error, and so is "a: b:"
        if (c === COLON && (stop + 1 === end || text.charCodeAt(stop + 1) === SPACE)) throw BAIL;
      }
      while (text.charCodeAt(stop - 1) === SPACE) stop--;
      return { kind: "scalar", offset: at, value: resolvePlain(text.slice(at, stop)) };
    }
    p = this.skipSpaces(p);
    if (p < end && !(text.charCodeAt(p) === HASH && text.charCodeAt(p - 1) === SPACE)) throw BAIL;
    return node;
  }

  /** A flow collection that closes on the same line; `this.after` is set to the offset after it. */
  private parseFlow(at: number, end: number): YNode {
    this.enter();
    const { text } = this;
    const isMap = text.charCodeAt(at) === 123;
    const close = isMap ? 125 : 93;
    const entries: YEntry[] = [];
    const items: YNode[] = [];
    let p = this.skipSpaces(at + 1);
    if (text.charCodeAt(p) !== close) {
      for (;;) {
        if (isMap) {
          const keyOffset = p;
          let key: string;
          const first = text.charCodeAt(p);
          if (first === 34 || first === 39) {
            const q = this.quotedEnd(p, end);
            key = this.unquote(p, q);
            p = q;
          } else {
            p = this.flowPlainEnd(p, end);
            key = text.slice(keyOffset, p);
          }
          if (text.charCodeAt(p) !== COLON || text.charCodeAt(p + 1) !== SPACE) throw BAIL;
          const value = this.flowValue(this.skipSpaces(p + 1), end);
          entries.push({ key, keyOffset, value });
        } else {
          items.push(this.flowValue(p, end));
        }
        p = this.skipSpaces(this.after);
        const c = text.charCodeAt(p);
        if (c === close) break;
        if (c !== 44) throw BAIL;
        p = this.skipSpaces(p + 1);
        if (text.charCodeAt(p) === close) throw BAIL; // a trailing comma
      }
    }
    this.after = p + 1;
    this.depth--;
    return isMap ? { kind: "map", offset: at, entries } : { kind: "seq", offset: at, items };
  }

  private flowValue(p: number, end: number): YNode {
    const first = this.text.charCodeAt(p);
    if (first === 91 || first === 123) return this.parseFlow(p, end);
    if (first === 34 || first === 39) {
      this.after = this.quotedEnd(p, end);
      return { kind: "scalar", offset: p, value: this.unquote(p, this.after) };
    }
    this.after = this.flowPlainEnd(p, end);
    return { kind: "scalar", offset: p, value: resolvePlain(this.text.slice(p, this.after)) };
  }

  /** The end (trailing spaces excluded) of a plain scalar in a flow: it ends at `,`, a bracket, `: ` or ` #`. */
  private flowPlainEnd(p: number, end: number): number {
    const { text } = this;
    if (this.cannotStartPlain(p, true)) throw BAIL;
    let stop = p;
    for (; stop < end; stop++) {
      const c = text.charCodeAt(stop);
      if (c === 44 || c === 93 || c === 125) break;
      if (c === 91 || c === 123) throw BAIL;
      if (c === HASH && text.charCodeAt(stop - 1) === SPACE) throw BAIL;
      if (c === COLON) {
        const d = text.charCodeAt(stop + 1);
        if (d === SPACE || d === 44 || d === 93 || d === 125) break;
      }
    }
    while (text.charCodeAt(stop - 1) === SPACE) stop--;
    if (stop === p) throw BAIL;
    return stop;
  }

  /** The offset after the closing quote of the quoted scalar at `p`, which must be on this line. */
  private quotedEnd(p: number, end: number): number {
    const { text } = this;
    const quote = text.charCodeAt(p);
    for (let i = p + 1; i < end; i++) {
      const c = text.charCodeAt(i);
      if (quote === 34 && c === 92) i++;
      else if (c === quote) {
        if (quote === 39 && text.charCodeAt(i + 1) === 39) i++;
        else return i + 1;
      }
    }
    throw BAIL; // a multi-line quoted scalar
  }

  private unquote(p: number, close: number): string {
    const inner = this.text.slice(p + 1, close - 1);
    if (this.text.charCodeAt(p) === 39) return inner.replaceAll("''", "'");
    if (!inner.includes("\\")) return inner;
    // YAML has more escapes than JSON; only those they share are decoded here.
    if (inner.replace(JSON_ESCAPES, "").includes("\\")) throw BAIL;
    return JSON.parse(`"${inner}"`) as string;
  }
}

/** A plain scalar's value under the YAML 1.2 core schema, as the `yaml` library resolves it. */
function resolvePlain(raw: string): unknown {
  const c = raw.charCodeAt(0);
  // A word that starts with a letter other than those of null, true and false is a string.
  if (((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) && !NULL_OR_BOOLEAN_START[c]) return raw;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(raw)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(raw)) return raw[0] === "t" || raw[0] === "T";
  // Only numbers start with a digit, a sign or a dot: skip the regular expressions otherwise.
  if (!(c <= 57 && (c >= 48 || c === 43 || c === 45 || c === 46))) return raw;
  if (/^[-+]?[0-9]+$/.test(raw)) return Number.parseInt(raw, 10);
  if (/^0o[0-7]+$/.test(raw)) return Number.parseInt(raw.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(raw)) return Number.parseInt(raw.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF))$/.test(raw)) return raw[0] === "-" ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(raw)) return Number.NaN;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(raw)) return Number.parseFloat(raw);
  return raw;
}
