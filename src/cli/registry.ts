/**
 * The command table. Modules are imported only when their command runs, so start-up pays
 * only for the command used.
 */
import type { CommandSpec } from './command.js';

type Loader = () => Promise<{ command: CommandSpec }>;

const c = {
  run: () => import('./commands/container/run.js'),
  create: () => import('./commands/container/create.js'),
  start: () => import('./commands/container/start.js'),
  stop: () => import('./commands/container/stop.js'),
  restart: () => import('./commands/container/restart.js'),
  kill: () => import('./commands/container/kill.js'),
  rm: () => import('./commands/container/rm.js'),
  ls: () => import('./commands/container/ls.js'),
  logs: () => import('./commands/container/logs.js'),
  exec: () => import('./commands/container/exec.js'),
  attach: () => import('./commands/container/attach.js'),
  inspect: () => import('./commands/container/inspect.js'),
  wait: () => import('./commands/container/wait.js'),
  top: () => import('./commands/container/top.js'),
  diff: () => import('./commands/container/diff.js'),
  export: () => import('./commands/container/export.js'),
  commit: () => import('./commands/container/commit.js'),
  rename: () => import('./commands/container/rename.js'),
  pause: () => import('./commands/container/pause.js'),
  unpause: () => import('./commands/container/unpause.js'),
  port: () => import('./commands/container/port.js'),
  prune: () => import('./commands/container/prune.js'),
} satisfies Record<string, Loader>;

const i = {
  ls: () => import('./commands/image/ls.js'),
  rm: () => import('./commands/image/rm.js'),
  inspect: () => import('./commands/image/inspect.js'),
  history: () => import('./commands/image/history.js'),
  import: () => import('./commands/image/import.js'),
  tag: () => import('./commands/image/tag.js'),
  pull: () => import('./commands/image/pull.js'),
  push: () => import('./commands/image/push.js'),
  save: () => import('./commands/image/save.js'),
  load: () => import('./commands/image/load.js'),
  prune: () => import('./commands/image/prune.js'),
} satisfies Record<string, Loader>;

const auth = {
  login: () => import('./commands/registry/login.js'),
  logout: () => import('./commands/registry/logout.js'),
} satisfies Record<string, Loader>;

const v = {
  create: () => import('./commands/volume/create.js'),
  ls: () => import('./commands/volume/ls.js'),
  inspect: () => import('./commands/volume/inspect.js'),
  rm: () => import('./commands/volume/rm.js'),
  prune: () => import('./commands/volume/prune.js'),
} satisfies Record<string, Loader>;

const n = {
  create: () => import('./commands/network/create.js'),
  ls: () => import('./commands/network/ls.js'),
  inspect: () => import('./commands/network/inspect.js'),
  rm: () => import('./commands/network/rm.js'),
  prune: () => import('./commands/network/prune.js'),
  connect: () => import('./commands/network/connect.js'),
  disconnect: () => import('./commands/network/disconnect.js'),
} satisfies Record<string, Loader>;

const s = {
  version: () => import('./commands/system/version.js'),
  info: () => import('./commands/system/info.js'),
  events: () => import('./commands/system/events.js'),
  inspect: () => import('./commands/system/inspect.js'),
  df: () => import('./commands/system/df.js'),
  prune: () => import('./commands/system/prune.js'),
} satisfies Record<string, Loader>;

const b = {
  build: () => import('./commands/build/build.js'),
  prune: () => import('./commands/build/prune.js'),
} satisfies Record<string, Loader>;

const r = {
  serve: () => import('./commands/registry/serve.js'),
  gc: () => import('./commands/registry/gc.js'),
} satisfies Record<string, Loader>;

export const TOP_LEVEL: Record<string, Loader> = {
  attach: c.attach,
  build: b.build,
  create: c.create,
  diff: c.diff,
  export: c.export,
  commit: c.commit,
  events: s.events,
  exec: c.exec,
  history: i.history,
  images: i.ls,
  import: i.import,
  info: s.info,
  inspect: s.inspect,
  kill: c.kill,
  load: i.load,
  login: auth.login,
  logout: auth.logout,
  logs: c.logs,
  pause: c.pause,
  port: c.port,
  ps: c.ls,
  pull: i.pull,
  push: i.push,
  rename: c.rename,
  restart: c.restart,
  rm: c.rm,
  rmi: i.rm,
  run: c.run,
  save: i.save,
  start: c.start,
  stop: c.stop,
  tag: i.tag,
  top: c.top,
  unpause: c.unpause,
  version: s.version,
  wait: c.wait,
};

export const GROUPS: Record<string, { description: string; commands: Record<string, Loader> }> = {
  container: {
    description: 'Manage containers',
    commands: {
      ...c,
      ps: c.ls,
      list: c.ls,
      remove: c.rm,
    },
  },
  image: {
    description: 'Manage images',
    commands: { ...i, list: i.ls, remove: i.rm, build: b.build },
  },
  builder: {
    description: 'Manage builds',
    commands: { build: b.build, prune: b.prune },
  },
  volume: {
    description: 'Manage volumes',
    commands: { ...v, list: v.ls, remove: v.rm },
  },
  network: {
    description: 'Manage networks',
    commands: { ...n, list: n.ls, remove: n.rm },
  },
  system: {
    description: 'Manage Wharf',
    commands: { info: s.info, events: s.events, df: s.df, prune: s.prune },
  },
  registry: {
    description: 'Run an image registry (OCI distribution)',
    commands: r,
  },
};

export const TOP_LEVEL_HELP: Array<[string, string]> = [
  ['run', 'Create and run a new container from an image'],
  ['exec', 'Execute a command in a running container'],
  ['build', 'Build an image from a Dockerfile'],
  ['ps', 'List containers'],
  ['pull', 'Download an image from a registry'],
  ['push', 'Upload an image to a registry'],
  ['images', 'List images'],
  ['login', 'Authenticate to a registry'],
  ['logout', 'Log out from a registry'],
  ['info', 'Display system-wide information'],
  ['version', 'Show the Wharf version information'],
  ['attach', 'Attach local standard input, output, and error streams to a running container'],
  ['commit', "Create a new image from a container's changes"],
  ['create', 'Create a new container'],
  ['diff', "Inspect changes to files or directories on a container's filesystem"],
  ['events', 'Get real time events from the server'],
  ['export', "Export a container's filesystem as a tar archive"],
  ['history', 'Show the history of an image'],
  ['import', 'Import the contents from a tarball to create a filesystem image'],
  ['inspect', 'Return low-level information on Wharf objects'],
  ['kill', 'Kill one or more running containers'],
  ['load', 'Load an image from a tar archive or STDIN'],
  ['logs', 'Fetch the logs of a container'],
  ['pause', 'Pause all processes within one or more containers'],
  ['port', 'List port mappings or a specific mapping for the container'],
  ['rename', 'Rename a container'],
  ['restart', 'Restart one or more containers'],
  ['rm', 'Remove one or more containers'],
  ['rmi', 'Remove one or more images'],
  ['save', 'Save one or more images to a tar archive (streamed to STDOUT by default)'],
  ['start', 'Start one or more stopped containers'],
  ['stop', 'Stop one or more running containers'],
  ['tag', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE'],
  ['top', 'Display the running processes of a container'],
  ['unpause', 'Unpause all processes within one or more containers'],
  ['wait', 'Block until one or more containers stop, then print their exit codes'],
];
