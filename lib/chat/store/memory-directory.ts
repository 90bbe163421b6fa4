import {
  type Account,
  type CreateAccountResult,
  type Directory,
  higherRole,
  type InviteRecord,
  MAX_UNREAD_COUNTED,
  MAX_VISITED_ROOMS,
  type MemberRecord,
  type NewMember,
  type RoomListEntry,
  type RoomRecord,
} from './directory';
import type { StoredMessage } from './types';

interface Membership {
  userId: string;
  name: string;
  role: NewMember['role'];
  joinedAt: number;
  activeAt: number;
  lastReadId: string | null;
}

/** The directory of `MemoryMessageStore`: this process's memory, for tests and a store of none. */
export class MemoryDirectory implements Directory {
  readonly #accounts = new Map<string, Account>();
  readonly #accountsByName = new Map<string, Account>();
  readonly #sessions = new Map<string, { readonly userId: string; readonly expiresAt: number }>();
  readonly #rooms = new Map<string, RoomRecord>();
  /** room → user id → membership */
  readonly #members = new Map<string, Map<string, Membership>>();
  readonly #invites = new Map<string, InviteRecord>();
  readonly #messages: (room: string) => readonly StoredMessage[];
  readonly #now: () => number;

  constructor(messages: (room: string) => readonly StoredMessage[], now: () => number) {
    this.#messages = messages;
    this.#now = now;
  }

  async createAccount(account: Account): Promise<CreateAccountResult> {
    if (this.#accountsByName.has(account.usernameKey)) return 'username_taken';
    if (this.#accounts.has(account.userId)) return 'account_exists';
    this.#accounts.set(account.userId, account);
    this.#accountsByName.set(account.usernameKey, account);
    return 'created';
  }

  async accountByUsername(usernameKey: string): Promise<Account | null> {
    return this.#accountsByName.get(usernameKey) ?? null;
  }

  async accountByUserId(userId: string): Promise<Account | null> {
    return this.#accounts.get(userId) ?? null;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    const account = this.#accounts.get(userId);
    if (!account) return;
    const changed = { ...account, passwordHash };
    this.#accounts.set(userId, changed);
    this.#accountsByName.set(account.usernameKey, changed);
  }

  async addAccountSession(userId: string, sessionId: string, expiresAt: number): Promise<void> {
    this.#sessions.set(sessionId, { userId, expiresAt });
  }

  async accountSessions(userId: string): Promise<readonly string[]> {
    const now = this.#now();
    return [...this.#sessions].filter(([, session]) => session.userId === userId && session.expiresAt > now).map(([id]) => id);
  }

  async removeAccountSession(sessionId: string): Promise<void> {
    this.#sessions.delete(sessionId);
  }

  async createRoom(room: RoomRecord, members: readonly NewMember[]): Promise<boolean> {
    if (this.#rooms.has(room.room)) return false;
    this.#rooms.set(room.room, room);
    for (const member of members) await this.addMember(room.room, member, room.createdAt);
    return true;
  }

  async room(room: string): Promise<RoomRecord | null> {
    return this.#rooms.get(room) ?? null;
  }

  async member(room: string, userId: string): Promise<MemberRecord | null> {
    const found = this.#members.get(room)?.get(userId);
    return found ? record(found) : null;
  }

  async members(room: string, limit: number): Promise<readonly MemberRecord[]> {
    return [...(this.#members.get(room)?.values() ?? [])].sort((a, b) => a.joinedAt - b.joinedAt).slice(0, limit).map(record);
  }

  async memberCount(room: string): Promise<number> {
    return this.#members.get(room)?.size ?? 0;
  }

  async addMember(room: string, member: NewMember, at: number): Promise<boolean> {
    let members = this.#members.get(room);
    if (!members) {
      members = new Map();
      this.#members.set(room, members);
    }
    const found = members.get(member.userId);
    if (found) {
      found.role = higherRole(found.role, member.role);
      return false;
    }
    members.set(member.userId, { ...member, joinedAt: at, activeAt: at, lastReadId: null });
    return true;
  }

  async removeMember(room: string, userId: string): Promise<boolean> {
    return this.#members.get(room)?.delete(userId) ?? false;
  }

  async recordVisit(room: string, userId: string, name: string, at: number): Promise<void> {
    await this.addMember(room, { userId, name, role: 'visitor' }, at);
    this.#members.get(room)!.get(userId)!.activeAt = at;
    const visited = [...this.#members]
      .map(([name, members]) => [name, members.get(userId)] as const)
      .filter(([, found]) => found?.role === 'visitor')
      .sort(([, a], [, b]) => b!.activeAt - a!.activeAt);
    for (const [forgotten] of visited.slice(MAX_VISITED_ROOMS)) this.#members.get(forgotten)!.delete(userId);
  }

  async markRead(room: string, userId: string, id: string): Promise<boolean> {
    const found = this.#members.get(room)?.get(userId);
    if (!found || (found.lastReadId !== null && BigInt(id) <= BigInt(found.lastReadId))) return false;
    found.lastReadId = id;
    return true;
  }

  async roomsOf(userId: string, limit: number): Promise<readonly RoomListEntry[]> {
    const entries: RoomListEntry[] = [];
    for (const [room, members] of this.#members) {
      const found = members.get(userId);
      if (!found) continue;
      const record = this.#rooms.get(room);
      const messages = this.#messages(room);
      const after = found.lastReadId === null ? 0n : BigInt(found.lastReadId);
      let unread = 0;
      for (let index = messages.length - 1; index >= 0 && unread < MAX_UNREAD_COUNTED; index--) {
        const message = messages[index]!;
        if (BigInt(message.id) <= after) break;
        if (message.userId !== userId && !message.deleted) unread++;
      }
      entries.push({
        room,
        kind: record?.kind ?? 'public',
        title: record?.title ?? '',
        role: found.role,
        lastReadId: found.lastReadId,
        last: messages.at(-1) ?? null,
        unread,
        activeAt: found.activeAt,
      });
    }
    const at = (entry: RoomListEntry): number => Math.max(entry.last?.ts ?? 0, entry.activeAt);
    return entries.sort((a, b) => at(b) - at(a)).slice(0, limit);
  }

  async createInvite(invite: InviteRecord): Promise<void> {
    this.#invites.set(invite.tokenHash, invite);
  }

  async invite(tokenHash: string, now: number): Promise<InviteRecord | null> {
    const found = this.#invites.get(tokenHash);
    return found && found.expiresAt > now ? found : null;
  }

  async invites(room: string, now: number): Promise<readonly InviteRecord[]> {
    return [...this.#invites.values()].filter((invite) => invite.room === room && invite.expiresAt > now).sort((a, b) => b.createdAt - a.createdAt);
  }

  async revokeInvite(room: string, tokenHash: string): Promise<boolean> {
    const found = this.#invites.get(tokenHash);
    if (!found || found.room !== room) return false;
    return this.#invites.delete(tokenHash);
  }
}

function record(membership: Membership): MemberRecord {
  const { userId, name, role, joinedAt, lastReadId } = membership;
  return { userId, name, role, joinedAt, lastReadId };
}
