import { appendFileSync, chmodSync } from "node:fs";
import type { ActionResult } from "./domain/plan.js";
import type { RoomChangeResult } from "./domain/rooms.js";
import { ToolError } from "./errors.js";
import type { MutationRecord } from "./synapse/client.js";
import { VERSION } from "./version.js";

/**
 * `--audit-log FILE`: appends JSON lines — one `run` header, one `request` per request that may
 * have changed the server, one `action` per planned action with its verified result. Written
 * synchronously, line by line, so a crash or an interrupt loses nothing already done. Holds no
 * secrets: no token, no password, no request bodies.
 */
export class AuditLog {
  #private = false;

  constructor(private readonly path: string) {}

  #write(record: Record<string, unknown>) {
    try {
      // Only its owner may read it (user IDs, what changed): created 0600, and made so if it was there.
      appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`, { mode: 0o600 });
      if (!this.#private) {
        chmodSync(this.path, 0o600);
        this.#private = true;
      }
    } catch (cause) {
      throw new ToolError(`cannot write the audit log ${this.path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`);
    }
  }

  run(header: {
    command: string;
    server: string;
    homeserver: string;
    actor: string;
    files?: string[];
    sha256?: string;
  }) {
    this.#write({ type: "run", tool: "synapse-gitops", version: VERSION, ...header });
  }

  request(r: MutationRecord) {
    const target = r.path.match(/\/(?:users|deactivate)\/([^/]+)$/)?.[1];
    this.#write({ type: "request", ...(target ? { userId: decodeURIComponent(target) } : {}), ...r });
  }

  action(r: ActionResult) {
    this.#write({
      type: "action",
      userId: r.action.userId,
      action: r.action.kind,
      from: r.action.from,
      to: r.action.to,
      outcome: r.outcome,
      ...(r.verified ? { verified: r.verified } : {}),
      ...(r.message ? { message: r.message } : {}),
    });
  }

  roomChange(r: RoomChangeResult) {
    const { change } = r;
    this.#write({
      type: "room",
      room: change.room,
      roomId: change.roomId,
      userId: change.userId,
      change: change.kind,
      from: change.from,
      to: change.to,
      outcome: r.outcome,
      ...(r.message ? { message: r.message } : {}),
    });
  }
}
