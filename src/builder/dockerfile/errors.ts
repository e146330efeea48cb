import { WharfError } from '../../common/index.js';

/**
 * A Dockerfile that cannot be read or is invalid. The message is dockerd 20.10's classic
 * builder's, `dockerfile parse error line N: <what>` (newer BuildKit frontends say "on line";
 * the comparison suite holds us to 20.10), an invalid-argument error. As there, the errors
 * of the file as a whole (parser directives, no instructions, no stage) are `bare`: the
 * detail alone, the line kept for callers.
 */
export class DockerfileError extends WharfError {
  constructor(
    readonly detail: string,
    readonly line: number,
    bare = false,
  ) {
    super(
      'invalid-argument',
      'ERR_DOCKERFILE',
      bare ? detail : `dockerfile parse error line ${line}: ${detail}`,
    );
  }
}
