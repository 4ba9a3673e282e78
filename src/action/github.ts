import { ToolError } from "../errors.js";

/** A GitHub account as the REST API names it: `login` and `type` ("User", "Bot", "Organization"). */
export interface GitHubActor {
  login: string;
  type: string;
}

/**
 * Who the workflow's own GITHUB_TOKEN writes as. That token is a GitHub App installation token,
 * for which `GET /user` answers 403 "Resource not accessible by integration".
 */
export const GITHUB_ACTIONS_BOT: GitHubActor = { login: "github-actions[bot]", type: "Bot" };

class GitHubApiError extends ToolError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly status: number,
  ) {
    super(message, hint);
  }
}

/**
 * The few GitHub REST calls the Action makes (comments and issues), paginated by the Link header.
 * Small enough not to pull in Octokit, and it talks to any base URL (GitHub Enterprise, the test fake).
 */
export class GitHubApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    /** "owner/name" */
    private readonly repository: string,
  ) {}

  async #request<T>(
    method: string,
    url: string,
    body?: unknown,
    accept = "application/vnd.github+json",
  ): Promise<{ json: T; next?: string; text: string }> {
    const res = await fetch(url.startsWith("http") ? url : `${this.baseUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept,
        "x-github-api-version": "2022-11-28",
        "user-agent": "synapse-gitops",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      const message = (() => {
        try {
          return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 200);
        } catch {
          return text.slice(0, 200);
        }
      })();
      const hint =
        res.status === 403 || res.status === 404
          ? "check the workflow's permissions (issues: write, pull-requests: write)"
          : undefined;
      throw new GitHubApiError(
        `GitHub API ${method} ${new URL(url, this.baseUrl).pathname} → ${res.status}: ${message}`,
        hint,
        res.status,
      );
    }
    const next = res.headers.get("link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
    if (accept !== "application/vnd.github+json") return { json: undefined as T, text };
    return { json: (text ? JSON.parse(text) : {}) as T, text, ...(next ? { next } : {}) };
  }

  async *#paginate<T>(path: string): AsyncGenerator<T> {
    let url: string | undefined = `${path}${path.includes("?") ? "&" : "?"}per_page=100`;
    while (url) {
      const page: { json: T[]; next?: string } = await this.#request<T[]>("GET", url);
      yield* page.json;
      url = page.next;
    }
  }

  #self: Promise<GitHubActor> | undefined;

  /**
   * The account the token writes as: `GET /user` for a personal or OAuth token; the Actions bot
   * when that is refused with 403, as it is for the workflow's GITHUB_TOKEN (an installation
   * token). Any other failure is an error: guessing an identity could adopt someone else's comment.
   */
  self(): Promise<GitHubActor> {
    this.#self ??= this.#request<{ login?: unknown; type?: unknown }>("GET", "/user").then(
      ({ json }) => {
        if (typeof json.login !== "string" || typeof json.type !== "string")
          throw new ToolError("GitHub API GET /user answered without a login and type");
        return { login: json.login, type: json.type };
      },
      (e: unknown) => {
        // Only the installation token's own refusal: a 403 for another reason (a rate limit, a
        // narrow fine-grained token) says nothing about who the token is.
        if (e instanceof GitHubApiError && e.status === 403 && /Resource not accessible by integration/.test(e.message))
          return GITHUB_ACTIONS_BOT;
        throw e;
      },
    );
    return this.#self;
  }

  async #isOwn(author: { login?: unknown; type?: unknown } | null | undefined): Promise<boolean> {
    const me = await this.self();
    return author?.login === me.login && author?.type === me.type;
  }

  /**
   * The comment carrying the marker that the token's own account wrote. Anyone can write the
   * marker into a comment of their own; adopting theirs would let them choose which comment the
   * plan overwrites (and keep the real plan from being posted).
   */
  async findComment(issue: number, marker: string): Promise<{ id: number; body: string } | undefined> {
    for await (const c of this.#paginate<{ id: number; body?: string; user?: GitHubActor | null }>(
      `/repos/${this.repository}/issues/${issue}/comments`,
    )) {
      if (c.body?.includes(marker) && (await this.#isOwn(c.user))) return { id: c.id, body: c.body };
    }
    return undefined;
  }

  async createComment(issue: number, body: string): Promise<void> {
    await this.#request("POST", `/repos/${this.repository}/issues/${issue}/comments`, { body });
  }

  async updateComment(id: number, body: string): Promise<void> {
    await this.#request("PATCH", `/repos/${this.repository}/issues/comments/${id}`, { body });
  }

  /**
   * The open issue carrying both the label and the marker, opened by the token's own account
   * (never matched by title, which people edit; never one that someone else opened with the marker).
   */
  async findOpenIssue(label: string, marker: string): Promise<{ number: number; body: string } | undefined> {
    const query = `/repos/${this.repository}/issues?state=open&labels=${encodeURIComponent(label)}`;
    for await (const issue of this.#paginate<{
      number: number;
      body?: string;
      pull_request?: unknown;
      user?: GitHubActor | null;
    }>(query)) {
      if (!issue.pull_request && issue.body?.includes(marker) && (await this.#isOwn(issue.user)))
        return { number: issue.number, body: issue.body };
    }
    return undefined;
  }

  async createIssue(title: string, body: string, label: string): Promise<number> {
    const { json } = await this.#request<{ number: number }>("POST", `/repos/${this.repository}/issues`, {
      title,
      body,
      labels: [label],
    });
    return json.number;
  }

  async updateIssue(
    issue: number,
    fields: { body?: string; state?: "open" | "closed"; state_reason?: string },
  ): Promise<void> {
    await this.#request("PATCH", `/repos/${this.repository}/issues/${issue}`, fields);
  }

  /** A file's text at a ref (a branch name), or undefined when it does not exist there. */
  async fileAt(path: string, ref: string): Promise<string | undefined> {
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    try {
      const { text } = await this.#request(
        "GET",
        `/repos/${this.repository}/contents/${encoded}?ref=${encodeURIComponent(ref)}`,
        undefined,
        "application/vnd.github.raw+json",
      );
      return text;
    } catch (e) {
      if (e instanceof ToolError && / → 404:/.test(e.message)) return undefined;
      throw e;
    }
  }
}
