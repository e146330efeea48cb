// Run by bin/wharf when the start-up snapshot cannot be used.
// `npm run build` bundles the CLI into one file (dist/wharf.mjs): ~10 ms less start-up than
// loading dist/src/cli/**. Use it unless it is missing, older than the last tsc output (a
// developer ran only tsc), or WHARF_NO_BUNDLE is set.
import { statSync } from 'node:fs';

const bundle = new URL('../dist/wharf.mjs', import.meta.url);
const modules = new URL('../dist/src/cli/main.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const useBundle = !process.env.WHARF_NO_BUNDLE && mtime(bundle) >= mtime(modules);
const { runMain } = await import(useBundle ? bundle.href : modules.href);

await runMain();
