#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);

// src/report/escape.ts
var UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
var UNSAFE_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
var KEPT = /* @__PURE__ */ new Set(["\u200C", "\u200D"]);
var NAMED = { "\n": "\\n", "\r": "\\r", "	": "\\t" };
function visible(ch) {
  if (KEPT.has(ch)) return ch;
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0);
  if (cp <= 255) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 65535) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}
function escapeTerminal(untrusted) {
  return untrusted.replace(UNSAFE, visible).replace(/##\[/g, "#\\x23[");
}
function escapeTerminalLines(untrusted) {
  return untrusted.replace(UNSAFE_BUT_NEWLINE, visible).replace(/##\[/g, "#\\x23[").replace(/^([^\S\n]*):(?=:)/gm, "$1\\x3a");
}
function mdCode(untrusted) {
  return escapeTerminal(untrusted).split("|").map(codeSpan).join("\\|");
}
function codeSpan(text) {
  if (text === "") return "";
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const allSpaces = /^ +$/.test(text);
  const pad = /^`|`$/.test(text) || !allSpaces && text.startsWith(" ") && text.endsWith(" ") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}
var ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;
var WJ = "\u2060";
function mdText(untrusted) {
  return escapeTerminal(untrusted).replace(ASCII_PUNCTUATION, (ch) => `\\${ch}`).replace(/\\([@#])/g, `\\$1${WJ}`).replace(/\\:\\\//g, `\\:${WJ}\\/`).replace(/(www)\\\./gi, `$1${WJ}\\.`);
}
function neutralizeRoomMention(text) {
  return text.replace(/@(?=room)/gi, `@${WJ}`);
}

export {
  escapeTerminal,
  escapeTerminalLines,
  mdCode,
  mdText,
  neutralizeRoomMention
};
