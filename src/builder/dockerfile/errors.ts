import { WharfError } from '../../common/index.js';

/**
 * A Dockerfile that cannot be read or is invalid. The message is Docker's (BuildKit's
 * frontend): `dockerfile parse error on line N: <what>`, an invalid-argument error.
 */
export class DockerfileError extends WharfError {
  constructor(
    readonly detail: string,
    readonly line: number,
  ) {
    super(
      'invalid-argument',
      'ERR_DOCKERFILE',
      `dockerfile parse error on line ${line}: ${detail}`,
    );
  }
}
