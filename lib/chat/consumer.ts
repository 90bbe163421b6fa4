import { setTimeout as sleep } from 'node:timers/promises';
import {
  CloseCode,
  JsonWebsocketConsumer,
  type EventHandlers,
  type EventOf,
  type PresenceChange,
  type Scope,
  type SessionUser,
} from 'next-channels';
import { type ChatEvents, type ChatService, readerGroup, roomGroup, roomGroups } from './chat-service';
import { isPrivateNamespace } from './access';
import { DeliveredIds } from './delivered-ids';
import type { ChatMetrics } from './metrics';
import { presenceFrame, presenceMeta, TypingPacer } from './presence';
import type { ChatQuotas, ConnectionQuota, QuotaRefusal } from './quotas';
import type { HeadWatcher, RoomHeads } from './room-heads';
import { StoreUnavailable } from './store/types';
import {
  type ClientFrame,
  DEFAULT_ROOM,
  errorFrame,
  type ErrorFrame,
  compareMessageIds,
  HISTORY_PAGE_SIZE,
  type HistoryFrame,
  isMessageId,
  type Limits,
  MAX_HISTORY_PAGE_SIZE,
  MAX_MESSAGE_CHARS,
  PROTOCOL_VERSION,
  validateClientFrame,
} from './protocol';

export interface ChatConsumerOptions {
  readonly service: ChatService;
  /** Paces typing notices, one per process (default: one per options object). */
  readonly typing?: TypingPacer;
  /** Counts the error frames sent. */
  readonly metrics?: ChatMetrics;
  /**
   * What each connection, person and address may spend (messages, bytes, frames, history);
   * one per process, shared by every connection. `null` turns every limit off (benchmarks).
   */
  readonly quotas: ChatQuotas | null;
  /** The frame size the transport enforces, announced to the client. */
  readonly maxFrameBytes: number;
  /**
   * The rooms' newest ids as the store tells them (one per process): a connection short of its
   * room's head fills the gap from the store, on an open socket. Absent or `null` with a store of
   * one process, where nothing is committed unseen.
   */
  readonly heads?: RoomHeads | null;
  /** At most one typing notice per person and room this often (default 2 s). */
  readonly typingIntervalMs?: number;
  /** A connection's read marker is written at most this often (default 1 s; 0: every time); the last one on close. */
  readonly readIntervalMs?: number;
  readonly now?: () => number;
}

/** The client frames that change an earlier message. */
type EventRequest = Extract<ClientFrame, { readonly type: 'chat.edit' | 'chat.delete' | 'chat.react' }>;

/** Refused frames in a row after which the client is closed for abuse (1008). */
const MAX_REFUSED_IN_A_ROW = 50;
/** One settled promise for every consumer that has posted nothing yet. */
const SETTLED: Promise<void> = Promise.resolve();
/** The limits each welcome announces, by the options they come from. */
const announcedLimits = new WeakMap<ChatConsumerOptions, Limits>();
/** The typing pacer of options that bring none. */
const defaultTyping = new WeakMap<ChatConsumerOptions, TypingPacer>();
/** Messages of one connection being stored at once; past this, its next frame waits. */
const MAX_POSTS_IN_FLIGHT = 64;
/**
 * A connection with this much sent and not yet read gets no history page: it is behind already,
 * and the page would only be thrown away when the slow-reader limit closes it.
 */
const HISTORY_SEND_BUFFER_LIMIT = 256 * 1024;
/** What a refusal says, by whose budget ran out. */
const OVER_BUDGET: Readonly<Record<QuotaRefusal, string>> = {
  connection: 'on this connection',
  person: 'from you (across your tabs)',
  address: 'from your network address',
};

/**
 * The refusals that echo no `client_id`, made once: a flood is answered with the same few
 * objects, which the transport serialises once each rather than once per frame.
 */
function refusals(what: (whose: string) => string): Readonly<Record<QuotaRefusal, ErrorFrame>> {
  const frame = (refused: QuotaRefusal) => Object.freeze(errorFrame('rate_limited', what(OVER_BUDGET[refused])));
  return { connection: frame('connection'), person: frame('person'), address: frame('address') };
}
const TOO_MANY_FRAMES = refusals((whose) => `too many frames ${whose}; slow down`);
const TOO_MUCH_HISTORY = refusals((whose) => `too much history asked for ${whose}; wait a little and ask again`);

/**
 * The chat of one room (`/ws/chat/<room>/`, or `/ws/chat/` for the lobby): welcome and the latest
 * history on connect, then every message to everyone in the room, the sender included. Author
 * and id come from the session and the store, never from the client.
 */
export class ChatConsumer
  extends JsonWebsocketConsumer<{ readonly room?: string }, ChatEvents>
  implements EventHandlers<ChatEvents>, HeadWatcher
{
  // State lives in TypeScript-private fields rather than #private ones, so a hot reload in
  // development can move open connections to the new version of this class.
  static readonly hotKey = 'chat.ChatConsumer';
  readonly room: string;
  override readonly groups: readonly string[];
  private readonly user: SessionUser;
  private readonly options: ChatConsumerOptions;
  private readonly quota: ConnectionQuota | null;
  private readonly now: () => number;
  private refusedInARow = 0;
  private postsInFlight = 0;
  /** The last message being stored: they settle in order, so when it has, all have. */
  private lastPost: Promise<void> = SETTLED;
  /** Set while a reply (or a message after one) is being stored: later messages wait for it. */
  private orderGate: Promise<void> | null = null;
  /** What this connection has been sent, so a message read from the store and also received live goes out once. */
  private delivered: DeliveredIds | null = null;
  /** The read marker waiting for the next write, and the timer of that write. */
  private readPending: string | null = null;
  private readTimer: NodeJS.Timeout | null = null;

  constructor(scope: Scope<{ readonly room?: string }>, options: ChatConsumerOptions) {
    super(scope);
    if (!scope.user) throw new Error('ChatConsumer needs the session middleware in front of it');
    this.room = scope.params.room ?? DEFAULT_ROOM;
    this.groups = roomGroups(this.room);
    this.user = scope.user;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.quota = options.quotas?.forConnection(this.user.id, scope.client.address) ?? null;
  }

  /**
   * Welcome, then history (the latest page, or everything after `?after=<id>`), then presence
   * (tracked in the room's group under the user id; the list comes through `presenceChanged`).
   * The consumer is already in its room's group, and live messages wait until this returns, so
   * nothing falls between the history and the live messages; any message in both is sent once.
   */
  override async connect(): Promise<void> {
    // This person's read markers of public rooms come through their own group (those of private
    // rooms through the room's): joined first, so no marker falls between the join frames and it.
    if (!isPrivateNamespace(this.room)) await this.groupAdd(readerGroup(this.user.id));
    await this.accept();
    this.sendJson({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      room: this.room,
      user_id: this.user.id,
      user: this.user.name,
      limits: this.limits(),
    });
    await this.sendHistory();
    // A guest of this connection only (no session: a raw client, or no cookie) can never come
    // back as the same person: no marker of theirs exists, and a visit would be a row that no
    // room list ever reads. In a burst of connects, writing it was the largest part of a join.
    if (this.scope.sessionId !== null) {
      await this.sendReadMarkers();
      this.options.service.visit(this.room, this.user).catch((error: unknown) => this.logger.debug('could not record a visit', { room: this.room, error }));
    }
    this.options.heads?.watch(this.room, this);
    await this.track(roomGroup(this.room), this.user.id, presenceMeta(this.user.name));
  }

  override async disconnect(): Promise<void> {
    // Messages still being stored are finished (and sent to the room) before the goodbye (the
    // framework untracks the connection once this returns).
    await this.lastPost;
    this.options.heads?.unwatch(this.room, this);
    if (this.readTimer !== null) clearTimeout(this.readTimer);
    this.readTimer = null;
    await this.writeReadMarker();
  }

  /**
   * The layer may have dropped messages for this room (its Redis connection came back): send
   * what the store has that this connection was not sent. The socket never closed, so the
   * client does not know to resume by itself.
   */
  override async layerResync(): Promise<void> {
    const delivered = this.delivered;
    if (!delivered) return;
    await this.catchUp(delivered.contiguous, (frame) => {
      for (const message of frame.messages) {
        if (delivered.add(message.id)) this.sendJson(message);
      }
      for (const event of frame.events ?? []) {
        if (delivered.add(event.id)) this.sendJson(event);
      }
    });
  }

  /**
   * The room holds messages up to `head`, known a while: if this connection was not sent all of
   * them (their sender died before sending them on, the layer lost them), it catches up from the
   * store, in its layer lane, as after a resync.
   */
  headReached(head: string): void {
    const delivered = this.delivered;
    if (delivered !== null && compareMessageIds(delivered.contiguous, head) < 0) this.requestResync();
  }

  /** The chat's own presence frame, the whole list sorted by name, on join and on every change. */
  override presenceChanged(_group: string, change: PresenceChange): void {
    this.sendJson(presenceFrame(change.entries));
  }

  /** The read markers known on joining (a store that cannot answer now costs them, not the join). */
  private async sendReadMarkers(): Promise<void> {
    try {
      for (const frame of await this.options.service.readMarkers(this.room, this.user.id)) this.sendJson(frame);
    } catch (error) {
      this.logger.debug('could not read the read markers', { room: this.room, error });
    }
  }

  /**
   * The history a joining connection gets: everything after `?after=<id>` when the room has
   * reached that id, page by page; otherwise the latest page (marked `reset` when the `after`
   * was unknown: the store was reset).
   */
  private async sendHistory(): Promise<void> {
    const service = this.options.service;
    const after = this.scope.query.get('after');
    if (isMessageId(after)) {
      const delivered = new DeliveredIds(after);
      const known = await this.catchUp(after, (frame) => {
        for (const message of frame.messages) delivered.add(message.id);
        for (const event of frame.events ?? []) delivered.add(event.id);
        this.sendJson(frame);
      });
      if (known) {
        this.delivered = delivered;
        return;
      }
    }
    const latest = await service.history(this.room, HISTORY_PAGE_SIZE);
    // The page holds every event up to its head, folded into its messages.
    const first = latest.messages[0];
    const delivered = new DeliveredIds(latest.head ?? (first ? (BigInt(first.id) - 1n).toString() : '0'));
    for (const message of latest.messages) delivered.add(message.id);
    this.delivered = delivered;
    this.sendJson(isMessageId(after) ? { ...latest, reset: true } : latest);
  }

  /**
   * Reads everything after `after` a page at a time, handing each page to `send` before reading
   * the next, once the client has taken the previous one in and the address's resume budget
   * allows: a long absence costs reads at the pace the client reads, never all at once.
   * Answers false when the room never reached `after`.
   */
  private async catchUp(after: string, send: (frame: HistoryFrame) => void): Promise<boolean> {
    let cursor = after;
    for (;;) {
      await this.paceResume(MAX_HISTORY_PAGE_SIZE);
      const page = await this.options.service.after(this.room, cursor, MAX_HISTORY_PAGE_SIZE);
      if (page === null) return false;
      send(page.frame);
      const last = page.last;
      if (!page.more || last === undefined) return true;
      cursor = last;
      await this.whenSent();
      if (!this.isOpen) return true;
    }
  }

  private async paceResume(rows: number): Promise<void> {
    const quota = this.quota;
    if (quota === null) return;
    for (let wait = quota.resumeWaitMs(rows); wait > 0 && this.isOpen; wait = quota.resumeWaitMs(rows)) {
      await sleep(wait, undefined, { ref: false });
    }
  }

  /** Every frame is held to the frame budget before it is parsed: a flood of big frames costs no parsing. */
  override receive(text: string): void | Promise<void> {
    const refused = this.quota?.frame(Buffer.byteLength(text)) ?? null;
    if (refused !== null) {
      this.refuse(TOO_MANY_FRAMES[refused]);
      return;
    }
    return super.receive(text);
  }

  override receiveInvalidJson(): void {
    this.refuse({ type: 'error', code: 'bad_json', detail: 'frames must be JSON text' });
  }

  override async receiveJson(content: unknown): Promise<void> {
    const parsed = validateClientFrame(content);
    if (!parsed.ok) {
      this.refuse(parsed.error);
      return;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case 'chat.message': {
        const refused = this.quota?.message(Buffer.byteLength(frame.message)) ?? null;
        if (refused !== null) {
          this.refuse(errorFrame('rate_limited', `too many messages ${OVER_BUDGET[refused]}; wait a little and send again`, frame.clientId));
          return;
        }
        this.refusedInARow = 0;
        // Not awaited: a client's messages are stored and sent in the order they came, and the
        // next ones need not wait a store round trip each (one sender can fill a busy room).
        this.postsInFlight++;
        // A reply reads its parent before it is appended: the messages after it wait for it, so
        // that none overtakes it.
        const gate = this.orderGate;
        const run = () => this.post(frame.message, frame.clientId, frame.replyTo);
        const posted = (gate === null ? run() : gate.then(run)).finally(() => this.postsInFlight--);
        if (gate !== null || frame.replyTo !== undefined) {
          this.orderGate = posted;
          void posted.finally(() => {
            if (this.orderGate === posted) this.orderGate = null;
          });
        }
        this.lastPost = posted;
        if (this.postsInFlight >= MAX_POSTS_IN_FLIGHT) await posted;
        return;
      }
      case 'chat.edit':
      case 'chat.delete':
      case 'chat.react': {
        const bytes = frame.type === 'chat.edit' ? Buffer.byteLength(frame.text) : frame.type === 'chat.react' ? frame.emoji.length : 0;
        const refused = this.quota?.message(bytes) ?? null;
        if (refused !== null) {
          this.refuse(errorFrame('rate_limited', `too many messages ${OVER_BUDGET[refused]}; wait a little and send again`, frame.clientId));
          return;
        }
        this.refusedInARow = 0;
        // After the messages still being stored: an edit of one just sent finds it.
        await this.lastPost;
        await this.changeMessage(frame);
        return;
      }
      case 'typing':
        this.refusedInARow = 0;
        await this.typing();
        return;
      case 'history': {
        // Refused before any read: the budget, and a client that has not read what it was sent.
        const refused = this.bufferedAmount > HISTORY_SEND_BUFFER_LIMIT ? 'connection' : (this.quota?.history(frame.limit) ?? null);
        if (refused !== null) {
          this.refuse(TOO_MUCH_HISTORY[refused]);
          return;
        }
        this.refusedInARow = 0;
        const page = await this.options.service.history(this.room, frame.limit, frame.before);
        this.quota?.historyServed(historyBytes(page));
        this.sendJson(page);
        return;
      }
      case 'ping':
        this.refusedInARow = 0;
        this.sendJson({ type: 'pong' });
        return;
      case 'read':
        this.refusedInARow = 0;
        this.read(frame.id);
        return;
    }
  }

  /**
   * The client has shown the room up to `id`: kept as the person's read marker, never past what
   * this connection was sent, and written at most once per `readIntervalMs`.
   */
  private read(id: string): void {
    const sent = this.delivered?.contiguous ?? '0';
    const marker = compareMessageIds(id, sent) <= 0 ? id : sent;
    if (marker === '0') return;
    this.readPending = marker;
    if (this.readTimer !== null) return;
    void this.writeReadMarker();
    const interval = this.options.readIntervalMs ?? 1_000;
    if (interval === 0) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      void this.writeReadMarker();
    }, interval);
    this.readTimer.unref();
  }

  private async writeReadMarker(): Promise<void> {
    const marker = this.readPending;
    if (marker === null) return;
    this.readPending = null;
    try {
      await this.options.service.markRead(this.room, this.user.id, marker);
    } catch (error) {
      this.logger.debug('could not keep a read marker', { room: this.room, error });
    }
  }

  /** A read marker moved: this person's (another tab or device), or in a private room a member's. */
  'chat.read'(event: EventOf<ChatEvents, 'chat.read'>): void {
    if (event.room === this.room) this.sendJson(event.frame);
  }

  /** Removed from the room (or left it), in any process: this connection to it closes at once. */
  'chat.member_removed'(event: EventOf<ChatEvents, 'chat.member_removed'>): void {
    if (event.user_id === this.user.id) this.close(CloseCode.Forbidden, 'removed from the room');
  }

  'chat.message'(event: EventOf<ChatEvents, 'chat.message'>): void {
    if (this.delivered?.add(event.frame.id) === false) return;
    // The same frame object goes to every member, so the transport serialises it once.
    this.sendJson(event.frame);
  }

  /** An edit, deletion or reaction: sent once, like a message (it has an id of the same sequence). */
  'chat.event'(event: EventOf<ChatEvents, 'chat.event'>): void {
    if (this.delivered?.add(event.frame.id) === false) return;
    this.sendJson(event.frame);
  }

  'chat.typing'(event: EventOf<ChatEvents, 'chat.typing'>): void {
    if (event.frame.user_id !== this.user.id) this.sendJson(event.frame);
  }

  /**
   * An edit, deletion or reaction: stored, then sent to the room (this connection included, which
   * is its answer); a refusal answers with its error code.
   */
  private async changeMessage(frame: EventRequest): Promise<void> {
    const service = this.options.service;
    let outcome;
    try {
      outcome =
        frame.type === 'chat.edit'
          ? await service.edit(this.room, this.user, frame.id, frame.text)
          : frame.type === 'chat.delete'
            ? await service.remove(this.room, this.user, frame.id)
            : await service.react(this.room, this.user, frame.id, frame.emoji, frame.on);
    } catch (error) {
      if (error instanceof StoreUnavailable) this.logger.debug('could not store an event', { room: this.room, error });
      else this.logger.error('could not store an event', { room: this.room, error });
      this.options.metrics?.errorFrame('unavailable');
      this.sendJson(errorFrame('unavailable', 'the change could not be stored; send it again', frame.clientId));
      return;
    }
    if (!outcome.ok) {
      this.options.metrics?.errorFrame(outcome.code);
      this.sendJson(errorFrame(outcome.code, outcome.detail, frame.clientId));
    }
  }

  private async post(text: string, clientId: string | undefined, replyTo: string | undefined): Promise<void> {
    let result;
    try {
      if (replyTo !== undefined && !(await this.options.service.canReplyTo(this.room, replyTo))) {
        this.options.metrics?.errorFrame('not_found');
        this.sendJson(errorFrame('not_found', 'reply_to is no message in this room', clientId));
        return;
      }
      result = await this.options.service.post(this.room, this.user, text, clientId, replyTo);
    } catch (error) {
      // An outage of the store is logged once, by the store; anything else is a bug.
      if (error instanceof StoreUnavailable) this.logger.debug('could not store a message', { room: this.room, error });
      else this.logger.error('could not store a message', { room: this.room, error });
      this.options.metrics?.errorFrame('unavailable');
      this.sendJson(errorFrame('unavailable', 'the message could not be stored; send it again', clientId));
      return;
    }
    if (result.created) return;
    // A repeated client_id: its sender hears the stored message again; then the room hears it too
    // (its first sending may not have gone out), and drops it where it was sent.
    this.delivered?.add(result.frame.id);
    this.sendJson(result.frame);
    await this.options.service.broadcast(result.frame);
  }

  private async typing(): Promise<void> {
    const allowed = this.typingPacer().mayAnnounce(this.room, this.user.id, this.now(), this.options.typingIntervalMs ?? 2_000);
    if (!allowed) return;
    await this.groupSend(roomGroup(this.room), {
      type: 'chat.typing',
      frame: { type: 'typing', user_id: this.user.id, user: this.user.name },
    });
  }

  /** Answers a refused frame with an error; a client that keeps at it is closed (1008). */
  private refuse(error: ErrorFrame): void {
    this.refusedInARow++;
    if (this.refusedInARow > MAX_REFUSED_IN_A_ROW) {
      this.close(CloseCode.PolicyViolation, 'too many refused frames');
      return;
    }
    this.options.metrics?.errorFrame(error.code);
    this.sendJson(error);
  }

  private typingPacer(): TypingPacer {
    const options = this.options;
    if (options.typing) return options.typing;
    let typing = defaultTyping.get(options);
    if (typing === undefined) {
      typing = new TypingPacer();
      defaultTyping.set(options, typing);
    }
    return typing;
  }

  /** The same for every connection made with these options: worked out once. */
  private limits(): Limits {
    let limits = announcedLimits.get(this.options);
    if (limits === undefined) {
      const limit = this.options.quotas?.messageLimit ?? null;
      limits = {
        max_message_chars: MAX_MESSAGE_CHARS,
        max_frame_bytes: this.options.maxFrameBytes,
        history_page_size: HISTORY_PAGE_SIZE,
        rate: limit ? { messages: limit.rate, per_ms: limit.perMs, burst: limit.burst } : null,
        edit_window_ms: this.options.service.editWindowMs,
      };
      announcedLimits.set(this.options, limits);
    }
    return limits;
  }
}

/** About what a history frame comes to in bytes, without serialising it twice. */
function historyBytes(frame: HistoryFrame): number {
  let bytes = 40;
  for (const message of frame.messages) bytes += 120 + Buffer.byteLength(message.message) + Buffer.byteLength(message.user);
  return bytes;
}
