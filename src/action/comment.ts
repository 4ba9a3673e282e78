/** GitHub refuses comment and issue bodies longer than this many characters. */
export const GITHUB_BODY_LIMIT = 65_536;

/**
 * A comment body under GitHub's limit: the whole report when it fits; otherwise the summary, then
 * the report cut at a line boundary and folded into <details>, with a pointer to the job summary
 * (which holds it all).
 */
export function fitComment(
  parts: { marker: string; markdown: string; summary: string; footer: string; fullReportUrl?: string | undefined },
  limit = GITHUB_BODY_LIMIT,
): string {
  const whole = `${parts.marker}\n${parts.markdown}\n${parts.footer}\n`;
  if (whole.length <= limit) return whole;
  const pointer = parts.fullReportUrl
    ? `The report is too long for a comment; the whole of it is in the [job summary](${parts.fullReportUrl}).`
    : "The report is too long for a comment; the whole of it is in the job summary.";
  const head = `${parts.marker}\n**${parts.summary}**\n\n${pointer}\n\n<details><summary>The start of the report</summary>\n\n`;
  const tail = `\n\n… (cut)\n</details>\n\n${parts.footer}\n`;
  const room = limit - head.length - tail.length;
  const cut = parts.markdown.lastIndexOf("\n", room);
  return `${head}${parts.markdown.slice(0, Math.max(0, cut))}${tail}`;
}
