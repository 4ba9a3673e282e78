// Which users the inventory reads again with the single-user GET: a backend that lists the detail
// attributes in bulk (MAS) still has no `suspended` flag in its listing, and only the users whose
// flag is needed are read for it.
import { describe, expect, it } from "vitest";
import { readInventory } from "../../src/accounts/inventory.js";
import type { AccountsBackend } from "../../src/domain/accounts.js";
import { actualUser, readInFull } from "../support/users.js";

const listed = actualUser("@carol:example.org", "active", { displayname: "Carol", ...readInFull() });

function backend(found: string[]): AccountsBackend {
  return {
    async *listUsers() {
      yield [listed];
    },
    async findUser(userId: string) {
      found.push(userId);
      return { ...listed, suspended: true };
    },
  } as unknown as AccountsBackend;
}

describe("readInventory", () => {
  it("reads a user listed with its e-mails and links but no suspended flag in full when its flag is needed", async () => {
    const found: string[] = [];
    const users = await readInventory(backend(found), { needsSuspended: () => true });
    expect(found).toEqual([listed.userId]);
    expect(users.get(listed.userId)?.suspended).toBe(true);
  });

  it("does not read in full a user listed with its details when only those are needed (MAS's bulk read)", async () => {
    const found: string[] = [];
    await readInventory(backend(found), { needsDetails: () => true, needsSuspended: () => false });
    expect(found).toEqual([]);
  });
});
