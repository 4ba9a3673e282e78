import type { ActualUser } from "../domain/account.js";
import type { AccountsBackend, UserChanges } from "../domain/accounts.js";
import type { SynapseClient } from "../synapse/client.js";

/**
 * Accounts kept by Synapse itself, through its Admin API: the users list, PUT /_synapse/admin/v2/users
 * and POST /_synapse/admin/v1/deactivate.
 */
export class SynapseAccounts implements AccountsBackend {
  readonly name = "synapse";

  constructor(private readonly client: SynapseClient) {}

  listUsers(): AsyncIterable<ActualUser[]> {
    return this.client.listAllUsers();
  }

  findUser(userId: string): Promise<ActualUser | undefined> {
    return this.client.findUser(userId);
  }

  createUser(userId: string, changes: UserChanges): Promise<{ created: boolean }> {
    return this.client.createUser(userId, changes);
  }

  updateUser(userId: string, changes: UserChanges): Promise<void> {
    return this.client.modifyUser(userId, changes);
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
  reactivate(userId: string, changes: UserChanges): Promise<void> {
    return this.client.modifyUser(userId, { ...changes, deactivated: false });
  }
}
