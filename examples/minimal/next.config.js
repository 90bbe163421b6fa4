// @ts-check

/**
 * Nothing to set for next-channels: route handlers may bundle their own copy of the framework,
 * and `channelLayer()` still finds the running layer (it lives in process-wide state, not in a
 * module). Listing 'next-channels' in `serverExternalPackages` would break its React hooks in
 * server rendering: they would load a React other than Next's.
 *
 * @type {import('next').NextConfig}
 */
module.exports = {};
