import { type ChannelLayer, KeyedBuckets, newSessionId, type RateLimit, type Session, type SessionCookies, type WebsocketTickets } from 'next-channels';
import { HasherBusy, passwordProblem, type PasswordHasher } from './passwords';
import { Refused } from './refused';
import type { Account, Directory } from './store/directory';
import { normaliseUsername } from './usernames';

/** How long an account's session is listed (a little past the cookie's 180 days). */
const SESSION_RECORD_MS = 181 * 86_400_000;

/** What account calls may spend, per client address and per account. */
export interface AccountLimits {
  /** Sign-in attempts per address (default 10 a minute). */
  readonly signInPerAddress: RateLimit;
  /** Failed sign-ins per account (default 5 per 15 minutes): guessing one person's password stays slow from many addresses. */
  readonly failuresPerAccount: RateLimit;
  /** Accounts made per address (default 20 an hour). */
  readonly signUpPerAddress: RateLimit;
  /** WebSocket tickets issued per person (default 10 at once, 30 a minute). */
  readonly ticketsPerUser: RateLimit;
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = {
  signInPerAddress: { rate: 10, perMs: 60_000, burst: 10 },
  failuresPerAccount: { rate: 5, perMs: 15 * 60_000, burst: 5 },
  signUpPerAddress: { rate: 20, perMs: 3_600_000, burst: 20 },
  ticketsPerUser: { rate: 30, perMs: 60_000, burst: 10 },
};

export interface AccountsOptions {
  readonly directory: Directory;
  readonly sessions: SessionCookies;
  readonly hasher: PasswordHasher;
  /** `null` turns the limits off (benchmarks, `RATE_LIMIT=off`). */
  readonly limits?: AccountLimits | null;
  readonly now?: () => number;
}

/** A signed-in session: the cookie to set, and the account it is of. */
export interface SignedIn {
  readonly session: Session;
  readonly account: Account;
}

/**
 * Accounts of the chat: sign up (a guest keeps their user id, so their history stays theirs),
 * sign in, sign out, password change. Every change of who a browser is rotates its session: the
 * old one is revoked (its sockets close in every process) and a new id is issued, so a session id
 * known before sign-in is worth nothing after it.
 */
export class Accounts {
  readonly #directory: Directory;
  readonly #sessions: SessionCookies;
  readonly #hasher: PasswordHasher;
  readonly #now: () => number;
  readonly #signIns: KeyedBuckets | null;
  readonly #failures: KeyedBuckets | null;
  readonly #signUps: KeyedBuckets | null;
  readonly #tickets: KeyedBuckets | null;

  constructor(options: AccountsOptions) {
    this.#directory = options.directory;
    this.#sessions = options.sessions;
    this.#hasher = options.hasher;
    this.#now = options.now ?? Date.now;
    const limits = options.limits === undefined ? DEFAULT_ACCOUNT_LIMITS : options.limits;
    const buckets = (limit: RateLimit) => new KeyedBuckets(limit, { now: this.#now, maxKeys: 50_000 });
    this.#signIns = limits ? buckets(limits.signInPerAddress) : null;
    this.#failures = limits ? buckets(limits.failuresPerAccount) : null;
    this.#signUps = limits ? buckets(limits.signUpPerAddress) : null;
    this.#tickets = limits ? buckets(limits.ticketsPerUser) : null;
  }

  /**
   * A single-use ticket for the session's socket (`?ticket=`), for a page that cannot send the
   * cookie with its WebSocket. It carries the session: it stops working when the session ends.
   */
  async ticket(current: Session, tickets: WebsocketTickets): Promise<string> {
    this.#spend(this.#tickets, current.user.id, 'too many tickets; try again in a moment');
    return tickets.issue({ user: current.user, sessionId: current.id });
  }

  /** The account of a user id, or `null` for a guest. */
  account(userId: string): Promise<Account | null> {
    return this.#directory.accountByUserId(userId);
  }

  /** The account of a user name as typed, or `null`. */
  byUsername(username: string): Promise<Account | null> {
    const checked = normaliseUsername(username);
    return checked.ok ? this.#directory.accountByUsername(checked.key) : Promise.resolve(null);
  }

  /**
   * Makes an account for the browser's guest (`current`; a client with no session gets a new
   * user id), and signs it in.
   */
  async signUp(current: Session | null, input: { readonly username: unknown; readonly password: unknown }, address: string, layer: ChannelLayer): Promise<SignedIn> {
    const username = normaliseUsername(input.username);
    if (!username.ok) throw new Refused(400, 'invalid_username', username.error);
    const problem = passwordProblem(input.password);
    if (problem !== null) throw new Refused(400, 'invalid_password', problem);
    if (current && (await this.#directory.accountByUserId(current.user.id))) {
      throw new Refused(409, 'already_signed_in', 'this browser is signed in to an account; sign out first');
    }
    this.#spend(this.#signUps, address, 'too many accounts made from your network address; try again later');
    const account: Account = {
      userId: current?.user.id ?? `u_${newSessionId().slice(0, 16)}`,
      username: username.username,
      usernameKey: username.key,
      passwordHash: await this.#hash(input.password as string),
      createdAt: this.#now(),
    };
    const created = await this.#directory.createAccount(account);
    if (created === 'username_taken') throw new Refused(409, 'username_taken', 'that user name is taken');
    if (created === 'account_exists') throw new Refused(409, 'already_signed_in', 'this browser is signed in to an account; sign out first');
    return { session: await this.#rotate(current, account, layer), account };
  }

  /** Checks a user name and password and signs the browser in; the same answer for an unknown name and a wrong password. */
  async signIn(current: Session | null, input: { readonly username: unknown; readonly password: unknown }, address: string, layer: ChannelLayer): Promise<SignedIn> {
    const badCredentials = new Refused(401, 'bad_credentials', 'wrong user name or password');
    if (typeof input.password !== 'string') throw badCredentials;
    const username = normaliseUsername(input.username);
    this.#spend(this.#signIns, address, 'too many sign-in attempts from your network address; try again later');
    const accountKey = username.ok ? username.key : '';
    if (this.#failures && username.ok && !this.#failures.has(accountKey)) {
      throw new Refused(429, 'rate_limited', 'too many failed sign-ins for this account; try again later', this.#seconds(this.#failures.msUntil(accountKey)));
    }
    const account = username.ok ? await this.#directory.accountByUsername(username.key) : null;
    const password = input.password.length > 512 ? '' : input.password;
    const matches = account ? await this.#check(password, account.passwordHash) : await this.#checkNobody(password);
    if (!account || !matches) {
      if (username.ok) this.#failures?.take(accountKey);
      throw badCredentials;
    }
    if (this.#hasher.isOutdated(account.passwordHash)) await this.#directory.setPasswordHash(account.userId, await this.#hash(password));
    return { session: await this.#rotate(current, account, layer), account };
  }

  /** Signs a browser out: its session is revoked everywhere and its sockets close. */
  async signOut(current: Session, layer: ChannelLayer): Promise<void> {
    await this.#sessions.revoke(current.id, layer);
    await this.#directory.removeAccountSession(current.id);
  }

  /**
   * Changes the password of the signed-in account: every other session of it ends (their
   * sockets close, in every process), and this browser gets a new session.
   */
  async changePassword(current: Session, input: { readonly password: unknown; readonly newPassword: unknown }, layer: ChannelLayer): Promise<SignedIn> {
    const account = await this.#directory.accountByUserId(current.user.id);
    if (!account) throw new Refused(401, 'sign_in_required', 'sign in to change your password');
    const problem = passwordProblem(input.newPassword);
    if (problem !== null) throw new Refused(400, 'invalid_password', problem);
    const oldPassword = typeof input.password === 'string' && input.password.length <= 512 ? input.password : '';
    if (!(await this.#check(oldPassword, account.passwordHash))) throw new Refused(401, 'bad_credentials', 'the current password is wrong');
    await this.#directory.setPasswordHash(account.userId, await this.#hash(input.newPassword as string));
    for (const sessionId of await this.#directory.accountSessions(account.userId)) {
      if (sessionId === current.id) continue;
      await this.#sessions.revoke(sessionId, layer);
      await this.#directory.removeAccountSession(sessionId);
    }
    return { session: await this.#rotate(current, account, layer), account };
  }

  /** A new session for `account` (named by its user name); the browser's previous one is revoked. */
  async #rotate(current: Session | null, account: Account, layer: ChannelLayer): Promise<Session> {
    const session: Session = { id: newSessionId(), user: { id: account.userId, name: account.username } };
    await this.#directory.addAccountSession(account.userId, session.id, this.#now() + SESSION_RECORD_MS);
    if (current) {
      await this.#sessions.revoke(current.id, layer);
      await this.#directory.removeAccountSession(current.id);
    }
    return session;
  }

  #spend(buckets: KeyedBuckets | null, key: string, detail: string): void {
    if (buckets && !buckets.take(key)) throw new Refused(429, 'rate_limited', detail, this.#seconds(buckets.msUntil(key)));
  }

  #seconds(ms: number): number {
    return Math.max(1, Math.ceil(ms / 1000));
  }

  #hash(password: string): Promise<string> {
    return this.#busy(() => this.#hasher.hash(password));
  }

  #check(password: string, stored: string): Promise<boolean> {
    return this.#busy(() => this.#hasher.verify(password, stored));
  }

  #checkNobody(password: string): Promise<boolean> {
    return this.#busy(() => this.#hasher.verifyNobody(password));
  }

  async #busy<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HasherBusy) throw new Refused(503, 'busy', error.message, 1);
      throw error;
    }
  }
}
