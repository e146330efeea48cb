import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers, lowest first (docs/architecture.md): a module may import only from layers below it.
 * Each entry: the directory, and the modules it must not import.
 */
const ENGINE = ['runtime', 'network', 'volumes', 'images', 'containers', 'api', 'daemon', 'snapshots', 'content', 'archive', 'events', 'builder'];
const LAYERS = {
  common: ['oci', 'api-types', ...ENGINE, 'cli', 'client'],
  oci: [...ENGINE, 'cli', 'client'],
  'api-types': [...ENGINE, 'cli', 'client'],
  archive: ['volumes', 'registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  content: ['volumes', 'registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  events: ['volumes', 'registry', 'snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  snapshots: ['volumes', 'registry', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  runtime: ['volumes', 'registry', 'images', 'containers', 'api', 'daemon', 'network', 'snapshots', 'cli', 'client'],
  network: ['volumes', 'registry', 'images', 'containers', 'api', 'daemon', 'runtime', 'snapshots', 'cli', 'client'],
  volumes: ['registry', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'snapshots', 'cli', 'client'],
  // registry/client is layer 3: images may use it, nothing below may.
  'registry/client': ['volumes', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'snapshots', 'events', 'cli', 'client'],
  images: ['containers', 'api', 'daemon', 'runtime', 'network', 'cli', 'client'],
  containers: ['api', 'daemon', 'volumes', 'cli', 'client'],
  // The API layer sees services only through its backend interfaces.
  api: ['daemon', 'runtime', 'network', 'volumes', 'images', 'containers', 'snapshots', 'content', 'archive', 'registry', 'cli', 'client', 'builder'],
  // The builder is layer 6: it drives images and containers, never the API or the daemon.
  builder: ['api', 'daemon', 'registry', 'cli', 'client'],
  // The CLI and its client are API clients: never engine internals.
  client: [...ENGINE, 'cli'],
  cli: [...ENGINE, 'registry'],
  // registry/server is layer 6: common, oci, content, archive below it.
  'registry/server': ['snapshots', 'images', 'containers', 'api', 'daemon', 'runtime', 'network', 'events', 'cli', 'client'],
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
  // `wharf registry serve|gc` run the server in-process, loaded at run time from tsc's output
  // (never bundled); this one file may name it, and only for types.
  {
    files: ['src/cli/commands/registry/load-server.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ENGINE.filter((m) => m !== 'registry').flatMap((m) => [`../${m}/*`, `../../${m}/*`, `../../../${m}/*`]),
              message: 'src/cli may not import this layer (see docs/architecture.md)',
            },
          ],
        },
      ],
    },
  },
  { files: ['*.config.*'], rules: { 'no-restricted-syntax': 'off' } },
);
