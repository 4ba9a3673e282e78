// The two parts of undici the API client uses — a connection pool (Agent) and `request` — taken
// from undici's own files rather than from its index, which also loads fetch, WebSocket,
// EventSource, the caches and the mocks: twice the code for the CLI to compile at every start.
// undici has no exports map, so these are public files of the package; test/unit/undici.test.ts
// checks that they are the very ones its index exports, and behave as its `request`.
import type { Dispatcher } from "undici";
import dispatchRequest from "undici/lib/api/api-request.js";
import UndiciAgent from "undici/lib/dispatcher/agent.js";

export const Agent = UndiciAgent;

export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path"> & { dispatcher: Dispatcher };

/** undici's `request(url, options)`, for a dispatcher given in the options (there is no global one here). */
export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const { origin, pathname, search } = new URL(url);
  return dispatchRequest.call(dispatcher, { ...rest, origin, path: pathname + search });
}
