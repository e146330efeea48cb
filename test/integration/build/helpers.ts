/** What the build tests share: build contexts written from a map of files. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** A context directory `<root>/<name>` from a map of relative path → content. */
export async function writeContext(
  root: string,
  name: string,
  files: Record<string, string>,
): Promise<string> {
  const dir = path.join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fsp.writeFile(path.join(dir, rel), content);
  }
  return dir;
}
