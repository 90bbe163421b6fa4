/** Where the HTTP fallback transport and the probes go, all on the consumer's own path. */
export interface FallbackUrls {
  /** The event stream: the socket's URL as `http(s):`, its query kept, with `_channels=sse`. */
  readonly stream: string;
  /** Batches of frames: the path alone (the resume query belongs to the stream) with `_channels=send`. */
  readonly send: string;
  /** The HTTP probe, which answers 204 with `X-Channels-Probe: 1` and runs no application. */
  readonly httpProbe: string;
  /** The WebSocket probe, which the server accepts and closes at once (1000, `probe`). */
  readonly socketProbe: string;
}

/**
 * The fallback's URLs for `wsUrl`, the URL the client would open as a WebSocket
 * (`ws://host/ws/chat/lobby/?after=41`). The framework reserves the query parameter `_channels`.
 */
export function fallbackUrls(wsUrl: string): FallbackUrls {
  const url = new URL(wsUrl);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const hostAndPath = `//${url.host}${url.pathname}`;
  const http = `${secure ? 'https:' : 'http:'}${hostAndPath}`;
  return {
    stream: `${http}${url.search === '' ? '?' : `${url.search}&`}_channels=sse`,
    send: `${http}?_channels=send`,
    httpProbe: `${http}?_channels=probe`,
    socketProbe: `${secure ? 'wss:' : 'ws:'}${hostAndPath}?_channels=probe`,
  };
}
