/**
 * `next-channels/next`: the Next.js adapter. One call serves a Next app and the app's consumers
 * from one HTTP server. `next` is a peer dependency.
 *
 * @packageDocumentation
 */
export { type ChannelsNextServer, reloadable, type ReloadableApplication, serveNext, type ServeNextOptions } from './serve-next';
