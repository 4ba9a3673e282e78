// One escaping function per place that untrusted text goes to. Untrusted is every string from the
// users file (a pull request controls it), from a saved plan, and from the server: display names
// are set by their owners, historical user IDs may hold any printable ASCII (`` ` | * < % / ``), and
// error texts are whatever the server says. The sinks:
//   - a terminal, and plain text in general   → escapeTerminal / escapeTerminalLines
//   - GitHub-flavoured Markdown (comment, job summary, drift issue, the Matrix notice's source)
//                                             → mdCode (values), mdText (prose)
//   - Matrix HTML (a notice's formatted_body) → sanitizeMatrixHtml in src/notify/html.ts, loaded
//     only when a notice is sent (it pulls in an HTML parser)
//   - the GitHub workflow log                 → logUntrusted in src/action/log.ts
// JSON output needs none of these: JSON.stringify is its escaping.

/** Renders an untrusted string for one sink. */
export type Escaper = (untrusted: string) => string;

/**
 * What a terminal or a reader must not get raw: C0 controls (ESC, CR, BS, …), DEL, C1 controls
 * (U+009B is a one-byte CSI on some terminals), unpaired surrogates, line and paragraph separators,
 * and format characters (Cf): bidi embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069) that reorder what is shown, zero-width spaces and joiners that hide characters,
 * the BOM, tag characters. U+200C and U+200D (zero-width non-joiner and joiner) are let through:
 * Persian, Indic scripts and emoji sequences need them, and they neither move the cursor nor
 * reorder text.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const UNSAFE_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const KEPT = new Set(["\u200c", "\u200d"]);
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function visible(ch: string): string {
  if (KEPT.has(ch)) return ch;
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0)!;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * A value for a terminal (or any plain text): every control and format character is shown as an
 * escape (`\x1b`, `\r`, `\n`, `\u202e`), so the value stays on its line, cannot move the cursor,
 * erase a line, or reorder what follows. Backslashes are left as they are, which makes the function
 * idempotent (a value that already shows `\x1b` is not changed again): a name that spells out
 * `\x1b` looks like one that held an ESC, which misleads no one about what will be applied.
 *
 * A terminal may be a CI log (the CLI run in a GitHub workflow), where the runner runs a line
 * holding `##[command]` anywhere as a workflow command: `##[` is shown as `#\x23[`. (The other form,
 * `::command::`, must start its line, which a value that cannot hold a newline never does.)
 */
export function escapeTerminal(untrusted: string): string {
  return untrusted.replace(UNSAFE, visible).replace(/##\[/g, "#\\x23[");
}

/**
 * As escapeTerminal, but line feeds stay line feeds: for a whole message or report of several
 * lines, such as the CLI's error messages (which may quote a server's error text). So that no line
 * starts a workflow command (the runner trims leading white space first), a line whose first
 * non-blank characters are `::` shows the first colon as `\x3a`. The Action does not rely on this
 * alone: it logs reports inside `::stop-commands::` (src/action/log.ts).
 */
export function escapeTerminalLines(untrusted: string): string {
  return untrusted
    .replace(UNSAFE_BUT_NEWLINE, visible)
    .replace(/##\[/g, "#\\x23[")
    .replace(/^([^\S\n]*):(?=:)/gm, "$1\\x3a");
}

/**
 * An untrusted value as inline Markdown code: nothing in it can make a link, an image, HTML,
 * emphasis, a heading, a mention or a reference (GitHub processes none of these inside code), or
 * end a table cell or row. Safe in table cells and in running text alike.
 *
 * - Control and format characters are shown as escapes first (a newline would end a table row).
 * - The fence is one backtick longer than the longest run of backticks inside (CommonMark: a code
 *   span ends at the next backtick string of the same length), padded with a space on each side
 *   where CommonMark would otherwise lose or join a character, so the value shows exactly.
 * - GFM splits a table row at `|` before it reads code spans, even inside them; `\|` is the
 *   escape. But renderers disagree about `\\|` (cmark-gfm keeps the cell, marked and micromark
 *   split it), and a code span cannot escape its backslashes. So the value is cut at each `|` and
 *   the pipes are written as `\|` *between* code spans, where no backslash from the value can
 *   precede them: `a\|b` becomes `` `a\`\|`b` ``. Outside a table `\|` is a plain escaped pipe.
 */
export function mdCode(untrusted: string): string {
  return escapeTerminal(untrusted).split("|").map(codeSpan).join("\\|");
}

function codeSpan(text: string): string {
  if (text === "") return "";
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  // CommonMark strips one space from each side when both are there and the content is not all
  // spaces: pad when the value needs it (it starts or ends with a backtick, which would otherwise
  // join the fence, or it starts and ends with a space it must keep).
  const allSpaces = /^ +$/.test(text);
  const pad = /^`|`$/.test(text) || (!allSpaces && text.startsWith(" ") && text.endsWith(" ")) ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and then it is literal. */
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;
/** U+2060 WORD JOINER: invisible, not whitespace, and no word character, so no mention or reference starts. */
const WJ = "\u2060";

/**
 * Untrusted prose (a refusal or failure message, a server's error text) as Markdown text: every
 * ASCII punctuation character is backslash-escaped, so none is syntax (no link, image, HTML tag,
 * entity, emphasis, strikethrough, heading, list, quote, table pipe or code span; a `\|` also
 * holds in a table cell, whatever backslashes precede it, since they are escaped too). Markdown
 * escapes do not stop what GitHub adds after rendering, so a word joiner goes after each `@`
 * (no `@user`, `@org/team` or `@room` mention, no e-mail autolink), after each `#` (no `#123`
 * reference), and between `:` and `//` and in `www.` (no URL autolink by GitHub or by Matrix
 * clients that linkify text). Control and
 * format characters are shown as escapes, as for a terminal.
 */
export function mdText(untrusted: string): string {
  return escapeTerminal(untrusted)
    .replace(ASCII_PUNCTUATION, (ch) => `\\${ch}`)
    .replace(/\\([@#])/g, `\\$1${WJ}`)
    .replace(/\\:\\\//g, `\\:${WJ}\\/`)
    .replace(/(www)\\\./gi, `$1${WJ}\\.`);
}

/**
 * `@room` in a Matrix message's plain body notifies the whole room on servers and clients that
 * predate intentional mentions (`m.mentions`); a word joiner after the `@` keeps the text readable
 * and matches no push rule.
 */
export function neutralizeRoomMention(text: string): string {
  return text.replace(/@(?=room)/gi, `@${WJ}`);
}
