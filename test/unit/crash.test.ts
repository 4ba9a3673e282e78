import { describe, expect, it } from "vitest";
import { crashText } from "../../src/report/crash.js";

describe("the CLI's unexpected-error output", () => {
  it("escapes the stack for a terminal: a bug: message quoting the file or a server cannot drive it", () => {
    const e = new Error("bug: @evil\u001b[2J\u001b]0;pwned\u0007:example.org\r\n::error::forged\u202eabc ##[group]x");
    const text = crashText(e);
    expect(
      text.startsWith("synapse-gitops: unexpected error (a bug; please report it)\nError: bug: @evil\\x1b[2J"),
    ).toBe(true);
    expect(text).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}]/u);
    expect(text).not.toMatch(/^\s*::/m);
    expect(text).not.toContain("##[");
    expect(text).toContain("\n    at "); // the stack's lines stay lines
    expect(crashText("plain \u001b[31mred")).toContain("plain \\x1b[31mred");
  });
});
