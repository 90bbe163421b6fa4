import type { NextConfig } from 'next';

// Nothing for next-channels: a route handler or server action may bundle a copy of the framework,
// and channelLayer() still finds the layer server.ts runs (process-wide state, not a module's).
// Keep 'next-channels' out of serverExternalPackages: its React hooks would then load a React
// other than Next's when a page is rendered on the server.
const nextConfig: NextConfig = {};

export default nextConfig;
