import { CloseCode, type EventHandlers, type EventOf, type Frames, processState, ProtocolConsumer } from 'next-channels';
import { z } from 'zod';
import { type Counts, type Option, OPTIONS, POLL_GROUP } from './poll-options';

/** What a page may send: checked by the consumer before anything else sees it. */
const ClientFrame = z.discriminatedUnion('type', [z.object({ type: z.literal('vote'), option: z.enum(OPTIONS) }), z.object({ type: z.literal('tally') })]);

/** The poll's protocol, typed once for the consumer and the page. */
export type PollProtocol = {
  client: z.infer<typeof ClientFrame>;
  server: Frames<{ votes: { counts: Counts } }>;
  replies: { tally: { counts: Counts; voters: number } };
};

type PollEvents = { 'poll.votes': { readonly counts: Counts } };

// One vote per voter; the consumer of each connection reads the same map (processState: one per process).
const ballots = () => processState('poll.ballots', () => new Map<string, Option>());

function counts(): Counts {
  const counted: Counts = { tea: 0, coffee: 0 };
  for (const option of ballots().values()) counted[option]++;
  return counted;
}

/** The voter's name, from the `voter` cookie the page sets when someone signs in. */
function voterOf(cookies: Readonly<Record<string, string>>): string | null {
  const name = cookies.voter?.trim();
  return name && /^[\p{L}\p{N} _-]{1,32}$/u.test(name) ? name : null;
}

/** `/ws/poll/`: a live poll. Votes reach every page at once; a page may ask for the tally. */
export class PollConsumer extends ProtocolConsumer<PollProtocol, Record<string, never>, PollEvents> implements EventHandlers<PollEvents> {
  protected readonly frames = ClientFrame;
  override readonly groups = [POLL_GROUP];
  private readonly voter = voterOf(this.scope.cookies);

  override async connect(): Promise<void> {
    // A browser cannot see a refused handshake: this close (4401) tells the page to sign in.
    if (this.voter === null) return this.close(CloseCode.AuthenticationRequired, 'sign in to vote');
    await this.accept();
    this.sendFrame({ type: 'votes', counts: counts() });
    // Listed in the poll's presence, once per voter however many tabs: every page hears the list.
    await this.track(POLL_GROUP, this.voter, { name: this.voter });
  }

  async receiveFrame(frame: PollProtocol['client']): Promise<void> {
    switch (frame.type) {
      case 'vote':
        ballots().set(this.voter!, frame.option);
        await this.groupSend(POLL_GROUP, { type: 'poll.votes', counts: counts() });
        return;
      case 'tally':
        this.replyTo(frame, { counts: counts(), voters: ballots().size });
        return;
    }
  }

  'poll.votes'(event: EventOf<PollEvents, 'poll.votes'>): void {
    this.sendFrame({ type: 'votes', counts: event.counts });
  }
}
