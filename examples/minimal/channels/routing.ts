import { AllowedOrigins, originValidator, route, urlRouter } from 'next-channels';
import { RoomConsumer } from './room';

/** The project's routing: room sockets, for pages served from this machine. */
export const application = originValidator(
  urlRouter([route('/ws/room/:room/', RoomConsumer, { params: { room: /^[a-z0-9-]{1,32}$/ } })]),
  AllowedOrigins.localDefaults(Number(process.env.PORT ?? 3000)),
);
