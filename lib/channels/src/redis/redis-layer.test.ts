import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { RedisCluster, RedisServer } from '../../../testing/engines';
import { SilentProxy } from '../../../testing/silent-proxy';
import type { LogFields, Logger } from '../logger';
import { channelLayerConformance, RecordingReceiver } from '../testing/layer-conformance';
import { LocalDelivery } from '../layers/local-delivery';
import { describeTarget, type RedisTarget } from './connection';
import { RedisChannelLayer } from './redis-layer';
import type { ChannelLayer, LayerMessage } from '../layers/types';

let redis: RedisServer;
let cluster: RedisCluster;
before(async () => {
  [redis, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
});
after(async () => {
  await Promise.all([redis?.dispose(), cluster?.dispose()]);
});

/** One Redis, or a three-primary Redis Cluster (sharded pub/sub): every generic case runs on both. */
interface Backend {
  readonly name: string;
  target(): RedisTarget;
  /** Records what is published on one of the layer's Redis channels, as another client sees it. */
  watch(channel: string): Promise<{ readonly published: string[]; next(): Promise<void>; close(): void }>;
}

const backends: readonly Backend[] = [
  {
    name: 'one Redis',
    target: () => ({ url: redis.url }),
    watch: async (channel) => {
      const watcher = new Redis(redis.url);
      const published: string[] = [];
      watcher.on('message', (_channel: string, payload: string) => published.push(payload));
      await watcher.subscribe(channel);
      return { published, next: () => new Promise((resolve) => watcher.once('message', () => resolve())), close: () => watcher.disconnect() };
    },
  },
  {
    name: 'a Redis Cluster',
    target: () => ({ cluster: cluster.seeds }),
    watch: async (channel) => {
      // A shard channel is heard on the primary that serves its slot.
      const shard = await cluster.primaryOf(channel);
      const watcher = new Redis({ host: shard.host, port: shard.port });
      const published: string[] = [];
      watcher.on('smessage', (_channel: string, payload: string) => published.push(payload));
      await watcher.ssubscribe(channel);
      return { published, next: () => new Promise((resolve) => watcher.once('smessage', () => resolve())), close: () => watcher.disconnect() };
    },
  },
];

let prefixes = 0;
for (const backend of backends) {
  channelLayerConformance(
    `RedisChannelLayer on ${backend.name}`,
    async (options) => RedisChannelLayer.connect({ ...backend.target(), prefix: `conformance-${++prefixes}`, ...options }),
    {
      makePeers: async (options) => {
        const prefix = `conformance-${++prefixes}`;
        return [
          await RedisChannelLayer.connect({ ...backend.target(), prefix, ...options }),
          await RedisChannelLayer.connect({ ...backend.target(), prefix, ...options }),
        ];
      },
    },
  );
}

/** A receiver that also counts resync calls, and can wait for the next one. */
/** A logger that keeps its lines, and lets a test wait for one. */
class RecordingLogger implements Logger {
  readonly lines: Array<{ readonly message: string; readonly fields: LogFields }> = [];
  #waiters: Array<{ readonly match: (message: string, fields: LogFields) => boolean; readonly resolve: () => void }> = [];
  debug = (message: string, fields: LogFields = {}): void => this.#log(message, fields);
  info = (message: string, fields: LogFields = {}): void => this.#log(message, fields);
  warn = (message: string, fields: LogFields = {}): void => this.#log(message, fields);
  error = (message: string, fields: LogFields = {}): void => this.#log(message, fields);

  /** Resolves once a line matching `match` has been logged (before or after this call). */
  logged(match: (message: string, fields: LogFields) => boolean): Promise<void> {
    if (this.lines.some((line) => match(line.message, line.fields))) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  #log(message: string, fields: LogFields): void {
    this.lines.push({ message, fields });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(message, fields)) return true;
      waiter.resolve();
      return false;
    });
  }
}

class ResyncingReceiver extends RecordingReceiver {
  resyncs = 0;
  #arrived: (() => void) | null = null;

  override deliver(message: LayerMessage): void {
    super.deliver(message);
    this.#arrived?.();
  }

  /** Resolves once a message matching `match` has arrived. */
  async until(match: (message: LayerMessage) => boolean): Promise<void> {
    while (!this.messages.some(match)) await new Promise<void>((resolve) => (this.#arrived = resolve));
  }

  #wake: (() => void) | null = null;
  resync(): void {
    this.resyncs++;
    this.#wake?.();
  }
  nextResync(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }
}

for (const backend of backends) {
  describe(`RedisChannelLayer across processes on ${backend.name}`, () => {
    const layers: ChannelLayer[] = [];
    const open = async (prefix: string): Promise<RedisChannelLayer> => {
      const layer = await RedisChannelLayer.connect({ ...backend.target(), prefix });
      layers.push(layer);
      return layer;
    };
    after(async () => {
      await Promise.all(layers.map((layer) => layer.close()));
    });

    it('delivers a group message to members in every process, the sender included', async () => {
      const [a, b] = [await open('cross'), await open('cross')];
      const inA = new RecordingReceiver();
      const inB = new RecordingReceiver();
      const channelA = a.newChannel();
      const channelB = b.newChannel();
      a.attach(channelA, inA);
      b.attach(channelB, inB);
      await a.groupAdd('room.x', channelA);
      await b.groupAdd('room.x', channelB);
      await a.groupSend('room.x', { type: 'chat.message', text: '跨进程' });
      assert.deepEqual(await inA.received(1), [{ type: 'chat.message', text: '跨进程' }]);
      assert.deepEqual(await inB.received(1), [{ type: 'chat.message', text: '跨进程' }]);
      await b.groupSend('room.x', { type: 'chat.message', text: 'back' });
      assert.deepEqual((await inA.received(2)).map((m) => m.text), ['跨进程', 'back']);
      assert.equal(inB.messages.length, 2, 'no echo of its own message through Redis');
    });

    it('sends to a channel of another process, and leaves group membership to its owner', async () => {
      const [a, b] = [await open('remote'), await open('remote')];
      const inB = new RecordingReceiver();
      const channelB = b.newChannel();
      b.attach(channelB, inB);
      await a.send(channelB, { type: 'test.direct', text: '你好' });
      assert.deepEqual(await inB.received(1), [{ type: 'test.direct', text: '你好' }]);
      await assert.rejects(a.groupAdd('room.remote', channelB), /belongs to another process/);
    });

    it('keeps prefixes apart, so several sites can share one Redis', async () => {
      const [a, b] = [await open('site-a'), await open('site-b')];
      const inB = new RecordingReceiver();
      const channelB = b.newChannel();
      b.attach(channelB, inB);
      await b.groupAdd('room.shared-name', channelB);
      await a.groupSend('room.shared-name', { type: 'test.other-site' });
      await b.groupSend('room.shared-name', { type: 'test.own-site' });
      assert.deepEqual((await inB.received(1)).map((m) => m.type), ['test.own-site']);
    });

    it('sends the messages of one moment as one PUBLISH per channel, in order', async () => {
      const [a, b] = [await open('batch'), await open('batch')];
      const inB = new RecordingReceiver();
      const channelB = b.newChannel();
      b.attach(channelB, inB);
      await b.groupAdd('room.batch', channelB);
      const watcher = await backend.watch('batch:{g:room.batch}');
      const published = watcher.published;
      try {
        const sends = [1, 2, 3, 4, 5].map((n) => a.groupSend('room.batch', { type: 'test.seq', n, text: `第${n}条` }));
        const direct = [a.send(channelB, { type: 'test.direct', n: 1 }), a.send(channelB, { type: 'test.direct', n: 2 })];
        await Promise.all([...sends, ...direct]);
        const got = await inB.received(7);
        assert.deepEqual(
          got.filter((m) => m.type === 'test.seq').map((m) => [m.n, m.text]),
          [1, 2, 3, 4, 5].map((n) => [n, `第${n}条`]),
        );
        assert.deepEqual(got.filter((m) => m.type === 'test.direct').map((m) => m.n), [1, 2]);
        // A lone message crosses as it is, not in an array.
        await a.groupSend('room.batch', { type: 'test.alone' });
        assert.deepEqual((await inB.received(8)).at(-1), { type: 'test.alone' });
        while (published.length < 2) await watcher.next();
        const [batch, alone] = published.map((payload) => payload.slice(payload.indexOf(' ') + 1));
        assert.deepEqual(
          (JSON.parse(batch!) as { n: number }[]).map((m) => m.n),
          [1, 2, 3, 4, 5],
          'the five group messages of one turn cross in one PUBLISH',
        );
        assert.equal(alone, '{"type":"test.alone"}');
      } finally {
        watcher.close();
      }
    });

    it('publishes the plain message when every excepted channel is its own, and the names of the others with it', async () => {
      const [a, b] = [await open('except-wire'), await open('except-wire')];
      const inB = new RecordingReceiver();
      const channelB = b.newChannel();
      b.attach(channelB, inB);
      await b.groupAdd('room.except-wire', channelB);
      const channelA = a.newChannel();
      a.attach(channelA, new RecordingReceiver());
      await a.groupAdd('room.except-wire', channelA);
      const watcher = await backend.watch('except-wire:{g:room.except-wire}');
      const published = watcher.published;
      const text = (payload: string): string => payload.slice(payload.indexOf(' ') + 1);
      try {
        await a.groupSend('room.except-wire', { type: 'test.not-me' }, { except: channelA });
        await inB.received(1);
        await a.groupSend('room.except-wire', { type: 'test.skipped' }, { except: [channelA, channelB] });
        await a.groupSend('room.except-wire', { type: 'test.marker' });
        assert.deepEqual((await inB.received(2)).map((m) => m.type), ['test.not-me', 'test.marker']);
        while (published.length < 2) await watcher.next();
        assert.equal(text(published[0]!), '{"type":"test.not-me"}', 'a channel of the sending process never crosses');
        assert.deepEqual(JSON.parse(text(published[1]!)), [{ except: [channelB], message: { type: 'test.skipped' } }, { type: 'test.marker' }]);
      } finally {
        watcher.close();
      }
    });
  });
}

describe('RedisChannelLayer on one Redis, when Redis goes away', () => {
  const layers: ChannelLayer[] = [];
  after(async () => {
    await Promise.all(layers.map((layer) => layer.close()));
  });

  it('refuses to start, in one line, when Redis cannot be reached', async () => {
    await assert.rejects(
      RedisChannelLayer.connect({ url: 'redis://user:secret@127.0.0.1:1', connectTimeoutMs: 300 }),
      (error: Error) => /^cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1\b/.test(error.message) && !error.message.includes('\n'),
    );
  });

  it('reconnects after Redis restarts, and has every process resync', async () => {
    const blip = await RedisServer.start();
    try {
      const logger = new RecordingLogger();
      const a = await RedisChannelLayer.connect({ url: blip.url, prefix: 'blip', logger, publishWaitMs: 200 });
      const b = await RedisChannelLayer.connect({ url: blip.url, prefix: 'blip' });
      layers.push(a, b);
      const inA = new ResyncingReceiver();
      const inB = new ResyncingReceiver();
      const channelA = a.newChannel();
      const channelB = b.newChannel();
      a.attach(channelA, inA);
      b.attach(channelB, inB);
      await a.groupAdd('room.blip', channelA);
      await b.groupAdd('room.blip', channelB);
      const resynced = Promise.all([inA.nextResync(), inB.nextResync()]);
      await blip.stop();
      // Sent while Redis is down for longer than a publish waits: b's member misses it (a's own
      // member gets it at once), and a says so.
      await a.groupSend('room.blip', { type: 'test.during' });
      assert.deepEqual((await inA.received(1)).map((m) => m.type), ['test.during']);
      await logger.logged((message) => message.startsWith('redis publish given up'));
      await blip.start();
      await resynced;
      await logger.logged((message) => message === 'redis reachable again');
      // Subscriptions are back: messages flow across again.
      await a.groupSend('room.blip', { type: 'test.after' });
      assert.deepEqual((await inB.received(1)).map((m) => m.type), ['test.after']);
    } finally {
      await blip.dispose();
    }
  });

  it('keeps delivering inside a process cut silently from Redis, logs the outage once, and resyncs after', { timeout: 10_000 }, async () => {
    const proxy = await SilentProxy.start(redis.port);
    try {
      const logger = new RecordingLogger();
      const timeouts = { heartbeatMs: 50, commandTimeoutMs: 200, connectTimeoutMs: 200, publishWaitMs: 100, subscribeWaitMs: 100 };
      const cutOff = await RedisChannelLayer.connect({ url: `redis://127.0.0.1:${proxy.port}`, prefix: 'silent', logger, ...timeouts });
      const other = await RedisChannelLayer.connect({ url: redis.url, prefix: 'silent' });
      layers.push(cutOff, other);
      const here = new ResyncingReceiver();
      const there = new ResyncingReceiver();
      const hereChannel = cutOff.newChannel();
      const thereChannel = other.newChannel();
      cutOff.attach(hereChannel, here);
      other.attach(thereChannel, there);
      await cutOff.groupAdd('room.silent', hereChannel);
      await other.groupAdd('room.silent', thereChannel);
      const otherResynced = there.nextResync();

      proxy.cut();
      // Sends, joins and leaves inside the process neither wait on Redis nor stop.
      await cutOff.groupSend('room.silent', { type: 'test.one' });
      const newcomer = new RecordingReceiver();
      const newcomerChannel = cutOff.newChannel();
      cutOff.attach(newcomerChannel, newcomer);
      await cutOff.groupAdd('room.silent', newcomerChannel);
      await cutOff.groupSend('room.silent', { type: 'test.two' });
      assert.deepEqual((await here.received(2)).map((m) => m.type), ['test.one', 'test.two']);
      assert.deepEqual((await newcomer.received(1)).map((m) => m.type), ['test.two']);
      await logger.logged((message) => message === 'redis unreachable');
      proxy.heal();
      await logger.logged((message) => message === 'redis reachable again');
      // What the other process missed (the publishes given up) reaches it through a resync.
      await otherResynced;
      const outages = logger.lines.filter((line) => line.message === 'redis unreachable');
      assert.equal(outages.length, 1, 'one line for the outage');
      const back = logger.lines.find((line) => line.message === 'redis reachable again');
      assert.ok(typeof back?.fields.downMs === 'number' && back.fields.downMs > 0);
      await cutOff.groupSend('room.silent', { type: 'test.after' });
      await there.until((m) => m.type === 'test.after');
      const seen = there.messages.map((m) => m.type);
      assert.equal(new Set(seen).size, seen.length, `nothing twice: ${seen.join(', ')}`);
    } finally {
      await proxy.close();
    }
  });
});

describe('RedisChannelLayer on a Redis Cluster', () => {
  const layers: ChannelLayer[] = [];
  after(async () => {
    await Promise.all(layers.map((layer) => layer.close()));
  });

  it('spreads groups over the shards: each group is subscribed on the primary that serves its slot', async () => {
    const layer = await RedisChannelLayer.connect({ cluster: cluster.seeds, prefix: 'spread' });
    layers.push(layer);
    const groups = Array.from({ length: 12 }, (_, n) => `room.spread-${n}`);
    for (const group of groups) {
      const channel = layer.newChannel();
      layer.attach(channel, new RecordingReceiver());
      await layer.groupAdd(group, channel);
    }
    const primaries = await cluster.primaries();
    const perShard = await Promise.all(primaries.map(async (node) => ((await cluster.command(node, 'PUBSUB', 'SHARDCHANNELS', 'spread:{g:*')) as string[]).sort()));
    assert.equal(perShard.flat().length, groups.length, 'every group channel subscribed once, as a shard channel');
    assert.ok(perShard.filter((channels) => channels.length > 0).length >= 2, `groups on ${perShard.map((channels) => channels.length).join(' / ')} channels per shard`);
    for (const group of groups) {
      const owner = await cluster.primaryOf(`spread:{g:${group}}`);
      assert.ok(perShard[primaries.indexOf(owner)]!.includes(`spread:{g:${group}}`), `${group} lives on its own shard`);
    }
    assert.deepEqual(await cluster.command(primaries[0]!, 'PUBSUB', 'CHANNELS', 'spread:g:*'), [], 'no plain channel per group');
  });

  it('reaches a cluster whose nodes ask for a password, given in redis:// seeds, and says what is wrong without it', { timeout: 60_000 }, async () => {
    const guarded = await RedisCluster.start({ password: 'pa:ss@w/rd' });
    try {
      const a = await RedisChannelLayer.connect({ cluster: guarded.seeds, prefix: 'pw' });
      const b = await RedisChannelLayer.connect({ cluster: guarded.seeds, prefix: 'pw' });
      layers.push(a, b);
      // A group's messages reach b over its shard's own subscriber connection, and a direct send
      // over its process channel: every connection to every node signs in.
      const inB = new RecordingReceiver();
      const channelB = b.newChannel();
      b.attach(channelB, inB);
      const groups = Array.from({ length: 6 }, (_, n) => `room.pw-${n}`);
      for (const group of groups) await b.groupAdd(group, channelB);
      for (const group of groups) await a.groupSend(group, { type: 'test.guarded', group });
      await a.send(channelB, { type: 'test.direct' });
      const received = await inB.received(groups.length + 1);
      assert.deepEqual(received.map((message) => message.type).sort(), [...Array<string>(groups.length).fill('test.guarded'), 'test.direct'].sort());

      const bare = guarded.nodes.map((node) => node.address);
      await assert.rejects(
        RedisChannelLayer.connect({ cluster: bare, prefix: 'pw', connectTimeoutMs: 2_000 }),
        (error: Error) => /^cannot reach the Redis Cluster at /.test(error.message) && /NOAUTH|auth/i.test(error.message) && !error.message.includes('pa:ss'),
      );
      assert.ok(!describeTarget({ cluster: guarded.seeds }).includes('pa%3Ass'), 'the password is left out of what is logged');
    } finally {
      await guarded.dispose();
    }
  });

  it('carries on after a primary is killed: resubscribes on the promoted replica, resyncs every process, and delivers again', { timeout: 60_000 }, async () => {
    const failing = await RedisCluster.start({ replicas: 1, nodeTimeoutMs: 500 });
    try {
      const logger = new RecordingLogger();
      const timeouts = { heartbeatMs: 100, commandTimeoutMs: 500, connectTimeoutMs: 500, publishWaitMs: 300, subscribeWaitMs: 300 };
      const a = await RedisChannelLayer.connect({ cluster: failing.seeds, prefix: 'fo', logger, ...timeouts });
      const b = await RedisChannelLayer.connect({ cluster: failing.seeds, prefix: 'fo', ...timeouts });
      layers.push(a, b);
      const inA = new ResyncingReceiver();
      const inB = new ResyncingReceiver();
      const channelA = a.newChannel();
      const channelB = b.newChannel();
      a.attach(channelA, inA);
      b.attach(channelB, inB);
      // The primary killed serves b's own channel (direct sends, the resync notices it hears) and
      // a group of the same shard: both must move to the replica.
      const doomed = await failing.primaryOf(`fo:{p:${LocalDelivery.processOf(channelB)}}`);
      let group = '';
      for (let n = 0; group === ''; n++) if ((await failing.primaryOf(`fo:{g:room.fo-${n}}`)) === doomed) group = `room.fo-${n}`;
      await a.groupAdd(group, channelA);
      await b.groupAdd(group, channelB);
      await a.groupSend(group, { type: 'test.before' });
      await inB.until((m) => m.type === 'test.before');
      const resynced = Promise.all([inA.nextResync(), inB.nextResync()]);

      await doomed.kill();
      await a.groupSend(group, { type: 'test.during' });
      await logger.logged((message) => message === 'redis unreachable');
      await resynced;
      await logger.logged((message) => message === 'redis reachable again');
      await a.ping();
      await b.ping();
      await a.groupSend(group, { type: 'test.after-a' });
      await b.groupSend(group, { type: 'test.after-b' });
      await a.send(channelB, { type: 'test.direct-after' });
      await inB.until((m) => m.type === 'test.after-a');
      await inB.until((m) => m.type === 'test.direct-after');
      await inA.until((m) => m.type === 'test.after-b');
      for (const inbox of [inA, inB]) {
        const seen = inbox.messages.map((m) => m.type);
        assert.equal(new Set(seen).size, seen.length, `nothing twice: ${seen.join(', ')}`);
      }
    } finally {
      await failing.dispose();
    }
  });
});
