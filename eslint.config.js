import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The folders are the architecture (see the README): these rules keep each external system behind
// its one wrapper and keep src/core pure.
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

const onlyDocker = {
  group: ['dockerode', 'docker-modem', 'tar-fs'],
  message: 'Docker is reached only through src/docker.',
};
const onlyHostExec = {
  group: ['execa', 'node:child_process', 'child_process'],
  message: 'Child processes are started only through src/host/exec.ts.',
};
const onlyUi = {
  group: ['ink', 'react', 'ink-*'],
  message: 'The terminal UI lives only in src/ui.',
};
const noOclif = { group: ['@oclif/*'], message: 'Only src/commands and src/cli know about oclif.' };
const onlyServer = {
  group: ['fastify', 'fastify-*', '@fastify/*'],
  message: 'The HTTP framework lives only in src/server.',
};
const zodThroughCore = {
  group: ['zod', 'zod/*'],
  message: "Import zod as src/core/zod.ts (the build bundles only what it names), not 'zod'.",
};
const coreIsPure = {
  group: [
    'node:fs',
    'node:fs/*',
    'fs',
    'fs/*',
    'node:os',
    'os',
    'proper-lockfile',
    '../*/**',
    '!../core/**',
  ],
  message: 'src/core is pure: no I/O, and it imports only src/core.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'oclif.manifest.json', 'bench/results/', 'templates/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: restrict([onlyDocker, onlyHostExec, onlyUi, noOclif, onlyServer, zodThroughCore]),
  },
  {
    files: ['src/core/**'],
    rules: restrict([
      onlyDocker,
      onlyHostExec,
      onlyUi,
      noOclif,
      onlyServer,
      coreIsPure,
      zodThroughCore,
    ]),
  },
  {
    // The one wrapper, and rp serve's request schemas (the fastify type provider needs zod's own).
    files: ['src/core/zod.ts', 'src/core/api-requests.ts'],
    rules: restrict([onlyDocker, onlyHostExec, onlyUi, noOclif, onlyServer, coreIsPure]),
  },
  {
    files: ['src/docker/**'],
    rules: restrict([onlyHostExec, onlyUi, noOclif, onlyServer, zodThroughCore]),
  },
  {
    files: ['src/host/exec.ts'],
    rules: restrict([onlyDocker, onlyUi, noOclif, onlyServer, zodThroughCore]),
  },
  {
    files: ['src/ui/**'],
    rules: restrict([onlyDocker, onlyHostExec, noOclif, onlyServer, zodThroughCore]),
  },
  {
    files: ['src/commands/**', 'src/cli/**'],
    rules: restrict([onlyDocker, onlyHostExec, onlyUi, onlyServer, zodThroughCore]),
  },
  {
    files: ['src/server/**'],
    rules: restrict([onlyDocker, onlyHostExec, onlyUi, noOclif, zodThroughCore]),
  },
  {
    // The dashboard runs in the browser, as it is: no build step.
    files: ['dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        window: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        URLSearchParams: 'readonly',
        Node: 'readonly',
      },
    },
  },
);
