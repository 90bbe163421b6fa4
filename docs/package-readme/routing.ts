/**
 * The project's WebSocket routing, as a Django project's routing.py: every feature's routes,
 * inside the Origin check. server.ts loads it, and reloads it in development.
 */
import { AllowedOrigins, originValidator, urlRouter } from 'next-channels';
import { hereRoutes } from './channels/here';
import { roomRoutes } from './channels/room';

// Sockets may be opened by this site's pages only: PUBLIC_URL's origin once it is set, else
// http://localhost:<PORT> (and 127.0.0.1, [::1]) for development.
const allowedOrigins = AllowedOrigins.localDefaults(Number(process.env.PORT ?? 3000), process.env.PUBLIC_URL);

export const application = originValidator(urlRouter([...roomRoutes, ...hereRoutes]), allowedOrigins);
