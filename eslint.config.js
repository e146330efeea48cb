import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// Layers, lowest first (docs/architecture.md). A module may import only from layers below it.
const zones = [
  // The CLI and compose are API clients: never engine internals.
  ...['cli', 'client'].map((from) => ({
    target: `./src/${from}`,
    from: [
      './src/runtime',
      './src/network',
      './src/images',
      './src/containers',
      './src/api',
      './src/daemon',
      './src/snapshots',
      './src/content',
      './src/archive',
    ],
  })),
  { target: './src/common', from: ['./src/!(common)/**'] },
  { target: './src/api', from: ['./src/runtime', './src/network', './src/daemon'] },
  { target: './src/runtime', from: ['./src/containers', './src/api', './src/daemon', './src/images'] },
  { target: './src/network', from: ['./src/containers', './src/api', './src/daemon', './src/images'] },
  { target: './src/images', from: ['./src/containers', './src/api', './src/daemon'] },
  { target: './src/containers', from: ['./src/api', './src/daemon'] },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-default-export': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  { files: ['*.config.*'], rules: { 'import-x/no-default-export': 'off' } },
);
