import { type SessionCookies, type TicketStore, WebsocketTickets } from 'next-channels';
import { RoomAccess } from './access';
import { Accounts, DEFAULT_ACCOUNT_LIMITS } from './accounts';
import { PasswordHasher } from './passwords';
import { DEFAULT_ROOM_CHANGES, Rooms } from './rooms';
import type { AccessServices } from './runtime';
import { MessageSearch } from './search';
import type { MessageStore } from './store/types';

export interface AccessServicesOptions {
  readonly store: MessageStore;
  readonly sessions: SessionCookies;
  /** Default: scrypt at OWASP's parameters. Tests pass a cheaper one. */
  readonly hasher?: PasswordHasher;
  /** Whether sign-ins, sign-ups, room changes and searches are rate limited (default true; off with `RATE_LIMIT=off`). */
  readonly limited?: boolean;
  /** The access checker the consumers use, shared so both see the same kinds (default: a new one). */
  readonly access?: RoomAccess;
  readonly now?: () => number;
  /** Where WebSocket tickets wait (default: this process). */
  readonly ticketStore?: TicketStore | null;
}

/** Accounts, rooms, access and tickets over the store's directory: what the server and the route tests build. */
export function accessServices(options: AccessServicesOptions): AccessServices {
  const { store, sessions } = options;
  const limited = options.limited ?? true;
  const now = options.now ?? Date.now;
  const access = options.access ?? new RoomAccess(store.directory);
  const hasher = options.hasher ?? new PasswordHasher();
  return {
    access,
    search: new MessageSearch({ store, access, now, ...(limited ? {} : { limits: null }) }),
    tickets: new WebsocketTickets(options.ticketStore ? { store: options.ticketStore } : { now }),
    accounts: new Accounts({ directory: store.directory, sessions, hasher, limits: limited ? DEFAULT_ACCOUNT_LIMITS : null, now }),
    rooms: new Rooms({ directory: store.directory, access, changes: limited ? DEFAULT_ROOM_CHANGES : null, now }),
  };
}
