// @ts-check

/** @type {import('next').NextConfig} */
module.exports = {
  // The framework is loaded from node_modules, as server.ts loads it: route handlers then reach
  // the running channel layer.
  serverExternalPackages: ['next-channels'],
};
