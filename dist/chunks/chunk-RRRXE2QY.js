#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  DEFAULT_MAX_REMOVALS
} from "./chunk-SAG34VUY.js";
import {
  escapeTerminal,
  mdCode,
  mdText
} from "./chunk-5J3ZCMMJ.js";

// src/report/rooms.ts
var SYMBOL = { join: "+", remove: "-", power: "~" };
var ICON = { join: "\u2795", remove: "\u2796", power: "\u{1F39A}\uFE0F" };
function roomSummaryLine(rooms) {
  const s = rooms.summary;
  if (rooms.changes.length === 0) return `Rooms: no changes (${rooms.rooms.length} managed rooms match the file).`;
  return `Rooms: ${s.join} to join, ${s.remove} to remove, ${s.power} power levels to change.`;
}
function roomPolicyLine(plan) {
  return `Rooms policy: maxRemovals ${plan.policy.maxRemovals ?? DEFAULT_MAX_REMOVALS}.`;
}
function describeRoomChange(c, esc) {
  if (c.kind === "join") return `join (${esc(c.reason)})${c.from === "invite" ? " \u2014 invited now" : ""}`;
  if (c.kind === "remove") return `remove (${esc(c.reason)}; ${c.from === "invite" ? "invited" : "joined"} now)`;
  return `power level ${c.from} \u2192 ${c.to} (${esc(c.reason)})`;
}
function roomTitle(room, esc) {
  const kind = room.type === "m.space" ? "space " : "";
  const name = room.name === void 0 ? "" : ` ${esc(JSON.stringify(room.name))}`;
  return `${kind}${esc(room.key)}${name}`;
}
function roomPlanText(plan) {
  const rooms = plan.rooms;
  if (!rooms) return [];
  const out = ["", roomSummaryLine(rooms)];
  for (const room of rooms.rooms) {
    const changes = rooms.changes.filter((c) => c.room === room.key);
    if (changes.length === 0) continue;
    out.push(`  ${roomTitle(room, escapeTerminal)}`);
    for (const c of changes) out.push(`    ${SYMBOL[c.kind]} ${escapeTerminal(c.userId)}  ${describeRoomChange(c, escapeTerminal)}`);
  }
  out.push(roomPolicyLine(plan));
  return out;
}
function roomResultLine(r) {
  const mark = r.outcome === "done" ? "ok" : r.outcome;
  return `  ${mark.padEnd(6)} ${r.change.kind} ${escapeTerminal(r.change.userId)} in ${escapeTerminal(r.change.room)}${r.message ? `: ${escapeTerminal(r.message)}` : ""}`;
}
function roomApplySummaryLine(results) {
  const count = (o) => results.filter((r) => r.outcome === o).length;
  const parts = [`${count("done")} done`, `${count("failed")} failed`, `${count("stale")} stale`];
  if (count("not-started")) parts.push(`${count("not-started")} not started`);
  return `Rooms applied: ${parts.join(", ")}.`;
}
function roomApplyText(apply) {
  if (!apply?.rooms) return [];
  const problems = apply.rooms.filter((r) => r.outcome !== "done");
  return [
    ...problems.length ? ["", "Room changes not done:", ...problems.map(roomResultLine)] : [],
    roomApplySummaryLine(apply.rooms)
  ];
}
function roomPlanMarkdown(plan) {
  const rooms = plan.rooms;
  if (!rooms) return [];
  const out = ["", `**${roomSummaryLine(rooms)}**`];
  if (rooms.changes.length > 0) {
    out.push("", "| | room | user | change |", "|---|---|---|---|");
    for (const room of rooms.rooms) {
      for (const c of rooms.changes.filter((c2) => c2.room === room.key)) {
        out.push(
          `| ${ICON[c.kind]} | ${roomTitle(room, mdCode)} | ${mdCode(c.userId)} | ${describeRoomChange(c, mdCode)} |`
        );
      }
    }
  }
  out.push("", roomPolicyLine(plan));
  return out;
}
function roomApplyMarkdown(apply) {
  if (!apply?.rooms) return [];
  const out = ["", `**${roomApplySummaryLine(apply.rooms)}**`];
  for (const r of apply.rooms.filter((r2) => r2.outcome !== "done")) {
    out.push(
      `- ${r.outcome}: ${r.change.kind} ${mdCode(r.change.userId)} in ${mdCode(r.change.room)}${r.message ? ` \u2014 ${mdText(r.message)}` : ""}`
    );
  }
  return out;
}
function roomJson(plan, apply) {
  if (!plan.rooms) return {};
  return {
    rooms: {
      summary: plan.rooms.summary,
      rooms: plan.rooms.rooms,
      changes: plan.rooms.changes,
      ...apply?.rooms ? {
        apply: apply.rooms.map((r) => ({
          room: r.change.room,
          userId: r.change.userId,
          kind: r.change.kind,
          outcome: r.outcome,
          ...r.message ? { message: r.message } : {}
        }))
      } : {}
    }
  };
}

export {
  roomSummaryLine,
  roomPlanText,
  roomResultLine,
  roomApplyText,
  roomPlanMarkdown,
  roomApplyMarkdown,
  roomJson
};
