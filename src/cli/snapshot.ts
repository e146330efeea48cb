/**
 * Entry of the CLI's V8 start-up snapshot (scripts/build-cli.sh): the bundle is loaded and
 * its modules evaluated once, at build time, and the heap saved in dist/wharf.blob; bin/wharf
 * starts Node from that blob, which skips compiling the bundle and loading the Node modules it
 * uses (~13 ms of each command's start here). process.argv[1] is the launcher's own path.
 */
import v8 from 'node:v8';

import { runMain } from './main.js';

v8.startupSnapshot.setDeserializeMainFunction(() => {
  void runMain();
});
