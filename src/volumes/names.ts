import { randomBytes } from 'node:crypto';

import { invalidArgument } from '../common/index.js';

/** Docker's label marking a volume created for one container (`-v /path`, VOLUME, ...). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A name the local driver accepts (Docker's: at least two characters). */
export function validVolumeName(name: string): boolean {
  return VALID_NAME.test(name);
}

/** Throws Docker's message for a name the local driver cannot use. */
export function checkVolumeName(name: string): void {
  if (!validVolumeName(name)) {
    throw invalidArgument(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

/** An anonymous volume's name: 64 random hex characters, as Docker's. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}
