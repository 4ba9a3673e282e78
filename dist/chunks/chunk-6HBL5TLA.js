#!/usr/bin/env node
import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);
import {
  ZodISODate,
  ZodISODateTime,
  ZodISODuration,
  ZodISOTime,
  _isoDate,
  _isoDateTime,
  _isoDuration,
  _isoTime,
  union
} from "./chunk-SVN2WMBC.js";
import {
  __export
} from "./chunk-4CJPJK2Z.js";

// node_modules/zod/v4/classic/iso.js
var iso_exports = {};
__export(iso_exports, {
  ZodISODate: () => ZodISODate,
  ZodISODateTime: () => ZodISODateTime,
  ZodISODuration: () => ZodISODuration,
  ZodISOTime: () => ZodISOTime,
  date: () => date,
  datetime: () => datetime,
  duration: () => duration,
  time: () => time
});
function datetime(params) {
  return _isoDateTime(ZodISODateTime, params);
}
function date(params) {
  return _isoDate(ZodISODate, params);
}
function time(params) {
  return _isoTime(ZodISOTime, params);
}
function duration(params) {
  return _isoDuration(ZodISODuration, params);
}

// src/domain/schedule.ts
var scheduleDateSchema = union([iso_exports.date(), iso_exports.datetime({ offset: true })], {
  error: (iss) => `expected a date (2026-12-31, due at 00:00 UTC) or a date-time with its zone (2026-12-31T18:00:00+01:00), got ${typeof iss.input === "string" ? JSON.stringify(iss.input) : typeof iss.input}`
}).meta({
  description: "A date (YYYY-MM-DD: due from 00:00 UTC that day) or a date-time with its zone (YYYY-MM-DDTHH:MM:SS+01:00 or \u2026Z)."
});
function scheduledDate(on) {
  return { on, at: Date.parse(on) };
}
function dueUser(want, now) {
  const { schedule } = want;
  if (!schedule) return want;
  const step = schedule.erase && schedule.erase.at <= now ? { state: "erased", date: schedule.erase } : schedule.deactivate && schedule.deactivate.at <= now ? { state: "deactivated", date: schedule.deactivate } : void 0;
  if (!step || step.state === want.state) return want;
  const due = {
    userId: want.userId,
    index: want.index,
    state: step.state,
    allowReactivation: false,
    source: want.source,
    schedule,
    due: step.date.on
  };
  if (want.historical) due.historical = true;
  if (want.erasure !== void 0) due.erasure = want.erasure;
  return due;
}
function stepsAhead(want, now) {
  const steps = [];
  const { schedule } = want;
  if (!schedule) return steps;
  for (const kind of ["deactivate", "erase"]) {
    const date2 = schedule[kind];
    if (date2 && date2.at > now)
      steps.push({ userId: want.userId, kind, on: date2.on, at: new Date(date2.at).toISOString() });
  }
  return steps;
}
var ORDER = { active: 0, deactivated: 1, erased: 2 };
function awaitingDue(want, wanted, have) {
  if (wanted.due === void 0) return false;
  return ORDER[have] >= ORDER[want.state] && ORDER[have] < ORDER[wanted.state];
}
function timeUntil(at, now) {
  const minutes = Math.ceil((at - now) / 6e4);
  const plural = (n, unit) => `in ${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes < 60) return plural(Math.max(minutes, 1), "minute");
  const hours = Math.ceil(minutes / 60);
  if (hours < 24) return plural(hours, "hour");
  return plural(Math.ceil(hours / 24), "day");
}

export {
  iso_exports,
  scheduleDateSchema,
  scheduledDate,
  dueUser,
  stepsAhead,
  awaitingDue,
  timeUntil
};
