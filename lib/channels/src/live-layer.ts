import type { EventMap, EventOf } from './consumer';
import type { ChannelLayer, GroupSendOptions } from './layers/types';
import { processSlot } from './process-slot';

/**
 * The running channel layer as route handlers and server actions see it, its sends typed by an
 * event map: a misspelt event type or field fails to compile.
 */
export interface LiveLayer<E extends EventMap> {
  /**
   * Sends `event` to every member of `group` but the channels `options.except` names (see
   * `ChannelLayer.groupSend`).
   */
  groupSend<K extends keyof E & string>(group: string, event: EventOf<E, K>, options?: GroupSendOptions): Promise<void>;
  /** Sends `event` to one channel (see `ChannelLayer.send`). */
  send<K extends keyof E & string>(channel: string, event: EventOf<E, K>): Promise<void>;
  /** The layer itself, untyped. */
  readonly layer: ChannelLayer;
}

const running = processSlot<ChannelLayer>('layer');

/**
 * Makes `layer` the one `channelLayer()` returns in this process. `serveNext` calls it; call it
 * yourself only with a server of your own.
 */
export function installChannelLayer(layer: ChannelLayer): void {
  running.install(layer);
}

/** Forgets the installed layer (on shutdown, and between tests). */
export function uninstallChannelLayer(): void {
  running.uninstall();
}

/**
 * The channel layer of the running server, from a Next route handler or server action (or any
 * code in the process). Next bundles route code apart from the server, so this reads a
 * per-process slot, never a module variable.
 *
 * @throws Error when no server has installed a layer in this process.
 * @example
 * ```ts
 * type Events = { 'chat.message': { text: string } };
 * export async function POST(request: Request) {
 *   await channelLayer<Events>().groupSend('lobby', { type: 'chat.message', text: await request.text() });
 *   return new Response(null, { status: 204 });
 * }
 * ```
 */
export function channelLayer<E extends EventMap = EventMap>(): LiveLayer<E> {
  const layer = running.get();
  return {
    layer,
    groupSend: (group, event, options) => layer.groupSend(group, event, options),
    send: (channel, event) => layer.send(channel, event),
  };
}
