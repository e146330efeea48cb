/**
 * The registry client's front door: given the daemon's registry settings, hands out
 * Repository handles (one per repository and credential set) for pulls and pushes.
 */
import type { Credentials } from './auth.js';
import { endpointsFor, type RegistryHostsConfig, type RepositoryRef } from './endpoint.js';
import { Repository } from './repository.js';

export interface RegistryClientOptions extends RegistryHostsConfig {
  userAgent: string;
  /** Chunk size for chunked blob uploads (tests lower it). */
  uploadChunkSize?: number;
}

export class RegistryClient {
  constructor(private readonly opts: RegistryClientOptions) {}

  repository(
    ref: Pick<RepositoryRef, 'domain' | 'path'>,
    purpose: 'pull' | 'push',
    credentials?: Credentials,
  ): Repository {
    return new Repository({
      name: ref.path,
      domain: ref.domain,
      endpoints: endpointsFor(ref.domain, this.opts, purpose),
      credentials,
      userAgent: this.opts.userAgent,
      ...(this.opts.uploadChunkSize ? { chunkSize: this.opts.uploadChunkSize } : {}),
    });
  }

  /** Check credentials against a registry (`POST /auth`). */
  async login(domain: string, credentials: Credentials, signal?: AbortSignal): Promise<void> {
    // Any repository name will do: login talks to /v2/ only.
    await this.repository({ domain, path: 'library/login' }, 'push', credentials).login(signal);
  }
}
