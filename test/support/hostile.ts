// Strings an attacker would put where synapse-gitops shows text: a display name (the file's, or the
// one a user set on the server), a user ID, a password reference's name, a server's error text;
// and a model of the Actions runner, to tell which lines of a step's output would run as commands.

/** What got through, and worse. Historical user IDs may hold any printable ASCII. */
export const HOSTILE = [
  "<img src=x>",
  '<img src="https://evil.example/pixel.png" onerror="alert(1)">',
  "[link](https://evil.example)",
  "![image](https://evil.example/x.png)",
  "</td></tr></table><h1>No changes</h1>",
  "<script>alert(1)</script>",
  "&lt;b&gt; &amp; &#60;i&#62;",
  "@room",
  "hello @room and @org/team and @alice",
  "mail me: bob@evil.example",
  "fixes #1 and org/repo#2",
  "https://evil.example and www.evil.example",
  "\x1b[1A\x1b[2Kerase — IRREVERSIBLE",
  "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
  "ok\rNo changes",
  "\u202eevil\u202c and \u2066isolate\u2069",
  "zero\u200bwidth\u2060joiner\ufeff",
  "\u009b2K C1 CSI and DEL\x7f",
  "::error::forged",
  "  ::set-output name=has-changes::false",
  "##[error]legacy command",
  "line one\n::warning::line two\r\n# heading",
  "a | b",
  "a\\|b",
  "a\\\\|b",
  "`code` and ``two`` and ```",
  "`",
  " `starts` ",
  "**bold** _em_ ~~strike~~ *",
  "# heading",
  "> quote",
  "- item",
  "1. item",
  "| --- |",
  "\\",
  "@`|*<%/:x",
  "\u2028line separator\u2029",
  "emoji 👩‍💻 and لا‌تن",
];

/**
 * What the Actions runner does with a step's output, as documented: each line (split at LF and
 * CR) that is a command after trimming leading space (`::name …::`), or holds the legacy
 * `##[name]`, runs — unless `::stop-commands::TOKEN` came before and `::TOKEN::` has not yet.
 */
export function commandsRun(output: string): string[] {
  const run: string[] = [];
  let stopToken: string | undefined;
  for (const line of output.split(/\r\n|\r|\n/)) {
    const v2 = line.trimStart().match(/^::([^\s:]+)/);
    const v1 = line.match(/##\[([^\]\s;]+)/);
    const command = v2?.[1] ?? v1?.[1];
    if (!command) continue;
    if (stopToken !== undefined) {
      if (command === stopToken) stopToken = undefined;
      continue;
    }
    if (command === "stop-commands") stopToken = line.trimStart().slice("::stop-commands::".length);
    else run.push(line);
  }
  return run;
}
