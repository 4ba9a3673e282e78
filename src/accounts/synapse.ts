import type { ActualUser, ErasureResidue } from "../domain/account.js";
import type { AccountsBackend, UserChanges } from "../domain/accounts.js";
import type { SynapseClient } from "../synapse/client.js";
import { DEFAULT_PURGE_TIMING, deleteAllMedia, type PurgeTiming, readResidue, redactAndWait } from "./purge.js";

/**
 * Accounts kept by Synapse itself, through its Admin API: the users list, PUT /_synapse/admin/v2/users
 * and POST /_synapse/admin/v1/deactivate.
 */
export class SynapseAccounts implements AccountsBackend {
  readonly name = "synapse";

  constructor(
    private readonly client: SynapseClient,
    private readonly purgeTiming: PurgeTiming = DEFAULT_PURGE_TIMING,
  ) {}

  listUsers(): AsyncIterable<ActualUser[]> {
    return this.client.listAllUsers();
  }

  findUser(userId: string): Promise<ActualUser | undefined> {
    return this.client.findUser(userId);
  }

  /** Suspension is not a PUT field: a second call, once the account exists. */
  async createUser(userId: string, changes: UserChanges): Promise<{ created: boolean }> {
    const { suspended, ...rest } = changes;
    const result = await this.client.createUser(userId, rest);
    if (suspended) await this.client.setSuspended(userId, true);
    return result;
  }

  async updateUser(userId: string, changes: UserChanges): Promise<void> {
    const { suspended, ...rest } = changes;
    if (Object.keys(rest).length > 0 || suspended === undefined) await this.client.modifyUser(userId, rest);
    if (suspended !== undefined) await this.client.setSuspended(userId, suspended);
  }

  setLocked(userId: string, locked: boolean): Promise<void> {
    return this.client.modifyUser(userId, { locked });
  }

  deactivate(userId: string): Promise<void> {
    return this.client.deactivate(userId, { erase: false });
  }

  erase(userId: string): Promise<void> {
    return this.client.deactivate(userId, { erase: true });
  }

  /** `deactivated: false`: Synapse would un-erase an erased user this way; apply re-checks the state first. */
  async reactivate(userId: string, changes: UserChanges): Promise<void> {
    const { suspended, ...rest } = changes;
    await this.client.modifyUser(userId, { ...rest, deactivated: false });
    if (suspended !== undefined) await this.client.setSuspended(userId, suspended);
  }

  erasureResidue(userId: string): Promise<ErasureResidue> {
    return readResidue(this.client, userId);
  }

  redactMessages(userId: string, rooms: string[]): Promise<number> {
    return redactAndWait(this.client, userId, rooms, this.purgeTiming);
  }

  deleteMedia(userId: string): Promise<number> {
    return deleteAllMedia(this.client, userId);
  }
}
