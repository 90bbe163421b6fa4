import { AllowedOrigins, originValidator, route, urlRouter } from 'next-channels';
import { PollConsumer } from './poll';
import { RoomConsumer } from './room';

/** The project's routing: room sockets and the poll, for pages served from this machine. */
export const application = originValidator(
  urlRouter([route('/ws/room/:room/', RoomConsumer, { params: { room: /^[a-z0-9-]{1,32}$/ } }), route('/ws/poll/', PollConsumer)]),
  AllowedOrigins.localDefaults(Number(process.env.PORT ?? 3000)),
);
