// src/synapse/undici.ts takes the two parts of undici the client uses from undici's own files, not
// its index (which loads far more): they must be the very ones the index exports, and `request`
// must behave as the index's does.
import { Agent as IndexAgent, request as indexRequest, MockAgent } from "undici";
import { describe, expect, it } from "vitest";
import { Agent, request } from "../../src/synapse/undici.js";

describe("the parts of undici the API client loads", () => {
  it("are undici's own Agent", () => {
    expect(Agent).toBe(IndexAgent);
  });

  it("request as undici's request does: method, path and query, headers, body, answer", async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const seen: unknown[] = [];
    mock
      .get("http://synapse.test")
      .intercept({ path: "/_synapse/admin/v2/users?from=0&limit=2", method: "POST" })
      .reply(201, (options) => {
        seen.push([options.headers, options.body]);
        return { users: [] };
      })
      .times(2);
    const answers = [];
    for (const send of [request, indexRequest]) {
      const res = await send("http://synapse.test/_synapse/admin/v2/users?from=0&limit=2", {
        method: "POST",
        dispatcher: mock,
        headers: { authorization: "Bearer t", "content-type": "application/json" },
        body: '{"a":1}',
      });
      answers.push([res.statusCode, await res.body.json()]);
    }
    expect(answers).toEqual([
      [201, { users: [] }],
      [201, { users: [] }],
    ]);
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]).toEqual([{ authorization: "Bearer t", "content-type": "application/json" }, '{"a":1}']);
    await mock.close();
  });
});
