// @ts-check

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // End-to-end tests run a development server in a folder of its own, so they never compete
  // with a developer's `npm run dev` for the lock on .next/dev.
  distDir: process.env.NEXT_DIST_DIR || '.next',
  poweredByHeader: false,
  // Pages live at /chat/<room>/, as in the Django Channels tutorial, and links keep the slash;
  // no redirects either way, so /api/... and /chat/<room> answer as they are.
  trailingSlash: true,
  skipTrailingSlashRedirect: true,
  // Route handlers reach the live chat through lib/chat's runtime accessor, over next-channels'
  // per-process slots; the framework, the socket library and the native SQLite module are loaded
  // from node_modules as server.ts loads them, never bundled.
  serverExternalPackages: ['next-channels', 'ws', 'better-sqlite3'],
  turbopack: { root: __dirname },
  outputFileTracingRoot: __dirname,
};

module.exports = nextConfig;
