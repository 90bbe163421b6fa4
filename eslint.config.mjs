import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';

// The layers import one way, down (see docs/architecture.md); these rules keep them honest.
// Flat config keeps only the last matching setting of a rule, so each block lists every pattern.
const noServer = { group: ['**/server', '@/server'], message: 'nothing imports server.ts: it is the composition root.' };
const noUi = { group: ['next', 'next/*', 'react', 'react-dom', 'react/*'], message: 'this layer knows nothing of Next.js or React.' };
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [noServer, ...patterns] }] },
});
const layerRules = [
  restrict(['lib/**/*.ts', 'lib/**/*.tsx', 'app/**/*.ts', 'app/**/*.tsx'], []),
  restrict(
    ['lib/channels/**/*.ts'],
    [noUi, { group: ['**/chat', '**/chat/**', '**/client', '**/client/**', '@/*'], message: 'lib/channels knows nothing of the chat or the client.' }],
  ),
  restrict(['lib/chat/**/*.ts'], [noUi, { group: ['**/client', '**/client/**', '@/*'], message: 'lib/chat sits below lib/client and app/.' }]),
  {
    ...restrict(
      ['lib/client/**/*.ts', 'lib/client/**/*.tsx'],
      [
        { group: ['node:*'], message: 'lib/client runs in the browser.' },
        { regex: '^(\\.\\./chat(?!/protocol$)|.*channels|@/)', message: 'lib/client may use lib/chat/protocol only.' },
      ],
    ),
    ignores: ['**/*.test.ts'],
  },
  restrict(
    ['app/_components/**/*.ts', 'app/_components/**/*.tsx'],
    [
      { group: ['node:*'], message: 'client components run in the browser.' },
      { regex: '^(@/lib/(?!client$|client/|chat/protocol$)|(\\.\\./)+lib/)', message: 'client components import lib/client and lib/chat/protocol only.' },
    ],
  ),
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
  { ignores: ['.next/**', '.next-e2e-dev/**', 'dist/**', 'node_modules/**', 'next-env.d.ts', 'data/**', 'test-results/**', 'playwright-report/**', 'e2e/fixtures/article-client.js'] },
];

export default config;
