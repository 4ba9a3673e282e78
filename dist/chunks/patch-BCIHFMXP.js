#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  quoteMergeKey,
  userKey
} from "./chunk-K4HIYU7O.js";
import {
  ACTIVE_ONLY,
  LineIndex,
  parseDesiredState,
  require_dist
} from "./chunk-FLQYQNNJ.js";
import "./chunk-PI3GQNBG.js";
import {
  ATTRIBUTE_SPECS
} from "./chunk-TY2JSSN6.js";
import "./chunk-SAG34VUY.js";
import "./chunk-6HBL5TLA.js";
import "./chunk-SVN2WMBC.js";
import "./chunk-I7MR6UWU.js";
import {
  __toESM
} from "./chunk-4CJPJK2Z.js";

// src/config/patch.ts
import { isDeepStrictEqual } from "node:util";

// node_modules/diff/libesm/diff/base.js
var Diff = class {
  diff(oldStr, newStr, options = {}) {
    let callback;
    if (typeof options === "function") {
      callback = options;
      options = {};
    } else if ("callback" in options) {
      callback = options.callback;
    }
    const oldString = this.castInput(oldStr, options);
    const newString = this.castInput(newStr, options);
    const oldTokens = this.removeEmpty(this.tokenize(oldString, options));
    const newTokens = this.removeEmpty(this.tokenize(newString, options));
    return this.diffWithOptionsObj(oldTokens, newTokens, options, callback);
  }
  diffWithOptionsObj(oldTokens, newTokens, options, callback) {
    var _a;
    const done = (value) => {
      value = this.postProcess(value, options);
      if (callback) {
        setTimeout(function() {
          callback(value);
        }, 0);
        return void 0;
      } else {
        return value;
      }
    };
    const newLen = newTokens.length, oldLen = oldTokens.length;
    let editLength = 1;
    let maxEditLength = newLen + oldLen;
    if (options.maxEditLength != null) {
      maxEditLength = Math.min(maxEditLength, options.maxEditLength);
    }
    const maxExecutionTime = (_a = options.timeout) !== null && _a !== void 0 ? _a : Infinity;
    const abortAfterTimestamp = Date.now() + maxExecutionTime;
    const bestPath = [{ oldPos: -1, lastComponent: void 0 }];
    let newPos = this.extractCommon(bestPath[0], newTokens, oldTokens, 0, options);
    if (bestPath[0].oldPos + 1 >= oldLen && newPos + 1 >= newLen) {
      return done(this.buildValues(bestPath[0].lastComponent, newTokens, oldTokens));
    }
    let minDiagonalToConsider = -Infinity, maxDiagonalToConsider = Infinity;
    const execEditLength = () => {
      for (let diagonalPath = Math.max(minDiagonalToConsider, -editLength); diagonalPath <= Math.min(maxDiagonalToConsider, editLength); diagonalPath += 2) {
        let basePath;
        const removePath = bestPath[diagonalPath - 1], addPath = bestPath[diagonalPath + 1];
        if (removePath) {
          bestPath[diagonalPath - 1] = void 0;
        }
        let canAdd = false;
        if (addPath) {
          const addPathNewPos = addPath.oldPos - diagonalPath;
          canAdd = addPath && 0 <= addPathNewPos && addPathNewPos < newLen;
        }
        const canRemove = removePath && removePath.oldPos + 1 < oldLen;
        if (!canAdd && !canRemove) {
          bestPath[diagonalPath] = void 0;
          continue;
        }
        if (!canRemove || canAdd && removePath.oldPos < addPath.oldPos) {
          basePath = this.addToPath(addPath, true, false, 0, options);
        } else {
          basePath = this.addToPath(removePath, false, true, 1, options);
        }
        newPos = this.extractCommon(basePath, newTokens, oldTokens, diagonalPath, options);
        if (basePath.oldPos + 1 >= oldLen && newPos + 1 >= newLen) {
          return done(this.buildValues(basePath.lastComponent, newTokens, oldTokens)) || true;
        } else {
          bestPath[diagonalPath] = basePath;
          if (basePath.oldPos + 1 >= oldLen) {
            maxDiagonalToConsider = Math.min(maxDiagonalToConsider, diagonalPath - 1);
          }
          if (newPos + 1 >= newLen) {
            minDiagonalToConsider = Math.max(minDiagonalToConsider, diagonalPath + 1);
          }
        }
      }
      editLength++;
    };
    if (callback) {
      (function exec() {
        setTimeout(function() {
          if (editLength > maxEditLength || Date.now() > abortAfterTimestamp) {
            return callback(void 0);
          }
          if (!execEditLength()) {
            exec();
          }
        }, 0);
      })();
    } else {
      while (editLength <= maxEditLength && Date.now() <= abortAfterTimestamp) {
        const ret = execEditLength();
        if (ret) {
          return ret;
        }
      }
    }
  }
  addToPath(path, added, removed, oldPosInc, options) {
    const last = path.lastComponent;
    if (last && !options.oneChangePerToken && last.added === added && last.removed === removed) {
      return {
        oldPos: path.oldPos + oldPosInc,
        lastComponent: { count: last.count + 1, added, removed, previousComponent: last.previousComponent }
      };
    } else {
      return {
        oldPos: path.oldPos + oldPosInc,
        lastComponent: { count: 1, added, removed, previousComponent: last }
      };
    }
  }
  extractCommon(basePath, newTokens, oldTokens, diagonalPath, options) {
    const newLen = newTokens.length, oldLen = oldTokens.length;
    let oldPos = basePath.oldPos, newPos = oldPos - diagonalPath, commonCount = 0;
    while (newPos + 1 < newLen && oldPos + 1 < oldLen && this.equals(oldTokens[oldPos + 1], newTokens[newPos + 1], options)) {
      newPos++;
      oldPos++;
      commonCount++;
      if (options.oneChangePerToken) {
        basePath.lastComponent = { count: 1, previousComponent: basePath.lastComponent, added: false, removed: false };
      }
    }
    if (commonCount && !options.oneChangePerToken) {
      basePath.lastComponent = { count: commonCount, previousComponent: basePath.lastComponent, added: false, removed: false };
    }
    basePath.oldPos = oldPos;
    return newPos;
  }
  equals(left, right, options) {
    if (options.comparator) {
      return options.comparator(left, right);
    } else {
      return left === right || !!options.ignoreCase && left.toLowerCase() === right.toLowerCase();
    }
  }
  removeEmpty(array) {
    const ret = [];
    for (let i = 0; i < array.length; i++) {
      if (array[i]) {
        ret.push(array[i]);
      }
    }
    return ret;
  }
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  castInput(value, options) {
    return value;
  }
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  tokenize(value, options) {
    return Array.from(value);
  }
  join(chars) {
    return chars.join("");
  }
  postProcess(changeObjects, options) {
    return changeObjects;
  }
  get useLongestToken() {
    return false;
  }
  buildValues(lastComponent, newTokens, oldTokens) {
    const components = [];
    let nextComponent;
    while (lastComponent) {
      components.push(lastComponent);
      nextComponent = lastComponent.previousComponent;
      delete lastComponent.previousComponent;
      lastComponent = nextComponent;
    }
    components.reverse();
    const componentLen = components.length;
    let componentPos = 0, newPos = 0, oldPos = 0;
    for (; componentPos < componentLen; componentPos++) {
      const component = components[componentPos];
      if (!component.removed) {
        if (!component.added && this.useLongestToken) {
          let value = newTokens.slice(newPos, newPos + component.count);
          value = value.map(function(value2, i) {
            const oldValue = oldTokens[oldPos + i];
            return oldValue.length > value2.length ? oldValue : value2;
          });
          component.value = this.join(value);
        } else {
          component.value = this.join(newTokens.slice(newPos, newPos + component.count));
        }
        newPos += component.count;
        if (!component.added) {
          oldPos += component.count;
        }
      } else {
        component.value = this.join(oldTokens.slice(oldPos, oldPos + component.count));
        oldPos += component.count;
      }
    }
    return components;
  }
};

// node_modules/diff/libesm/diff/line.js
var LineDiff = class extends Diff {
  constructor() {
    super(...arguments);
    this.tokenize = tokenize;
  }
  equals(left, right, options) {
    if (options.ignoreWhitespace) {
      if (!options.newlineIsToken || !left.includes("\n")) {
        left = left.trim();
      }
      if (!options.newlineIsToken || !right.includes("\n")) {
        right = right.trim();
      }
    } else if (options.ignoreNewlineAtEof && !options.newlineIsToken) {
      if (left.endsWith("\n")) {
        left = left.slice(0, -1);
      }
      if (right.endsWith("\n")) {
        right = right.slice(0, -1);
      }
    }
    return super.equals(left, right, options);
  }
};
var lineDiff = new LineDiff();
function diffLines(oldStr, newStr, options) {
  return lineDiff.diff(oldStr, newStr, options);
}
function tokenize(value, options) {
  if (options.stripTrailingCr) {
    value = value.replace(/\r\n/g, "\n");
  }
  const retLines = [], linesAndNewlines = value.split(/(\n|\r\n)/);
  if (!linesAndNewlines[linesAndNewlines.length - 1]) {
    linesAndNewlines.pop();
  }
  for (let i = 0; i < linesAndNewlines.length; i++) {
    const line = linesAndNewlines[i];
    if (i % 2 && !options.newlineIsToken) {
      retLines[retLines.length - 1] += line;
    } else {
      retLines.push(line);
    }
  }
  return retLines;
}

// node_modules/diff/libesm/diff/array.js
var ArrayDiff = class extends Diff {
  tokenize(value) {
    return value.slice();
  }
  join(value) {
    return value;
  }
  removeEmpty(value) {
    return value;
  }
};
var arrayDiff = new ArrayDiff();
function diffArrays(oldArr, newArr, options) {
  return arrayDiff.diff(oldArr, newArr, options);
}

// node_modules/diff/libesm/patch/create.js
function needsQuoting(s) {
  for (let i = 0; i < s.length; i++) {
    if (s[i] < " " || s[i] > "~" || s[i] === '"' || s[i] === "\\") {
      return true;
    }
  }
  return false;
}
function quoteFileNameIfNeeded(s) {
  if (!needsQuoting(s)) {
    return s;
  }
  let result = '"';
  const bytes = new TextEncoder().encode(s);
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === 7) {
      result += "\\a";
    } else if (b === 8) {
      result += "\\b";
    } else if (b === 9) {
      result += "\\t";
    } else if (b === 10) {
      result += "\\n";
    } else if (b === 11) {
      result += "\\v";
    } else if (b === 12) {
      result += "\\f";
    } else if (b === 13) {
      result += "\\r";
    } else if (b === 34) {
      result += '\\"';
    } else if (b === 92) {
      result += "\\\\";
    } else if (b >= 32 && b <= 126) {
      result += String.fromCharCode(b);
    } else {
      result += "\\" + b.toString(8).padStart(3, "0");
    }
    i++;
  }
  result += '"';
  return result;
}
var INCLUDE_HEADERS = {
  includeIndex: true,
  includeUnderline: true,
  includeFileHeaders: true
};
var FILE_HEADERS_ONLY = {
  includeIndex: false,
  includeUnderline: false,
  includeFileHeaders: true
};
function structuredPatch(oldFileName, newFileName, oldStr, newStr, oldHeader, newHeader, options) {
  let optionsObj;
  if (!options) {
    optionsObj = {};
  } else if (typeof options === "function") {
    optionsObj = { callback: options };
  } else {
    optionsObj = options;
  }
  if (typeof optionsObj.context === "undefined") {
    optionsObj.context = 4;
  }
  const context = optionsObj.context;
  if (optionsObj.newlineIsToken) {
    throw new Error("newlineIsToken may not be used with patch-generation functions, only with diffing functions");
  }
  if (!optionsObj.callback) {
    return diffLinesResultToPatch(diffLines(oldStr, newStr, optionsObj));
  } else {
    const { callback } = optionsObj;
    diffLines(oldStr, newStr, Object.assign(Object.assign({}, optionsObj), { callback: (diff) => {
      const patch = diffLinesResultToPatch(diff);
      callback(patch);
    } }));
  }
  function diffLinesResultToPatch(diff) {
    if (!diff) {
      return;
    }
    diff.push({ value: "", lines: [] });
    function contextLines(lines2) {
      return lines2.map(function(entry) {
        return " " + entry;
      });
    }
    const hunks = [];
    let oldRangeStart = 0, newRangeStart = 0, curRange = [], oldLine = 1, newLine = 1;
    for (let i = 0; i < diff.length; i++) {
      const current = diff[i], lines2 = current.lines || splitLines(current.value);
      current.lines = lines2;
      if (current.added || current.removed) {
        if (!oldRangeStart) {
          const prev = diff[i - 1];
          oldRangeStart = oldLine;
          newRangeStart = newLine;
          if (prev) {
            curRange = context > 0 ? contextLines(prev.lines.slice(-context)) : [];
            oldRangeStart -= curRange.length;
            newRangeStart -= curRange.length;
          }
        }
        for (const line of lines2) {
          curRange.push((current.added ? "+" : "-") + line);
        }
        if (current.added) {
          newLine += lines2.length;
        } else {
          oldLine += lines2.length;
        }
      } else {
        if (oldRangeStart) {
          if (lines2.length <= context * 2 && i < diff.length - 2) {
            for (const line of contextLines(lines2)) {
              curRange.push(line);
            }
          } else {
            const contextSize = Math.min(lines2.length, context);
            for (const line of contextLines(lines2.slice(0, contextSize))) {
              curRange.push(line);
            }
            const hunk = {
              oldStart: oldRangeStart,
              oldLines: oldLine - oldRangeStart + contextSize,
              newStart: newRangeStart,
              newLines: newLine - newRangeStart + contextSize,
              lines: curRange
            };
            hunks.push(hunk);
            oldRangeStart = 0;
            newRangeStart = 0;
            curRange = [];
          }
        }
        oldLine += lines2.length;
        newLine += lines2.length;
      }
    }
    for (const hunk of hunks) {
      for (let i = 0; i < hunk.lines.length; i++) {
        if (hunk.lines[i].endsWith("\n")) {
          hunk.lines[i] = hunk.lines[i].slice(0, -1);
        } else {
          hunk.lines.splice(i + 1, 0, "\\ No newline at end of file");
          i++;
        }
      }
    }
    return {
      oldFileName,
      newFileName,
      oldHeader,
      newHeader,
      hunks
    };
  }
}
function formatPatch(patch, headerOptions) {
  var _a, _b, _c, _d, _e, _f;
  if (!headerOptions) {
    headerOptions = INCLUDE_HEADERS;
  }
  if (Array.isArray(patch)) {
    if (patch.length > 1 && !headerOptions.includeFileHeaders && !patch.every((p) => p.isGit)) {
      throw new Error("Cannot omit file headers on a multi-file patch. (The result would be unparseable; how would a tool trying to apply the patch know which changes are to which file?)");
    }
    return patch.map((p) => formatPatch(p, headerOptions)).join("\n");
  }
  const ret = [];
  if (patch.isGit) {
    headerOptions = INCLUDE_HEADERS;
    if (!patch.oldFileName) {
      throw new Error("oldFileName must be specified for Git patches");
    }
    if (!patch.newFileName) {
      throw new Error("newFileName must be specified for Git patches");
    }
    let gitOldName = patch.oldFileName;
    let gitNewName = patch.newFileName;
    if (patch.isCreate && gitOldName === "/dev/null") {
      gitOldName = gitNewName.replace(/^b\//, "a/");
    } else if (patch.isDelete && gitNewName === "/dev/null") {
      gitNewName = gitOldName.replace(/^a\//, "b/");
    }
    ret.push("diff --git " + quoteFileNameIfNeeded(gitOldName) + " " + quoteFileNameIfNeeded(gitNewName));
    if (patch.isDelete) {
      ret.push("deleted file mode " + ((_a = patch.oldMode) !== null && _a !== void 0 ? _a : "100644"));
    }
    if (patch.isCreate) {
      ret.push("new file mode " + ((_b = patch.newMode) !== null && _b !== void 0 ? _b : "100644"));
    }
    if (patch.oldMode && patch.newMode && !patch.isDelete && !patch.isCreate) {
      ret.push("old mode " + patch.oldMode);
      ret.push("new mode " + patch.newMode);
    }
    if (patch.isRename) {
      ret.push("rename from " + quoteFileNameIfNeeded(((_c = patch.oldFileName) !== null && _c !== void 0 ? _c : "").replace(/^a\//, "")));
      ret.push("rename to " + quoteFileNameIfNeeded(((_d = patch.newFileName) !== null && _d !== void 0 ? _d : "").replace(/^b\//, "")));
    }
    if (patch.isCopy) {
      ret.push("copy from " + quoteFileNameIfNeeded(((_e = patch.oldFileName) !== null && _e !== void 0 ? _e : "").replace(/^a\//, "")));
      ret.push("copy to " + quoteFileNameIfNeeded(((_f = patch.newFileName) !== null && _f !== void 0 ? _f : "").replace(/^b\//, "")));
    }
  } else {
    if (headerOptions.includeIndex && patch.oldFileName == patch.newFileName && patch.oldFileName !== void 0) {
      ret.push("Index: " + patch.oldFileName);
    }
    if (headerOptions.includeUnderline) {
      ret.push("===================================================================");
    }
  }
  const hasHunks = patch.hunks.length > 0;
  if (headerOptions.includeFileHeaders && patch.oldFileName !== void 0 && patch.newFileName !== void 0 && (!patch.isGit || hasHunks)) {
    ret.push("--- " + quoteFileNameIfNeeded(patch.oldFileName) + (patch.oldHeader ? "	" + patch.oldHeader : ""));
    ret.push("+++ " + quoteFileNameIfNeeded(patch.newFileName) + (patch.newHeader ? "	" + patch.newHeader : ""));
  }
  for (let i = 0; i < patch.hunks.length; i++) {
    const hunk = patch.hunks[i];
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    ret.push("@@ -" + oldStart + "," + hunk.oldLines + " +" + newStart + "," + hunk.newLines + " @@");
    for (const line of hunk.lines) {
      ret.push(line);
    }
  }
  return ret.join("\n") + "\n";
}
function splitLines(text) {
  const hasTrailingNl = text.endsWith("\n");
  const result = text.split("\n").map((line) => line + "\n");
  if (hasTrailingNl) {
    result.pop();
  } else {
    result.push(result.pop().slice(0, -1));
  }
  return result;
}

// src/config/patch.ts
var import_yaml = __toESM(require_dist(), 1);
var PARSE = { uniqueKeys: false, stringKeys: true, prettyErrors: false, logLevel: "error" };
function driftPatch(files, desired, drift) {
  const serverName = drift.serverName;
  const edits = /* @__PURE__ */ new Map();
  const editOf = (name) => {
    let edit = edits.get(name);
    if (!edit) {
      const file = files.find((f) => f.name === name);
      if (!file) throw new Error(`bug: ${name} is not a file of the configuration`);
      edit = new FileEdit(file.text, serverName);
      edits.set(name, edit);
    }
    return edit;
  };
  const left = [];
  const notes = [];
  let accepted = 0;
  for (const item of drift.items) {
    const keep = (reason) => left.push({ userId: item.userId, class: item.class, reason });
    if (item.room !== void 0) {
      keep("a room's membership or power level: apply restores it, or edit the room in the file");
      continue;
    }
    if (item.class === "backends-disagree" || item.class === "synapse-only") {
      keep(`${item.actual}: a matter between MAS and Synapse that the file cannot settle`);
      continue;
    }
    if (item.class === "unmanaged") {
      const target = files[0];
      if (!target) throw new Error("bug: no users file");
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
      keep(`${item.hint ?? "a date of the file has passed"}; to cancel it, remove the date from the file`);
      continue;
    } else if (want.state === "erased" && item.expected === "erased (complete)") {
      keep("a complete erasure is not finished on the server: apply finishes it");
      continue;
    } else if (want.state === "erased") {
      keep(
        `the file says erased and the server has it ${item.actual}: an erasure is never undone in the file; apply erases it again`
      );
      continue;
    } else setState(doc, pair, item.actual);
    accepted++;
  }
  const changed = [];
  for (const file of files) {
    const edit = edits.get(file.name);
    if (!edit) continue;
    const after = edit.finish();
    if (after !== file.text) changed.push({ name: file.name, before: file.text, after });
  }
  try {
    parseDesiredState(
      files.map((f) => ({ ...f, text: changed.find((c) => c.name === f.name)?.after ?? f.text })),
      desired.serverName === void 0 ? {} : { serverName: desired.serverName }
    );
  } catch (error) {
    throw new Error(`bug: the patch would not load: ${error.message}`, { cause: error });
  }
  const diff = changed.map(
    (f) => formatPatch(
      structuredPatch(f.name, f.name, f.before, f.after, void 0, void 0, { context: 3 }),
      FILE_HEADERS_ONLY
    )
  ).join("");
  return { files: changed, diff, accepted, left, notes };
}
var FileEdit = class {
  constructor(original, serverName) {
    this.original = original;
    const doc = (0, import_yaml.parseDocument)(original, PARSE);
    this.doc = doc;
    this.#options = writeOptions(original);
    this.#base = doc.toString(this.#options);
    const users = doc.get("users", true);
    this.#users = (0, import_yaml.isMap)(users) ? users : new import_yaml.YAMLMap();
    if (!(0, import_yaml.isMap)(users)) doc.set("users", this.#users);
    for (const pair of this.#users.items) {
      const key = keyOf(pair);
      this.#byId.set(key.startsWith("@") ? key : `@${key}:${serverName}`, pair);
    }
  }
  #users;
  #byId = /* @__PURE__ */ new Map();
  #removed = /* @__PURE__ */ new Set();
  #added = [];
  doc;
  /** The original as the library writes it, before any edit (see minimalText). */
  #base;
  #options;
  /** The pair that declares `userId` (a localpart key on this server, or a full ID). */
  find(userId) {
    return this.#byId.get(userId);
  }
  remove(pair) {
    this.#removed.add(pair);
  }
  /** A new user, as export writes it. */
  add(key) {
    const value = this.doc.createNode("active");
    this.#added.push({ key, pair: this.doc.createPair(key, value) });
  }
  /** The edited text: removals and additions made, new users in order among sorted users, else at the end. */
  finish() {
    const kept = this.#users.items.filter((pair) => !this.#removed.has(pair));
    const keys = kept.map(keyOf);
    const sorted = keys.every((k, i) => i === 0 || keys[i - 1] <= k);
    const added = [...this.#added].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    if (!sorted) this.#users.items = [...kept, ...added.map((a) => a.pair)];
    else {
      const merged = [];
      let i = 0;
      for (const [k, pair] of kept.entries()) {
        while (i < added.length && added[i].key < keys[k]) merged.push(added[i++].pair);
        merged.push(pair);
      }
      while (i < added.length) merged.push(added[i++].pair);
      this.#users.items = merged;
    }
    quoteMergeKey(this.#users);
    return minimalText(this.original, this.#base, this.doc, this.#options);
  }
};
function keyOf(pair) {
  return (0, import_yaml.isScalar)(pair.key) ? String(pair.key.value) : String(pair.key);
}
function setState(doc, pair, state) {
  if ((0, import_yaml.isScalar)(pair.value)) {
    pair.value.value = state;
    return;
  }
  if (!(0, import_yaml.isMap)(pair.value)) {
    pair.value = doc.createNode(state);
    return;
  }
  const map = pair.value;
  if (state !== "active") for (const key of ACTIVE_ONLY) map.delete(key);
  if (map.has("state")) map.set("state", state);
  else if (state !== "active") map.items.unshift(doc.createPair("state", state));
}
function setAttribute(doc, pair, attribute, server) {
  const map = pair.value;
  if (!(0, import_yaml.isMap)(map)) throw new Error("bug: attributes drifted on a user without a map");
  const spec = ATTRIBUTE_SPECS[attribute];
  const value = spec.compare === "text" ? server ?? "" : server;
  if (value === void 0 || !spec.schema.safeParse(value).success) {
    map.delete(attribute);
    return `${attribute} is no longer managed: the server's value (${value === "" ? "none" : JSON.stringify(value)}) is not one the file can hold`;
  }
  const old = map.get(attribute, true);
  if ((0, import_yaml.isScalar)(old) && !Array.isArray(value)) {
    old.value = value;
    styleScalars(old);
    return void 0;
  }
  const node = doc.createNode(value);
  if ((0, import_yaml.isSeq)(old) && (0, import_yaml.isSeq)(node)) {
    node.flow = old.flow;
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
  }
  styleScalars(node);
  map.set(attribute, node);
  return void 0;
}
function styleScalars(node) {
  const mark = (scalar) => {
    if (typeof scalar.value === "string" && /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(scalar.value))
      scalar.type = import_yaml.Scalar.QUOTE_DOUBLE;
  };
  if ((0, import_yaml.isScalar)(node)) mark(node);
  else (0, import_yaml.visit)(node, { Scalar: (_key, scalar) => mark(scalar) });
}
function writeOptions(text) {
  const indent = /^( +)[^\s#-]/m.exec(text)?.[1]?.length ?? 2;
  const flatSeq = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1- /m.test(text);
  return { lineWidth: 0, indent: Math.min(Math.max(indent, 1), 8), indentSeq: !flatSeq, doubleQuotedAsJSON: true };
}
function minimalText(original, base, doc, options) {
  const edited = doc.toString(options);
  if (base === original) return edited;
  const meaning = doc.toJS();
  const [o, b, e] = [lines(original), lines(base), lines(edited)];
  const tries = [() => [], () => userBlocks((0, import_yaml.parseDocument)(base, PARSE), base)];
  for (const blocks of tries) {
    const merged = mergeLines(o, b, e, blocks()).join("");
    if (isDeepStrictEqual(meaningOf(merged), meaning)) return merged;
  }
  return edited;
}
function userBlocks(doc, text) {
  const users = doc.get("users", true);
  if (!(0, import_yaml.isMap)(users) || users.flow) return [];
  const index = LineIndex.of(text);
  const lineOf = (offset) => index.position("", offset).line - 1;
  const keys = users.items.map((p) => lineOf(p.key.range?.[0] ?? 0));
  const end = lineOf(users.range?.[1] ?? text.length);
  return keys.map((from, i) => ({ from, to: Math.max(from + 1, keys[i + 1] ?? end) }));
}
function meaningOf(text) {
  try {
    return (0, import_yaml.parse)(text, PARSE);
  } catch {
    return void 0;
  }
}
function lines(text) {
  return text === "" ? [] : text.split(/(?<=\n)/);
}
function sameButSpace(a, b) {
  return a.replace(/\s+/g, "") === b.replace(/\s+/g, "");
}
function align(a, b, comparator) {
  const out = [];
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
    const stretch = last && !last.equal && last.a + last.aLen === i && last.b + last.bLen === j ? last : void 0;
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
function mergeLines(original, base, edited, blocks) {
  const n = base.length;
  const orig = new Array(n).fill(-1);
  const edit = new Array(n).fill(-1);
  const touched = new Array(n).fill(false);
  const dropped = /* @__PURE__ */ new Map();
  const inserted = /* @__PURE__ */ new Map();
  const groups = [];
  const origGroup = /* @__PURE__ */ new Map();
  const editGroup = /* @__PURE__ */ new Map();
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
  for (const block of blocks) {
    if (touched.slice(block.from, block.to).includes(true)) groups.push(block);
  }
  groups.sort((x, y) => x.from - y.from);
  const unitEnd = /* @__PURE__ */ new Map();
  let last;
  for (const g of groups) {
    if (last && g.from < last.to) last.to = Math.max(last.to, g.to);
    else {
      if (last) unitEnd.set(last.from, last.to);
      last = { ...g };
    }
  }
  if (last) unitEnd.set(last.from, last.to);
  const out = [];
  const emitLines = (from, to, useEdited) => {
    for (let i = from; i < to; ) {
      if (i > from) {
        if (!useEdited) out.push(...dropped.get(i) ?? []);
        if (useEdited) out.push(...inserted.get(i) ?? []);
      }
      const group = (useEdited ? editGroup : origGroup).get(i);
      if (group) {
        out.push(...group.lines);
        i = group.to;
        continue;
      }
      const index = useEdited ? edit[i] : orig[i];
      if (index >= 0) out.push((useEdited ? edited : original)[index]);
      i++;
    }
  };
  for (let i = 0; i <= n; ) {
    out.push(...dropped.get(i) ?? [], ...inserted.get(i) ?? []);
    if (i === n) break;
    const end = unitEnd.get(i) ?? i + 1;
    let isEdited = false;
    for (let k = i; k < end; k++) if (touched[k] || k > i && inserted.has(k)) isEdited = true;
    emitLines(i, end, isEdited);
    i = end;
  }
  return out;
}
export {
  driftPatch
};
