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
  { ignores: ['.next/**', '.next-e2e-dev/**', 'dist/**', 'node_modules/**', 'next-env.d.ts', 'data/**', 'test-results/**', 'playwright-report/**'] },
];

export default config;
