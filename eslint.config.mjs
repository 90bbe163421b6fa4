import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';

// The layers import one way, down (see docs/architecture.md); these rules keep them honest.
// Flat config keeps only the last matching setting of a rule, so each block lists every pattern.
const noServer = { group: ['**/server', '@/server'], message: 'nothing imports server.ts: it is the composition root.' };
const noUi = { group: ['next', 'next/*', 'react', 'react-dom', 'react/*'], message: 'this layer knows nothing of Next.js or React.' };
// The framework is a package (lib/channels, `next-channels`): everything else imports it by name,
// through its exports map, as an outside app would.
const noReachIn = {
  group: ['**/lib/channels', '**/lib/channels/**', '**/channels/src', '**/channels/src/**', 'next-channels/src/**', 'next-channels/dist/**', '../channels', '../channels/**', '../../channels', '../../channels/**'],
  message: "import the framework as 'next-channels' (or one of its entries), not by its files.",
};
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [noServer, noReachIn, ...patterns] }] },
});
// Inside the package: its core needs nothing but ws and cookie; each adapter has an entry of its own.
const packageRule = (files, patterns) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: ['**/chat', '**/chat/**', '**/lib/client', '**/lib/client/**', '../../client', '../../client/**', '../../../client', '../../../client/**', '@/*', 'next-channels', 'next-channels/*'], message: 'the package knows nothing of the chat or its client, and imports itself by relative paths.' }, ...patterns] },
    ],
  },
});
const optionalPeers = { group: ['ioredis', 'pino', 'prom-client', 'next', 'next/*'], message: 'the core has no hard dependency on ioredis, pino, prom-client or next: they belong to the entries redis, pino, prometheus and next.' };
const layerRules = [
  restrict(['*.ts', 'lib/**/*.ts', 'lib/**/*.tsx', 'app/**/*.ts', 'app/**/*.tsx', 'e2e/**/*.ts', 'bench/**/*.ts', 'docs/**/*.ts', 'scripts/**/*.ts'], []),
  packageRule(['lib/channels/src/**/*.ts'], [noUi, optionalPeers]),
  packageRule(['lib/channels/src/next/**/*.ts'], [{ group: ['react', 'react-dom', 'react/*', 'ioredis', 'pino', 'prom-client'], message: 'the Next adapter needs next only.' }]),
  packageRule(['lib/channels/src/redis/**/*.ts'], [noUi, { group: ['pino', 'prom-client'], message: 'the Redis entry needs ioredis only.' }]),
  packageRule(['lib/channels/src/pino.ts', 'lib/channels/src/pino.test.ts'], [noUi, { group: ['ioredis', 'prom-client'], message: 'the pino entry needs pino only.' }]),
  packageRule(['lib/channels/src/prometheus.ts', 'lib/channels/src/prometheus.test.ts'], [noUi, { group: ['ioredis', 'pino'], message: 'the prometheus entry needs prom-client only.' }]),
  {
    ...packageRule(
      ['lib/channels/src/client/**/*.ts'],
      [
        noUi,
        optionalPeers,
        { group: ['node:*', 'ws', 'cookie'], message: 'the client entry runs in the browser.' },
        { regex: '^\\.\\./(?!close-codes$|framework-frames$|protocol$)', message: 'the client entry may import ../close-codes, ../framework-frames and ../protocol of the core, which import nothing of Node.' },
      ],
    ),
    ignores: ['**/*.test.ts', '**/test-doubles.ts'],
  },
  packageRule(['lib/channels/src/react/**/*.ts'], [
    optionalPeers,
    { group: ['node:*', 'ws', 'cookie', 'react-dom', 'react-dom/*'], message: 'the React entry runs in the browser and needs react only.' },
    { regex: '^\\.\\./(?!client/|protocol$)', message: 'the React entry builds on the client entry only.' },
  ]),
  packageRule(['lib/channels/src/**/*.test.ts'], [noUi]),
  packageRule(['lib/channels/src/react/**/*.test.ts'], [optionalPeers]),
  restrict(['lib/chat/**/*.ts'], [noUi, { group: ['**/client', '**/client/**', '@/*'], message: 'lib/chat sits below lib/client and app/.' }]),
  {
    ...restrict(
      ['lib/client/**/*.ts', 'lib/client/**/*.tsx'],
      [
        { group: ['node:*'], message: 'lib/client runs in the browser.' },
        { regex: '^(\\.\\./chat(?!/protocol$)|@/|(?!next-channels/client$).*channels)', message: 'lib/client may use lib/chat/protocol and next-channels/client only.' },
      ],
    ),
    ignores: ['**/*.test.ts'],
  },
  {
    ...restrict(
      ['app/_components/**/*.ts', 'app/_components/**/*.tsx'],
      [
        { group: ['node:*'], message: 'client components run in the browser.' },
        { regex: '^(@/lib/(?!client$|client/|chat/protocol$)|(\\.\\./)+lib/)', message: 'client components import lib/client and lib/chat/protocol only.' },
      ],
    ),
    // Unit tests of their pure logic run in Node.
    ignores: ['**/*.test.ts'],
  },
  restrict(
    ['lib/chat/protocol.ts'],
    [noUi, { group: ['node:*', '**/channels', '**/channels/**', './*', '../*'], message: 'the protocol runs in the browser too: no Node or server imports.' }],
  ),
];

const config = [
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
    },
  },
  ...layerRules,
  // The guide's snippet for the browser console: logging is what it is for.
  { files: ['docs/guide/browser-console.js'], rules: { 'no-console': 'off' } },
  { ignores: ['.next/**', '.next-e2e-dev/**', 'dist/**', 'lib/channels/dist/**', 'examples/*/.next/**', 'examples/*/node_modules/**', 'node_modules/**', 'next-env.d.ts', 'data/**', 'test-results/**', 'playwright-report/**', 'docs/api/**', 'e2e/fixtures/article-client.js'] },
];

export default config;
