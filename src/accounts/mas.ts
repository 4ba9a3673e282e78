import { setTimeout as sleep } from "node:timers/promises";
import type { AccountState, ActualUser, ErasureResidue } from "../domain/account.js";
import type { AccountsBackend, BackendTraits, UserChanges } from "../domain/accounts.js";
import type { ExternalId } from "../domain/attributes.js";
import type { DesiredUser } from "../domain/desired.js";
import { localpartOf } from "../domain/userId.js";
import { ToolError } from "../errors.js";
import type { SynapseClient } from "../synapse/client.js";
import { SynapseError } from "../synapse/errors.js";
import type { MasClient, MasProvider, MasUser } from "../synapse/mas.js";
import { DEFAULT_PURGE_TIMING, deleteAllMedia, readResidue, redactAndWait } from "./purge.js";

/** How long apply waits for MAS's background job to show a deactivation or erasure in Synapse. */
const DEFAULT_SETTLE_MS = 60_000;

/**
 * Accounts kept by the Matrix Authentication Service, for a Synapse that delegates authentication
 * to it (mas-facts.md): MAS is the source of truth for the account itself (its existence, lock,
 * `can_request_admin`, password, e-mails, upstream links); Synapse keeps the profile (display name,
 * avatar) and shows the lifecycle's result (deactivated, erased).
 *
 * - Create through MAS (it provisions the user in Synapse), never Synapse's PUT v2: a user made
 *   there has no MAS account and can never log in. Display name and avatar then through Synapse.
 * - Deactivate and erase are MAS's deactivate with `skip_erase` true or false. MAS does the Synapse
 *   side in a background job: this waits, bounded, until Synapse shows it.
 * - Users that live only in Synapse (bridges, accounts never migrated) are listed with
 *   `synapseOnly` and never written here.
 * - The inventory is three bulk lists of MAS (users, e-mails, upstream links; cursor pagination)
 *   joined with Synapse's user list: never one request per user.
 */
export class MasAccounts implements AccountsBackend {
  readonly name = "mas";

  private constructor(
    private readonly synapse: SynapseClient,
    private readonly mas: MasClient,
    readonly traits: BackendTraits & { providerId: (name: string) => string | undefined },
    private readonly settleMs: number,
  ) {}

  /** Reads what the planner must know of MAS up front: whether passwords can be set, and its upstream providers. */
  static async connect(
    synapse: SynapseClient,
    mas: MasClient,
    options: { settleMs?: number } = {},
  ): Promise<MasAccounts> {
    const [passwordLogin, providers] = await Promise.all([mas.passwordLoginEnabled(), mas.listProviders()]);
    const resolve = providerResolver(providers);
    const traits = {
      passwordLogin,
      providerProblem: (name: string) => {
        const r = resolve(name);
        return "problem" in r ? r.problem : undefined;
      },
      providerId: (name: string) => {
        const r = resolve(name);
        return "id" in r ? r.id : undefined;
      },
    };
    return new MasAccounts(synapse, mas, traits, options.settleMs ?? DEFAULT_SETTLE_MS);
  }

  async *listUsers(): AsyncIterable<ActualUser[]> {
    const byName = new Map<string, MasUser>();
    const emails = new Map<string, string[]>();
    const links = new Map<string, ExternalId[]>();
    await Promise.all([
      (async () => {
        for await (const page of this.mas.listUsers()) for (const u of page) byName.set(u.username, u);
      })(),
      (async () => {
        for await (const page of this.mas.listEmails())
          for (const e of page) push(emails, e.userId, e.email.toLowerCase());
      })(),
      (async () => {
        for await (const page of this.mas.listLinks()) {
          for (const l of page) if (l.userId) push(links, l.userId, { provider: l.providerId, id: l.subject });
        }
      })(),
    ]);
    for await (const page of this.synapse.listAllUsers({ delegatedAuth: true })) {
      yield page.map((u) => joined(u, byName.get(localpartOf(u.userId)), emails, links));
    }
  }

  async findUser(userId: string): Promise<ActualUser | undefined> {
    const [user, mas] = await Promise.all([
      this.synapse.findUser(userId),
      this.mas.findUserByUsername(localpartOf(userId)),
    ]);
    if (!user) return undefined;
    if (!mas) return joined(user, undefined, new Map(), new Map());
    const emails = new Map<string, string[]>([[mas.id, []]]);
    const links = new Map<string, ExternalId[]>([[mas.id, []]]);
    for await (const page of this.mas.listEmails(mas.id))
      for (const e of page) push(emails, mas.id, e.email.toLowerCase());
    for await (const page of this.mas.listLinks(mas.id)) {
      for (const l of page) push(links, mas.id, { provider: l.providerId, id: l.subject });
    }
    return joined(user, mas, emails, links);
  }

  async createUser(userId: string, changes: UserChanges): Promise<{ created: boolean }> {
    const localpart = localpartOf(userId);
    let created: MasUser | undefined;
    try {
      created = await this.mas.createUser(localpart);
    } catch (e) {
      // The answer was lost, not the request: apply found the user absent just before, under the
      // apply lock, so a user there now is ours — finish it (the password, e-mails…) rather than
      // leave it half made, which a later update could not complete (passwords are set on create only).
      if (!(e instanceof SynapseError && (e.kind === "network" || (e.status ?? 0) >= 500))) throw e;
      created = await this.mas.findUserByUsername(localpart);
      if (!created) throw e;
    }
    if (!created) return { created: false };
    await this.#update(userId, created, changes);
    return { created: true };
  }

  async updateUser(userId: string, changes: UserChanges): Promise<void> {
    await this.#update(userId, await this.#masUser(userId), changes);
  }

  async setLocked(userId: string, locked: boolean): Promise<void> {
    await this.mas.setLocked((await this.#masUser(userId)).id, locked);
  }

  deactivate(userId: string): Promise<void> {
    return this.#deactivate(userId, "deactivated");
  }

  erase(userId: string): Promise<void> {
    return this.#deactivate(userId, "erased");
  }

  /** MAS reactivates in Synapse first (which un-erases there too: apply re-checks the state before). */
  async reactivate(userId: string, changes: UserChanges): Promise<void> {
    const mas = await this.#masUser(userId);
    await this.mas.reactivate(mas.id);
    await this.#update(userId, mas, changes);
  }

  // A complete erasure's messages and media live in Synapse: the same as on plain Synapse.
  erasureResidue(userId: string): Promise<ErasureResidue> {
    return readResidue(this.synapse, userId);
  }

  redactMessages(userId: string, rooms: string[]): Promise<number> {
    return redactAndWait(this.synapse, userId, rooms, DEFAULT_PURGE_TIMING);
  }

  deleteMedia(userId: string): Promise<number> {
    return deleteAllMedia(this.synapse, userId);
  }

  async #deactivate(userId: string, to: Exclude<AccountState, "active">): Promise<void> {
    await this.mas.deactivate((await this.#masUser(userId)).id, { erase: to === "erased" });
    // MAS's job ends the sessions, drops the e-mails and calls Synapse's delete_user later.
    const deadline = Date.now() + this.settleMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      const now = await this.synapse.findUser(userId);
      if (now?.state === to || (to === "deactivated" && now?.state === "erased")) return;
      if (Date.now() + wait > deadline) {
        throw new ToolError(
          `MAS accepted the ${to === "erased" ? "erasure" : "deactivation"} of ${userId}, but Synapse does not show it after ${Math.round(this.settleMs / 1000)} s`,
          "MAS finishes it in a background job (see MAS's logs); run apply again: it converges",
        );
      }
      await sleep(wait);
    }
  }

  async #masUser(userId: string): Promise<MasUser> {
    const user = await this.mas.findUserByUsername(localpartOf(userId));
    if (!user) {
      throw new ToolError(
        `${userId} lives only in Synapse, not in MAS; it is never written through MAS`,
        "an application-service user is managed by its bridge; migrate other accounts to MAS (syn2mas) first",
      );
    }
    return user;
  }

  /** Profile through Synapse; the rest through MAS, one field after another (not atomic). */
  async #update(userId: string, mas: MasUser, changes: UserChanges): Promise<void> {
    const profile: UserChanges = {};
    if (changes.displayname !== undefined) profile.displayname = changes.displayname;
    if (changes.avatarUrl !== undefined) profile.avatarUrl = changes.avatarUrl;
    if (Object.keys(profile).length > 0) await this.synapse.modifyUser(userId, profile);
    // Suspension is Synapse's (moderation), not MAS's.
    if (changes.suspended !== undefined) await this.synapse.setSuspended(userId, changes.suspended);
    if (changes.admin !== undefined) await this.mas.setAdmin(mas.id, changes.admin);
    if (changes.locked !== undefined) await this.mas.setLocked(mas.id, changes.locked);
    if (changes.emails !== undefined) await this.#setEmails(mas.id, changes.emails);
    if (changes.externalIds !== undefined) await this.#setLinks(mas.id, changes.externalIds);
    if (changes.password !== undefined) await this.mas.setPassword(mas.id, changes.password);
  }

  async #setEmails(id: string, wanted: string[]): Promise<void> {
    const want = new Set(wanted.map((e) => e.toLowerCase()));
    const have = new Set<string>();
    for await (const page of this.mas.listEmails(id)) {
      for (const e of page) {
        const address = e.email.toLowerCase();
        if (want.has(address) && !have.has(address)) have.add(address);
        else await this.mas.deleteEmail(e.id);
      }
    }
    for (const address of want) if (!have.has(address)) await this.mas.addEmail(id, address);
  }

  async #setLinks(id: string, wanted: ExternalId[]): Promise<void> {
    const key = (provider: string, subject: string) => `${provider}\u0000${subject}`;
    const want = new Map<string, ExternalId>();
    for (const e of wanted) {
      const provider = this.traits.providerId(e.provider);
      if (!provider)
        throw new ToolError(`${e.provider}: ${this.traits.providerProblem?.(e.provider) ?? "unknown provider"}`);
      want.set(key(provider, e.id), { provider, id: e.id });
    }
    const have = new Set<string>();
    for await (const page of this.mas.listLinks(id)) {
      for (const l of page) {
        const k = key(l.providerId, l.subject);
        if (want.has(k)) have.add(k);
        else await this.mas.deleteLink(l.id);
      }
    }
    for (const [k, e] of want) if (!have.has(k)) await this.mas.addLink(id, e.provider, e.id);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * One user as both sides see it. Synapse says whether it is deactivated or erased (MAS's
 * deactivation reaches Synapse later, and an interrupted one must be planned again); MAS says
 * whether it is locked (MAS enforces locks) and admin (`can_request_admin`; Synapse's column is
 * ignored under MAS), and holds the e-mails and upstream links. A user MAS does not know lives
 * only in Synapse.
 */
function joined(
  user: ActualUser,
  mas: MasUser | undefined,
  emails: Map<string, string[]>,
  links: Map<string, ExternalId[]>,
): ActualUser {
  if (!mas) return { ...user, synapseOnly: true };
  const joinedUser: ActualUser = {
    ...user,
    locked: mas.locked,
    admin: mas.admin,
    emails: emails.get(mas.id) ?? [],
    externalIds: links.get(mas.id) ?? [],
    // Application-service users never have a MAS account.
    appserviceId: null,
  };
  if (mas.deactivated && user.state === "active") joinedUser.disagreement = "deactivated in MAS, active in Synapse";
  else if (!mas.deactivated && user.state !== "active")
    joinedUser.disagreement = `active in MAS, ${user.state} in Synapse`;
  return joinedUser;
}

/**
 * A provider named in the users file → a MAS upstream provider: its ULID as is, else the one
 * provider whose `human_name` or `issuer` is the name. None, or more than one, is a problem the
 * planner refuses (the file must then give the ULID).
 */
export function providerResolver(providers: MasProvider[]): (name: string) => { id: string } | { problem: string } {
  return (name) => {
    const byId = providers.find((p) => p.id === name);
    if (byId) return { id: byId.id };
    const found = providers.filter((p) => p.humanName === name || p.issuer === name);
    if (found.length === 1) return { id: found[0]!.id };
    if (found.length === 0) {
      return { problem: `no MAS upstream provider has the ID, human_name or issuer ${JSON.stringify(name)}` };
    }
    return {
      problem: `${found.length} MAS upstream providers are named ${JSON.stringify(name)} (${found.map((p) => p.id).join(", ")}); write the provider's ID instead`,
    };
  };
}

/**
 * The file's users with each external ID's provider written as the MAS provider's ID, the form the
 * backend reads back, so that both sides compare. Providers that do not resolve are left as written:
 * the planner refuses them (traits.providerProblem). A new map; the file's users are not written on.
 */
export function withMasProviders(
  users: Map<string, DesiredUser>,
  providerId: (name: string) => string | undefined,
): Map<string, DesiredUser> {
  const out = new Map<string, DesiredUser>();
  for (const [id, want] of users) {
    const ext = want.externalIds;
    if (!ext?.length) {
      out.set(id, want);
      continue;
    }
    out.set(id, {
      ...want,
      externalIds: ext.map((e) => ({ provider: providerId(e.provider) ?? e.provider, id: e.id })),
    });
  }
  return out;
}
