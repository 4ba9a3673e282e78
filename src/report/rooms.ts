import type { ApplyResult, Plan } from "../domain/plan.js";
import { DEFAULT_MAX_REMOVALS } from "../domain/policy.js";
import type { RoomChange, RoomChangeResult, RoomPlan } from "../domain/rooms.js";
import { type Escaper, mdCode, mdText, escapeTerminal as t } from "./escape.js";

// The rooms part of every report (text, Markdown, JSON). Room keys and user IDs come from the
// file, room names from the server (anyone with the power to rename a room writes them): every one
// goes through the sink's escaper.

const SYMBOL: Record<RoomChange["kind"], string> = { join: "+", remove: "-", power: "~" };
const ICON: Record<RoomChange["kind"], string> = { join: "➕", remove: "➖", power: "🎚️" };

export function roomSummaryLine(rooms: RoomPlan): string {
  const s = rooms.summary;
  if (rooms.changes.length === 0) return `Rooms: no changes (${rooms.rooms.length} managed rooms match the file).`;
  return `Rooms: ${s.join} to join, ${s.remove} to remove, ${s.power} power levels to change.`;
}

/** The threshold on removals in one line, next to the account policy's line. */
export function roomPolicyLine(plan: Plan): string {
  return `Rooms policy: maxRemovals ${plan.policy.maxRemovals ?? DEFAULT_MAX_REMOVALS}.`;
}

/** What the change does, in words; `esc` for the values from the file (group names). */
export function describeRoomChange(c: RoomChange, esc: Escaper): string {
  if (c.kind === "join") return `join (${esc(c.reason)})${c.from === "invite" ? " — invited now" : ""}`;
  if (c.kind === "remove") return `remove (${esc(c.reason)}; ${c.from === "invite" ? "invited" : "joined"} now)`;
  return `power level ${c.from} → ${c.to} (${esc(c.reason)})`;
}

function roomTitle(room: RoomPlan["rooms"][number], esc: Escaper): string {
  const kind = room.type === "m.space" ? "space " : "";
  const name = room.name === undefined ? "" : ` ${esc(JSON.stringify(room.name))}`;
  return `${kind}${esc(room.key)}${name}`;
}

/** The rooms' changes for a terminal, room by room; empty when the file declares no rooms. */
export function roomPlanText(plan: Plan): string[] {
  const rooms = plan.rooms;
  if (!rooms) return [];
  const out = ["", roomSummaryLine(rooms)];
  for (const room of rooms.rooms) {
    const changes = rooms.changes.filter((c) => c.room === room.key);
    if (changes.length === 0) continue;
    out.push(`  ${roomTitle(room, t)}`);
    for (const c of changes) out.push(`    ${SYMBOL[c.kind]} ${t(c.userId)}  ${describeRoomChange(c, t)}`);
  }
  out.push(roomPolicyLine(plan));
  return out;
}

export function roomResultLine(r: RoomChangeResult): string {
  const mark = r.outcome === "done" ? "ok" : r.outcome;
  return `  ${mark.padEnd(6)} ${r.change.kind} ${t(r.change.userId)} in ${t(r.change.room)}${r.message ? `: ${t(r.message)}` : ""}`;
}

export function roomApplySummaryLine(results: readonly RoomChangeResult[]): string {
  const count = (o: RoomChangeResult["outcome"]) => results.filter((r) => r.outcome === o).length;
  const parts = [`${count("done")} done`, `${count("failed")} failed`, `${count("stale")} stale`];
  if (count("not-started")) parts.push(`${count("not-started")} not started`);
  return `Rooms applied: ${parts.join(", ")}.`;
}

/** After apply, for a terminal: the room changes not done, and the count. */
export function roomApplyText(apply: ApplyResult | undefined): string[] {
  if (!apply?.rooms) return [];
  const problems = apply.rooms.filter((r) => r.outcome !== "done");
  return [
    ...(problems.length ? ["", "Room changes not done:", ...problems.map(roomResultLine)] : []),
    roomApplySummaryLine(apply.rooms),
  ];
}

/** The rooms' changes for pull-request comments and job summaries. */
export function roomPlanMarkdown(plan: Plan): string[] {
  const rooms = plan.rooms;
  if (!rooms) return [];
  const out = ["", `**${roomSummaryLine(rooms)}**`];
  if (rooms.changes.length > 0) {
    out.push("", "| | room | user | change |", "|---|---|---|---|");
    for (const room of rooms.rooms) {
      for (const c of rooms.changes.filter((c) => c.room === room.key)) {
        out.push(
          `| ${ICON[c.kind]} | ${roomTitle(room, mdCode)} | ${mdCode(c.userId)} | ${describeRoomChange(c, mdCode)} |`,
        );
      }
    }
  }
  out.push("", roomPolicyLine(plan));
  return out;
}

export function roomApplyMarkdown(apply: ApplyResult | undefined): string[] {
  if (!apply?.rooms) return [];
  const out = ["", `**${roomApplySummaryLine(apply.rooms)}**`];
  for (const r of apply.rooms.filter((r) => r.outcome !== "done")) {
    out.push(
      `- ${r.outcome}: ${r.change.kind} ${mdCode(r.change.userId)} in ${mdCode(r.change.room)}${r.message ? ` — ${mdText(r.message)}` : ""}`,
    );
  }
  return out;
}

/** The rooms' fields of the JSON report (formatVersion 1: added fields only), when the file declares rooms. */
export function roomJson(plan: Plan, apply: ApplyResult | undefined): Record<string, unknown> {
  if (!plan.rooms) return {};
  return {
    rooms: {
      summary: plan.rooms.summary,
      rooms: plan.rooms.rooms,
      changes: plan.rooms.changes,
      ...(apply?.rooms
        ? {
            apply: apply.rooms.map((r) => ({
              room: r.change.room,
              userId: r.change.userId,
              kind: r.change.kind,
              outcome: r.outcome,
              ...(r.message ? { message: r.message } : {}),
            })),
          }
        : {}),
    },
  };
}
