/**
 * `next-channels/testing`: run an application in a test without a server or a socket, as Django
 * Channels' `WebsocketCommunicator` does.
 *
 * @packageDocumentation
 */
export { type CommunicatorOptions, type ConnectOutcome, WebsocketCommunicator } from './communicator';
