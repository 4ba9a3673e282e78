import { describe, expect, it } from "vitest";
import { exportUsersFile } from "../../src/config/export.js";
import { parseDesiredState } from "../../src/config/load.js";
import type { ActualUser } from "../../src/domain/account.js";

const S = "example.org";
const user = (localpart: string, fields: Partial<ActualUser> = {}): ActualUser => ({
  userId: `@${localpart}:${S}`,
  state: "active",
  locked: false,
  admin: false,
  displayname: null,
  avatarUrl: null,
  userType: null,
  isGuest: false,
  shadowBanned: false,
  creationTs: 0,
  ...fields,
});

describe("export", () => {
  it("keeps every user, in user-ID order, whatever the localpart looks like", () => {
    const users = [user("zoe"), user("__proto__"), user("123"), user("007", { state: "deactivated" }), user("true")];
    const text = exportUsersFile(users, S, "");
    const desired = parseDesiredState([{ name: "export.yaml", text }], { serverName: S });
    expect([...desired.users.keys()]).toEqual(["007", "123", "__proto__", "true", "zoe"].map((l) => `@${l}:${S}`));
    expect(desired.users.get(`@007:${S}`)!.state).toBe("deactivated");
    expect(desired.users.get(`@__proto__:${S}`)!.state).toBe("active");
  });
});
