import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from './close-codes';
import { type EventHandlers, type EventOf, WebsocketConsumer } from './consumer';
import { JsonWebsocketConsumer } from './json-consumer';
import { DenyConnection } from './errors';
import { InMemoryChannelLayer } from './layers/in-memory';
import type { Logger } from './logger';
import { route, urlRouter } from './routing';
import { WebsocketCommunicator } from './testing/communicator';

type Events = { 'test.say': { readonly text: string }; 'test.slow': { readonly release: Promise<void> } };

/** Joins `room.main`, echoes text to the group, records its lifecycle in `log`. */
class GroupEcho extends WebsocketConsumer<Record<string, string>, Events> implements EventHandlers<Events> {
  static log: string[] = [];
  override readonly groups = ['room.main'];

  override async receive(text: string): Promise<void> {
    if (text === 'boom') throw new Error('a bug in receive');
    await this.groupSend('room.main', { type: 'test.say', text });
  }

  override disconnect(code: number): void {
    GroupEcho.log.push(`disconnect ${code}`);
  }

  'test.say'(event: EventOf<Events, 'test.say'>): void {
    this.send(event.text);
  }

  async 'test.slow'(event: EventOf<Events, 'test.slow'>): Promise<void> {
    await event.release;
  }
}

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = (): void => {};
  return { errors, debug: ignore, info: ignore, warn: ignore, error: (message) => errors.push(message) };
}

async function open(app: ReturnType<typeof urlRouter>, layer: InMemoryChannelLayer | null, logger?: Logger) {
  const client = new WebsocketCommunicator(app, '/ws/', { layer, ...(logger ? { logger } : {}) });
  assert.deepEqual(await client.connect(), { accepted: true });
  return client;
}

describe('WebsocketConsumer lifecycle', () => {
  it('accepts by default and delivers text in order', async () => {
    const seen: string[] = [];
    class Recorder extends WebsocketConsumer {
      override receive(text: string): void {
        seen.push(text);
      }
    }
    const client = await open(urlRouter([route('/ws/', Recorder)]), null);
    for (const text of ['1', '2', '3']) client.sendText(text);
    await client.disconnect();
    assert.deepEqual(seen, ['1', '2', '3']);
  });

  it('handles one frame at a time: an async hook holds the next one back', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class Slow extends WebsocketConsumer {
      override async receive(text: string): Promise<void> {
        order.push(`start ${text}`);
        if (text === 'first') await gate;
        order.push(`end ${text}`);
      }
    }
    const client = await open(urlRouter([route('/ws/', Slow)]), null);
    client.sendText('first');
    client.sendText('second');
    assert.deepEqual(order, ['start first']);
    release();
    await client.disconnect();
    assert.deepEqual(order, ['start first', 'end first', 'start second', 'end second']);
  });

  it('refuses the handshake with 403 when connect closes before accepting', async () => {
    class Refuses extends WebsocketConsumer {
      override connect(): void {
        this.close();
      }
    }
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', Refuses)]), '/ws/');
    assert.deepEqual(await client.connect(), { accepted: false, status: 403, reason: 'connection refused' });
  });

  it('refuses with 403 when connect returns without accepting', async () => {
    class Forgets extends WebsocketConsumer {
      override connect(): void {}
    }
    const outcome = await new WebsocketCommunicator(urlRouter([route('/ws/', Forgets)]), '/ws/').connect();
    assert.equal(outcome.accepted, false);
    assert.equal(!outcome.accepted && outcome.status, 403);
  });

  it('refuses with the status of a DenyConnection thrown in connect', async () => {
    class Denies extends WebsocketConsumer {
      override connect(): void {
        throw new DenyConnection('members only', 401);
      }
    }
    const outcome = await new WebsocketCommunicator(urlRouter([route('/ws/', Denies)]), '/ws/').connect();
    assert.deepEqual(outcome, { accepted: false, status: 401, reason: 'members only' });
  });

  it('answers 500 when connect crashes before accepting', async () => {
    class Crashes extends WebsocketConsumer {
      override connect(): void {
        throw new TypeError('oops');
      }
    }
    const outcome = await new WebsocketCommunicator(urlRouter([route('/ws/', Crashes)]), '/ws/').connect();
    assert.equal(!outcome.accepted && outcome.status, 500);
  });

  it('throws when sending before accept', async () => {
    let failure: unknown;
    class Eager extends WebsocketConsumer {
      override async connect(): Promise<void> {
        try {
          this.send('too early');
        } catch (error) {
          failure = error;
        }
        await this.accept();
      }
    }
    await open(urlRouter([route('/ws/', Eager)]), null);
    assert.match(String(failure), /send before accept/);
  });

  it('closes only the failing connection with 1011 when a hook throws, and logs it', async () => {
    const layer = new InMemoryChannelLayer();
    const logger = recordingLogger();
    const app = urlRouter([route('/ws/', GroupEcho)]);
    const broken = await open(app, layer, logger);
    const healthy = await open(app, layer, logger);
    broken.sendText('boom');
    assert.equal(await broken.receiveClose(), CloseCode.InternalError);
    assert.deepEqual(logger.errors, ['consumer error']);
    healthy.sendText('still here');
    assert.equal(await healthy.receiveText(), 'still here');
  });

  it('closes with 1003 on a binary frame by default', async () => {
    const client = await open(urlRouter([route('/ws/', GroupEcho)]), new InMemoryChannelLayer());
    client.sendBinary(Buffer.from([1, 2, 3]));
    assert.equal(await client.receiveClose(), CloseCode.UnsupportedData);
  });

  it('calls disconnect with the close code', async () => {
    GroupEcho.log = [];
    const client = await open(urlRouter([route('/ws/', GroupEcho)]), new InMemoryChannelLayer());
    await client.disconnect(4000);
    assert.deepEqual(GroupEcho.log, ['disconnect 4000']);
  });

  it('refuses a consumer that declares groups when the server has no layer', async () => {
    const outcome = await new WebsocketCommunicator(urlRouter([route('/ws/', GroupEcho)]), '/ws/').connect();
    assert.equal(!outcome.accepted && outcome.status, 500);
  });
});

describe('WebsocketConsumer groups and events', () => {
  it('joins its groups on connect and leaves them on disconnect', async () => {
    const layer = new InMemoryChannelLayer();
    const app = urlRouter([route('/ws/', GroupEcho)]);
    const a = await open(app, layer);
    const b = await open(app, layer);
    a.sendText('hello');
    assert.equal(await a.receiveText(), 'hello');
    assert.equal(await b.receiveText(), 'hello');
    await b.disconnect();
    a.sendText('after b left');
    assert.equal(await a.receiveText(), 'after b left');
    assert.equal(await b.receiveNothing(), true);
  });

  it('dispatches a layer event to the method named by its type', async () => {
    const layer = new InMemoryChannelLayer();
    const client = await open(urlRouter([route('/ws/', GroupEcho)]), layer);
    await layer.groupSend('room.main', { type: 'test.say', text: '来自服务器' });
    assert.equal(await client.receiveText(), '来自服务器');
  });

  it('fails loudly, with 1011 and a log line, on an event type it has no handler for', async () => {
    const layer = new InMemoryChannelLayer();
    const logger = recordingLogger();
    const client = await open(urlRouter([route('/ws/', GroupEcho)]), layer, logger);
    await layer.groupSend('room.main', { type: 'test.unknown' });
    assert.equal(await client.receiveClose(), CloseCode.InternalError);
    assert.deepEqual(logger.errors, ['consumer error']);
  });

  it('queues events that arrive while connect runs, and delivers them after it', async () => {
    const layer = new InMemoryChannelLayer();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let waiting!: () => void;
    const connectIsWaiting = new Promise<void>((resolve) => (waiting = resolve));
    class SlowStart extends GroupEcho {
      override async connect(): Promise<void> {
        await this.accept();
        this.send('welcome');
        waiting();
        await gate;
        this.send('ready');
      }
    }
    const client = new WebsocketCommunicator(urlRouter([route('/ws/', SlowStart)]), '/ws/', { layer });
    const connecting = client.connect();
    // The consumer joined its group before connect() ran; send while connect is still waiting.
    await connectIsWaiting;
    await layer.groupSend('room.main', { type: 'test.say', text: 'live' });
    release();
    assert.deepEqual(await connecting, { accepted: true });
    assert.deepEqual([await client.receiveText(), await client.receiveText(), await client.receiveText()], [
      'welcome',
      'ready',
      'live',
    ]);
  });

  it('closes with 1013 when its channel overflows, so the client reconnects and catches up', async () => {
    const layer = new InMemoryChannelLayer({ capacity: 3 });
    const client = await open(urlRouter([route('/ws/', GroupEcho)]), layer);
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    await layer.groupSend('room.main', { type: 'test.slow', release: stuck });
    for (let n = 0; n < 4; n++) await layer.groupSend('room.main', { type: 'test.say', text: `#${n}` });
    assert.equal(await client.receiveClose(), CloseCode.TryAgainLater);
    release();
  });
});

describe('EventHandlers and groupSend types', () => {
  it('refuses to compile a misspelt handler; at run time the event closes the consumer with 1011', async () => {
    // @ts-expect-error: 'test.sya' is not 'test.say', so the class lacks the handler for test.say.
    class Misspelt extends WebsocketConsumer<Record<string, string>, Events> implements EventHandlers<Events> {
      override readonly groups = ['room.main'];
      'test.sya'(event: EventOf<Events, 'test.say'>): void {
        this.send(event.text);
      }
      'test.slow'(): void {}
    }
    const layer = new InMemoryChannelLayer();
    const client = await open(urlRouter([route('/ws/', Misspelt)]), layer, recordingLogger());
    await layer.groupSend('room.main', { type: 'test.say', text: 'lost' });
    assert.equal(await client.receiveClose(), CloseCode.InternalError);
  });

  it("refuses to compile a groupSend of an event outside the consumer's events, or with the wrong fields", async () => {
    const layer = new InMemoryChannelLayer();
    const logger = recordingLogger();
    class Sender extends GroupEcho {
      override async receive(text: string): Promise<void> {
        if (text === 'wrong fields') {
          // @ts-expect-error: test.say carries `text`, not `txt`.
          await this.groupSend('room.main', { type: 'test.say', txt: text });
        } else {
          // @ts-expect-error: 'test.shout' is not one of the consumer's events.
          await this.groupSend('room.main', { type: 'test.shout', text });
        }
      }
    }
    const client = await open(urlRouter([route('/ws/', Sender)]), layer, logger);
    // What the compiler refuses still fails loudly at run time: no handler for test.shout.
    client.sendText('shout');
    assert.equal(await client.receiveClose(), CloseCode.InternalError);
    assert.deepEqual(logger.errors, ['consumer error']);
  });
});

describe('groupSend with except', () => {
  /** Says what it receives to everyone in the room but itself. */
  class ToOthers extends WebsocketConsumer<Record<string, string>, Events> implements EventHandlers<Events> {
    override readonly groups = ['room.main'];

    override async receive(text: string): Promise<void> {
      await this.groupSend('room.main', { type: 'test.say', text }, { except: this.channelName });
    }

    'test.say'(event: EventOf<Events, 'test.say'>): void {
      this.send(event.text);
    }

    async 'test.slow'(event: EventOf<Events, 'test.slow'>): Promise<void> {
      await event.release;
    }
  }

  it('sends to everyone in the group but the consumer that names its own channel', async () => {
    const layer = new InMemoryChannelLayer();
    const app = urlRouter([route('/ws/', ToOthers)]);
    const [a, b, c] = [await open(app, layer), await open(app, layer), await open(app, layer)];
    a.sendText('not to me');
    assert.equal(await b.receiveText(), 'not to me');
    assert.equal(await c.receiveText(), 'not to me');
    assert.equal(await a.receiveNothing(), true);
  });
});

describe('JsonWebsocketConsumer', () => {
  class JsonEcho extends JsonWebsocketConsumer {
    override receiveJson(content: unknown): void {
      this.sendJson({ got: content as string });
    }
  }

  it('parses text frames as JSON', async () => {
    const client = await open(urlRouter([route('/ws/', JsonEcho)]), null);
    client.sendJson({ a: ['b', 1] });
    assert.deepEqual(await client.receiveJson(), { got: { a: ['b', 1] } });
  });

  it('closes with 1007 on text that is not JSON, by default', async () => {
    const client = await open(urlRouter([route('/ws/', JsonEcho)]), null);
    client.sendText('{nope');
    assert.equal(await client.receiveClose(), CloseCode.InvalidPayload);
  });
});
