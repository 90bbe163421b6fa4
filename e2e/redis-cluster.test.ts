/**
 * Two production processes on a Redis Cluster (3 primaries, 3 replicas, sharded pub/sub) and one
 * PostgreSQL: rooms on several shards, everyone sending, and one shard's primary killed
 * (SIGKILL) mid-traffic. Every acknowledged message reaches everyone in its room, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import type { WebSocketLike } from 'next-channels/client';
import { ChatClient } from '../lib/client';
import { PostgresServer, RedisCluster } from '../lib/testing/engines';
import { AppServer } from './support/app-server';
import { untilSnapshot as until } from './support/chat-until';

const PREFIX = 'e2e-site';
const ROOMS = ['north', 'south', 'east', 'west', 'up', 'down'];
/** Each client sends one message this often, from before the kill until after the failover. */
const SEND_EVERY_MS = 250;

/** A chat client that also counts every chat message frame its sockets received, by id. */
interface Member {
  readonly room: string;
  readonly chat: ChatClient;
  /** Message id → how many frames (live or history) carried it. */
  readonly frames: Map<string, number>;
  /** The client ids of what it sent. */
  readonly sent: Set<string>;
}

function member(server: AppServer, room: string): Member {
  const frames = new Map<string, number>();
  const count = (id: string): void => void frames.set(id, (frames.get(id) ?? 0) + 1);
  const chat = new ChatClient({
    room,
    url: `${server.ws}/ws/chat/${room}/`,
    createSocket: (url) => {
      const socket = new WebSocket(url, { headers: { origin: server.origin } });
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type?: string; id?: string; messages?: Array<{ id: string }> };
        if (frame.type === 'chat.message' && frame.id !== undefined) count(frame.id);
        if (frame.type === 'history') for (const message of frame.messages ?? []) count(message.id);
      });
      return socket as unknown as WebSocketLike;
    },
    backoff: () => 100,
  });
  chat.connect();
  return { room, chat, frames, sent: new Set() };
}

describe('two processes on a Redis Cluster', () => {
  let redis: RedisCluster | undefined;
  let postgres: PostgresServer | undefined;
  const servers: AppServer[] = [];
  const members: Member[] = [];
  /** The clients keep sending while this is true (set false after, too, should the test fail). */
  let sending = false;

  before(async () => {
    [redis, postgres] = await Promise.all([RedisCluster.start({ replicas: 1, nodeTimeoutMs: 1_000 }), PostgresServer.start()]);
    const env = {
      DATABASE_URL: await postgres.createDatabase(),
      REDIS_CLUSTER: redis.seeds.join(','),
      REDIS_PREFIX: PREFIX,
      SESSION_SECRET: 'cluster-session-secret-0123456789abcdef',
      PRESENCE_EXPIRY_MS: '3000',
      RATE_LIMIT: 'off',
    };
    servers.push(...(await Promise.all([AppServer.start({ mode: 'production', env }), AppServer.start({ mode: 'production', env })])));
  });
  after(async () => {
    sending = false;
    for (const { chat } of members) chat.close();
    await Promise.all(servers.map((server) => server.dispose()));
    await Promise.all([redis?.dispose(), postgres?.dispose()]);
  });

  it("loses and repeats nothing acknowledged when a shard's primary is killed mid-traffic, and is healthy again", { timeout: 60_000 }, async (t) => {
    const cluster = redis!;
    const [a, b] = servers;
    // Rooms live on the shard of their group's channel: kill the primary that serves the most.
    const shardOf = new Map<string, number>();
    for (const room of ROOMS) shardOf.set(room, (await cluster.primaryOf(`${PREFIX}:{g:chat.${room}}`)).port);
    const ports = [...shardOf.values()];
    assert.ok(new Set(ports).size >= 2, `the rooms are spread over shards: ${ports.join(', ')}`);
    const rooms = (port: number): number => ports.filter((other) => other === port).length;
    const doomedPort = ports.reduce((most, port) => (rooms(port) > rooms(most) ? port : most));
    const doomed = cluster.nodes.find((node) => node.port === doomedPort)!;
    const hit = ROOMS.filter((room) => shardOf.get(room) === doomedPort);

    for (const room of ROOMS) members.push(member(a!, room), member(a!, room), member(b!, room), member(b!, room));
    await Promise.all(members.map(({ chat, room }) => until(chat, (s) => s.status === 'open' && s.presence.length >= 1, `${room} open`)));

    sending = true;
    let sentCount = 0;
    const senders = members.map(async (one, index) => {
      await delay((index * SEND_EVERY_MS) / members.length);
      while (sending) {
        const sent = one.chat.send(`${one.room} #${++sentCount}`);
        if (sent.ok) one.sent.add(sent.clientId);
        await delay(SEND_EVERY_MS);
      }
    });
    await delay(1_500);
    const killedAt = Date.now();
    await doomed.kill();
    await Promise.all(servers.map((server) => server.waitForOutput(/"msg":"redis unreachable"/)));
    await cluster.untilHealthy();
    // Both processes whole again (subscriptions on the promoted replica, publisher reconnected).
    for (const server of servers) {
      while ((await fetch(`${server.http}/readyz`)).status !== 200) {
        assert.ok(Date.now() - killedAt < 20_000, `${server.http} ready again within 20 s of the kill`);
        await delay(100);
      }
    }
    const healthyAfterMs = Date.now() - killedAt;
    await delay(1_500);
    sending = false;
    await Promise.all(senders);

    // Every send is acknowledged in the end (the client retries with the same client_id).
    await Promise.all(members.map(({ chat, room }) => until(chat, (s) => s.outbox.length === 0, `${room}: outbox empty`)));
    for (const room of ROOMS) {
      const inRoom = members.filter((one) => one.room === room);
      // Acknowledged: a sender holds its own message, with an id, as the server echoed it.
      const acknowledged = new Set<string>();
      for (const one of inRoom) for (const message of one.chat.getSnapshot().messages) if (message.client_id !== undefined && one.sent.has(message.client_id)) acknowledged.add(message.id);
      assert.ok(acknowledged.size > 0, `${room}: messages were acknowledged`);
      const count = acknowledged.size;
      for (const one of inRoom) {
        const seen = await until(one.chat, (s) => s.messages.length >= count, `${room}: every acknowledged message arrives`);
        const ids = seen.messages.map((message) => message.id);
        for (const id of acknowledged) assert.ok(ids.includes(id), `${room}: ${id} reached every member`);
        assert.deepEqual(ids, Array.from({ length: ids.length }, (_, n) => String(n + 1)), `${room}: ids 1..n, each once, in order`);
        const repeated = [...one.frames].filter(([, times]) => times > 1);
        assert.deepEqual(repeated, [], `${room}: no message was sent to a socket twice`);
      }
    }
    assert.ok(hit.length > 0);
    t.diagnostic(`${sentCount} messages sent in ${ROOMS.length} rooms, ${hit.join(', ')} on the killed primary; both processes ready ${healthyAfterMs} ms after the kill`);
    assert.ok(healthyAfterMs < 20_000, `healthy ${healthyAfterMs} ms after the kill`);
    for (const server of servers) await server.waitForOutput(/"msg":"redis reachable again"/);
  });
});
