// @ts-check

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Route handlers reach the live channel layer through lib/chat's runtime accessor; the socket
  // library itself only runs in server.ts, so Next never needs to bundle it.
  serverExternalPackages: ['ws'],
  turbopack: { root: __dirname },
  outputFileTracingRoot: __dirname,
};

module.exports = nextConfig;
