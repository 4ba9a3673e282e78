// The escaping function of each sink, fed the strings an attacker would write into a display name,
// a user ID, a password reference or a server's error text. marked (the renderer of the Matrix
// notice, and a GFM implementation) is the oracle for Markdown.
import { marked } from "marked";
import { describe, expect, it } from "vitest";
import { logUntrusted } from "../../src/action/log.js";
import { sanitizeMatrixHtml } from "../../src/notify/html.js";
import { escapeTerminal, escapeTerminalLines, mdCode, mdText, neutralizeRoomMention } from "../../src/report/escape.js";
import { commandsRun, HOSTILE } from "../support/hostile.js";

const CONTROL = /[\p{Cc}\u2028\u2029\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]/u;
const decode = (html: string) =>
  html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
const tags = (html: string) => [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());

describe("terminal: escapeTerminal", () => {
  it.each(HOSTILE)("leaves no control or format character raw: %j", (s) => {
    const out = escapeTerminal(s);
    expect(out).not.toMatch(CONTROL);
    expect(escapeTerminal(out)).toBe(out); // idempotent: safe to apply twice
  });

  it("shows what was there, readably", () => {
    expect(escapeTerminal("\x1b[1A\x1b[2K")).toBe("\\x1b[1A\\x1b[2K");
    expect(escapeTerminal("a\rb\nc\td")).toBe("a\\rb\\nc\\td");
    expect(escapeTerminal("\u202eabc")).toBe("\\u202eabc");
    expect(escapeTerminal("\u009b\x7f\x00")).toBe("\\x9b\\x7f\\x00");
    expect(escapeTerminal("tag \u{e0041}")).toBe("tag \\u{e0041}");
    expect(escapeTerminal("lone \ud800")).toBe("lone \\ud800");
    // Scripts and emoji keep their joiners; ordinary text is untouched.
    expect(escapeTerminal("👩‍💻 لا‌تن Zoë")).toBe("👩‍💻 لا‌تن Zoë");
  });

  it("escapeTerminalLines keeps line feeds and nothing else", () => {
    expect(escapeTerminalLines("one\ntwo\r\n\x1b[2Kthree")).toBe("one\ntwo\\r\n\\x1b[2Kthree");
  });

  it("starts no workflow command when the terminal is a CI log", () => {
    expect(escapeTerminal("a ##[error]b")).toBe("a #\\x23[error]b");
    expect(escapeTerminalLines("a\n  ::error::b\n::c")).toBe("a\n  \\x3a:error::b\n\\x3a:c");
    for (const s of [...HOSTILE, HOSTILE.join("\n")]) {
      expect(commandsRun(escapeTerminalLines(s))).toEqual([]);
      expect(commandsRun(`x ${escapeTerminal(s)}`)).toEqual([]);
    }
  });
});

describe("Markdown: mdCode for values", () => {
  it.each(HOSTILE)("is literal code and nothing else: %j", (s) => {
    const html = marked.parseInline(`x ${mdCode(s)} y`, { gfm: true }) as string;
    expect(tags(html).every((t) => t === "code")).toBe(true);
    // The text shown is exactly the value (as a terminal would show it).
    expect(decode(html.replace(/<\/?code>/g, ""))).toBe(`x ${escapeTerminal(s)} y`);
  });

  it.each(HOSTILE)("stays in its table cell, on its row: %j", (s) => {
    const md = `| a | b | c |\n|---|---|---|\n| ${mdCode(s)} | ${mdCode(s)} | end |\n| next | row | here |\n`;
    const html = marked.parse(md, { gfm: true }) as string;
    const rows = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    expect(rows).toHaveLength(3);
    const cells = [...rows[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    expect(cells).toHaveLength(3);
    expect(decode(cells[0]!.replace(/<\/?code>/g, ""))).toBe(escapeTerminal(s));
    expect(cells[2]).toBe("end");
    expect(tags(html).filter((t) => !["table", "thead", "tbody", "tr", "th", "td", "code"].includes(t))).toEqual([]);
  });

  it("uses a fence longer than any backtick run, and pads only when it must", () => {
    expect(mdCode("@bob:example.org")).toBe("`@bob:example.org`");
    expect(mdCode("a`b")).toBe("``a`b``");
    expect(mdCode("`x")).toBe("`` `x ``");
    expect(mdCode("a|b")).toBe("`a`\\|`b`");
    expect(mdCode("a\\|b")).toBe("`a\\`\\|`b`");
    expect(mdCode("x\ny")).toBe("`x\\ny`");
  });
});

describe("Markdown: mdText for prose", () => {
  it.each(HOSTILE)("is plain text, with no mention, reference or link: %j", (s) => {
    const html = marked.parseInline(mdText(s), { gfm: true }) as string;
    expect(tags(html)).toEqual([]);
    const text = decode(html);
    expect(text.replace(/\u2060/g, "")).toBe(escapeTerminal(s));
    // GitHub links @user, @org/team, #123 and URLs after rendering; Matrix has @room.
    expect(text).not.toMatch(/@[\w-]/);
    expect(text).not.toMatch(/#\d/);
    expect(text).not.toMatch(/:\/\/|www\./i);
  });

  it.each(HOSTILE)("stays in its table cell: %j", (s) => {
    const html = marked.parse(`| a | b |\n|---|---|\n| ${mdText(s)} | end |\n`, { gfm: true }) as string;
    expect([...html.matchAll(/<tr>/g)]).toHaveLength(2);
    expect(html).toContain("<td>end</td>");
  });

  it("stays inside the emphasis it is put in", () => {
    const html = marked.parseInline(`— _${mdText("a_ *b* `c` [d](e)")}_`, { gfm: true }) as string;
    expect(tags(html)).toEqual(["em", "em"]);
  });
});

describe("Matrix HTML: sanitizeMatrixHtml", () => {
  it("keeps what a report is made of", () => {
    const html =
      '<h3>plan</h3><p><strong>b</strong> <em>i</em> <del>d</del><br /></p><ul><li><code class="language-json">x</code></li></ul>' +
      "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>b</td></tr></tbody></table><details><summary>s</summary><p>t</p></details>" +
      '<p><a href="https://github.example/run/1">run</a></p>';
    expect(sanitizeMatrixHtml(html)).toBe(html);
  });

  it.each([
    ['<img src="https://evil.example/pixel.png">', ""],
    ['<img src="mxc://evil.example/x">', ""],
    ["<script>alert(1)</script>x", "x"],
    ["<style>p{}</style>x", "x"],
    ['<a href="javascript:alert(1)">x</a>', "<a>x</a>"],
    ['<a href="http://evil.example">x</a>', "<a>x</a>"],
    ['<a href="//evil.example">x</a>', "<a>x</a>"],
    ['<a href="data:text/html,x">x</a>', "<a>x</a>"],
    ['<p onclick="x" style="color:red">x</p>', "<p>x</p>"],
    ['<span data-mx-color="#f00">x</span><font color="red">y</font>', "xy"],
    ['<iframe src="https://evil.example"></iframe><form><input></form>', ""],
    ['<code class="evil">x</code>', "<code>x</code>"],
    ["<p>hello @room</p>", "<p>hello @\u2060room</p>"],
  ])("%s", (input, expected) => {
    expect(sanitizeMatrixHtml(input)).toBe(expected);
  });

  it("neutralizeRoomMention breaks @room for clients without m.mentions", () => {
    expect(neutralizeRoomMention("hi @room, @ROOM and @roomba")).toBe("hi @\u2060room, @\u2060ROOM and @\u2060roomba");
    expect(neutralizeRoomMention("@alice:example.org")).toBe("@alice:example.org");
  });
});

describe("workflow log: logUntrusted", () => {
  it("no line of untrusted text runs as a workflow command", () => {
    const lines: string[] = [];
    for (const s of HOSTILE) logUntrusted(s, (line) => lines.push(line));
    logUntrusted(HOSTILE.join("\n"), (line) => lines.push(line));
    const output = `${lines.join("\n")}\n::warning::the step's own command\n`;
    expect(commandsRun(output)).toEqual(["::warning::the step's own command"]);
    expect(output).not.toMatch(/(?!\n)[\p{Cc}\u202e]/u);
  });

  it("draws a new token each time, so a report cannot hold the one that resumes commands", () => {
    const lines: string[] = [];
    logUntrusted("a", (line) => lines.push(line));
    logUntrusted("b", (line) => lines.push(line));
    const tokens = lines.filter((l) => l.startsWith("::stop-commands::")).map((l) => l.slice(17));
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(tokens[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(lines).toEqual([
      `::stop-commands::${tokens[0]}`,
      "a",
      `::${tokens[0]}::`,
      `::stop-commands::${tokens[1]}`,
      "b",
      `::${tokens[1]}::`,
    ]);
  });

  it("the simulated runner does run a command outside stop-commands (the check can fail)", () => {
    expect(commandsRun("x\n  ::error::y\nz ##[warning]w\n")).toEqual(["  ::error::y", "z ##[warning]w"]);
  });
});
