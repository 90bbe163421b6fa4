import { type EventHandlers, type EventOf, type Frames, processState, ProtocolConsumer } from 'next-channels';
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

// One vote per user (by id); the consumer of each connection reads the same map (processState: one per process).
const ballots = () => processState('poll.ballots', () => new Map<string, Option>());

function counts(): Counts {
  const counted: Counts = { tea: 0, coffee: 0 };
  for (const option of ballots().values()) counted[option]++;
  return counted;
}

/**
 * `/ws/poll/`: a live poll. Votes reach every page at once; a page may ask for the tally. Its route
 * lets in signed-in people only (see routing.ts), so `scope.user` is who votes.
 */
export class PollConsumer extends ProtocolConsumer<PollProtocol, Record<string, never>, PollEvents> implements EventHandlers<PollEvents> {
  protected readonly frames = ClientFrame;
  override readonly groups = [POLL_GROUP];
  // The route's `authorize` closed every connection without a user (4401) before this runs.
  private readonly voter = this.scope.user!;

  override async connect(): Promise<void> {
    await this.accept();
    this.sendFrame({ type: 'votes', counts: counts() });
    // Listed in the poll's presence, once per user however many tabs: every page hears the list.
    await this.track(POLL_GROUP, this.voter.id, { name: this.voter.name });
  }

  async receiveFrame(frame: PollProtocol['client']): Promise<void> {
    switch (frame.type) {
      case 'vote':
        ballots().set(this.voter.id, frame.option);
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
