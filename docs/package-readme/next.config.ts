import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Route handlers and server actions use the framework from node_modules, the copy server.ts
  // loaded, rather than a copy bundled by Next.
  serverExternalPackages: ['next-channels'],
};

export default nextConfig;
