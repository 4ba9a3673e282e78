// A fake of the GitHub REST API calls the Action makes (issue comments, issues, the token's own
// account), with Link-header pagination and authors, recording every request so tests can check
// what was (and was not) written.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** An author as GitHub's REST API shows it on comments and issues. */
export interface Actor {
  login: string;
  type: string;
}
/** Who the workflow's GITHUB_TOKEN (an app installation token) writes as. */
export const ACTIONS_BOT: Actor = { login: "github-actions[bot]", type: "Bot" };
/** Someone else: the author of comments and issues that a test adds itself, unless it says otherwise. */
export const OCTOCAT: Actor = { login: "octocat", type: "User" };

export interface Comment {
  id: number;
  body: string;
  user?: Actor;
}
export interface Issue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  labels: { name: string }[];
  comments: Comment[];
  pull_request?: object;
  user?: Actor;
}

export interface FakeGitHub {
  url: string;
  issues: Map<number, Issue>;
  requests: { method: string; path: string; body?: unknown; authorization?: string }[];
  /** Repository files by `ref:path`, served raw by the contents API. */
  files: Map<string, string>;
  /**
   * The account the token belongs to, which GET /user names and which writes with it. Undefined
   * (the default) is the workflow's GITHUB_TOKEN: GET /user is refused with 403, as for any
   * installation token, and what it writes is authored by github-actions[bot].
   */
  tokenUser: Actor | undefined;
  addIssue(fields: Partial<Issue> & { title: string }): Issue;
  writes(): { method: string; path: string; body?: unknown }[];
  close(): Promise<void>;
}

export async function startFakeGitHub(repository: string): Promise<FakeGitHub> {
  const issues = new Map<number, Issue>();
  const requests: FakeGitHub["requests"] = [];
  const files = new Map<string, string>();
  let nextIssue = 1;
  let nextComment = 1000;
  const addIssue = (fields: Partial<Issue> & { title: string }): Issue => {
    const issue: Issue = {
      number: nextIssue++,
      body: "",
      state: "open",
      labels: [],
      comments: [],
      user: OCTOCAT,
      ...fields,
    };
    issues.set(issue.number, issue);
    return issue;
  };
  const prefix = `/repos/${repository}`;

  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({
        method: req.method ?? "GET",
        path: url.pathname + url.search,
        body,
        authorization: req.headers.authorization,
      });
      const send = (status: number, payload: unknown, link?: string) => {
        res.writeHead(status, { "content-type": "application/json", ...(link ? { link } : {}) });
        res.end(JSON.stringify(payload));
      };
      const page = <T>(items: T[]) => {
        const perPage = Number(url.searchParams.get("per_page") ?? 30);
        const n = Number(url.searchParams.get("page") ?? 1);
        const slice = items.slice((n - 1) * perPage, n * perPage);
        let link: string | undefined;
        if (n * perPage < items.length) {
          const next = new URL(url.href.replace("http://fake", `http://${req.headers.host}`));
          next.searchParams.set("page", String(n + 1));
          link = `<${next.href}>; rel="next"`;
        }
        send(200, slice, link);
      };
      if (req.headers.authorization !== "Bearer fake-github-token") return send(401, { message: "Bad credentials" });
      const path = url.pathname;
      const author = () => fake.tokenUser ?? ACTIONS_BOT;
      if (req.method === "GET" && path === "/user") {
        if (!fake.tokenUser)
          return send(403, {
            message: "Resource not accessible by integration",
            documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user",
          });
        return send(200, { ...fake.tokenUser, id: 1 });
      }
      const route = (re: string) => path.match(new RegExp(`^${prefix}${re}$`));
      const issuePath = route("/issues/(\\d+)");
      const commentsPath = route("/issues/(\\d+)/comments");
      const commentPath = route("/issues/comments/(\\d+)");
      const contentsPath = route("/contents/(.+)");
      if (contentsPath && req.method === "GET") {
        const text = files.get(`${url.searchParams.get("ref")}:${decodeURIComponent(contentsPath[1]!)}`);
        if (text === undefined) return send(404, { message: "Not Found" });
        res.writeHead(200, { "content-type": "application/vnd.github.raw+json" });
        return res.end(text);
      }
      if (req.method === "GET" && path === `${prefix}/issues`) {
        const label = url.searchParams.get("labels");
        const state = url.searchParams.get("state") ?? "open";
        return page(
          [...issues.values()].filter((i) => i.state === state && (!label || i.labels.some((l) => l.name === label))),
        );
      }
      if (req.method === "POST" && path === `${prefix}/issues`) {
        const issue = addIssue({
          title: body.title,
          body: body.body,
          labels: (body.labels ?? []).map((name: string) => ({ name })),
          user: author(),
        });
        return send(201, issue);
      }
      if (issuePath && req.method === "PATCH") {
        const issue = issues.get(Number(issuePath[1]));
        if (!issue) return send(404, { message: "Not Found" });
        if (body.body !== undefined) issue.body = body.body;
        if (body.state) issue.state = body.state;
        return send(200, issue);
      }
      if (commentsPath) {
        const issue = issues.get(Number(commentsPath[1]));
        if (!issue) return send(404, { message: "Not Found" });
        if (req.method === "GET") return page(issue.comments);
        const comment = { id: nextComment++, body: body.body, user: author() };
        issue.comments.push(comment);
        return send(201, comment);
      }
      if (commentPath && req.method === "PATCH") {
        for (const issue of issues.values()) {
          const comment = issue.comments.find((c) => c.id === Number(commentPath[1]));
          if (comment) {
            if (body.body.length > 65_536)
              return send(422, { message: "body is too long (maximum is 65536 characters)" });
            comment.body = body.body;
            return send(200, comment);
          }
        }
        return send(404, { message: "Not Found" });
      }
      send(404, { message: "Not Found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake: FakeGitHub = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issues,
    requests,
    files,
    tokenUser: undefined,
    addIssue,
    writes: () => requests.filter((r) => r.method !== "GET"),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}
