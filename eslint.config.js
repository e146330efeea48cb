import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers, lowest first (docs/architecture.md): a module may import only from layers below it.
 * Each entry: the directory, and the modules it must not import.
 */
const ENGINE = ['runtime', 'network', 'images', 'containers', 'api', 'daemon', 'snapshots', 'content', 'archive', 'events'];
const LAYERS = {
  common: ['oci', 'api-types', ...ENGINE, 'cli', 'client'],
  oci: [...ENGINE, 'cli', 'client'],
  'api-types': [...ENGINE, 'cli', 'client'],
  archive: ['registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  content: ['registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  events: ['registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  snapshots: ['registry', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  runtime: ['registry', 'images', 'containers', 'api', 'daemon', 'network', 'snapshots', 'cli', 'client'],
  network: ['registry', 'images', 'containers', 'api', 'daemon', 'runtime', 'snapshots', 'cli', 'client'],
  // registry/client is layer 3: images may use it, nothing below may.
  'registry/client': ['images', 'containers', 'api', 'daemon', 'runtime', 'network', 'snapshots', 'events', 'cli', 'client'],
  images: ['containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  containers: ['api', 'daemon', 'cli', 'client'],
  // The API layer sees services only through its backend interfaces.
  api: ['daemon', 'runtime', 'network', 'images', 'containers', 'snapshots', 'content', 'archive', 'registry', 'cli', 'client'],
  // The CLI and its client are API clients: never engine internals.
  client: [...ENGINE, 'cli'],
  cli: ENGINE,
};

const layerRules = Object.entries(LAYERS).map(([dir, banned]) => ({
  files: [`src/${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: banned.flatMap((m) => [`../${m}/*`, `../../${m}/*`, `../../../${m}/*`]),
            message: `src/${dir} may not import this layer (see docs/architecture.md)`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  ...layerRules,
  { files: ['*.config.*'], rules: { 'no-restricted-syntax': 'off' } },
);
