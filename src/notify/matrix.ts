import { randomUUID } from "node:crypto";
import { ToolError } from "../errors.js";
import { neutralizeRoomMention } from "../report/escape.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";

/**
 * Posts a report into a Matrix room as the admin token's user: the Markdown report becomes the
 * HTML body (rendered with `marked`, then sanitised to an allow-list), the plain-text report the
 * fallback body. The reports escape every untrusted value for their sink already; here nothing may
 * mention anyone: `@room` is broken in both bodies, and the notice says it mentions no one
 * (`m.mentions: {}`, sent by SynapseClient.sendNotice).
 */
export async function notifyRoom(
  client: SynapseClient,
  room: string,
  report: { text: string; markdown: string },
): Promise<string> {
  try {
    const roomId = await client.resolveRoom(room);
    // Loaded only here: the commands that never notify do not pay for it.
    const [{ marked }, { sanitizeMatrixHtml }] = await Promise.all([import("marked"), import("./html.js")]);
    const html = sanitizeMatrixHtml(await marked.parse(report.markdown, { gfm: true }));
    return await client.sendNotice(roomId, neutralizeRoomMention(report.text), html, `synapse-gitops-${randomUUID()}`);
  } catch (e) {
    if (e instanceof SynapseError && (e.kind === "forbidden" || e.kind === "not-found")) {
      throw new ToolError(
        `cannot post to the Matrix room ${room}: ${e.detail}`,
        e.kind === "forbidden" ? "invite the admin token's user to the room and join it" : "check the room ID or alias",
        { cause: e },
      );
    }
    throw e;
  }
}
