/**
 * The image distribution service: pull, push and login as the API offers them, on top of
 * the puller, the pusher and the registry client.
 */
import { invalidArgument, type Logger } from '../common/index.js';
import { isDigest } from '../oci/index.js';
import {
  loginDomain,
  parsePlatform,
  RegistryClient,
  type Credentials,
  type RegistryHostsConfig,
} from '../registry/client/index.js';
import type { ImageStore } from './image-store.js';
import type { ProgressSink } from './progress.js';
import { ImagePuller } from './pull.js';
import { ImagePusher } from './push.js';
import { familiarString, parseNormalizedNamed, withTag, type Reference } from './reference.js';

export interface DistributionOptions extends RegistryHostsConfig {
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  userAgent: string;
  logger: Logger;
}

export class ImageDistribution {
  readonly registry: RegistryClient;
  private readonly puller: ImagePuller;
  private readonly pusher: ImagePusher;

  constructor(store: ImageStore, opts: DistributionOptions) {
    this.registry = new RegistryClient({
      insecureRegistries: opts.insecureRegistries,
      mirrors: opts.mirrors,
      userAgent: opts.userAgent,
    });
    const logger = opts.logger.child({ module: 'distribution' });
    this.puller = new ImagePuller(store, this.registry, {
      maxConcurrentDownloads: opts.maxConcurrentDownloads,
      logger,
    });
    this.pusher = new ImagePusher(store, this.registry, {
      maxConcurrentUploads: opts.maxConcurrentUploads,
      logger,
    });
  }

  /**
   * Pull `fromImage` with `tag` (a tag or a digest) as `POST /images/create` means it; a
   * reference with neither pulls every tag of the repository. Returns the pulled references.
   */
  async pull(
    o: { fromImage: string; tag?: string; platform?: string; credentials?: Credentials },
    sink: ProgressSink,
    signal?: AbortSignal,
  ): Promise<Array<{ ref: string; id: string }>> {
    let ref = parseNormalizedNamed(o.fromImage);
    if (o.tag) {
      if (isDigest(o.tag)) ref = { domain: ref.domain, path: ref.path, digest: o.tag };
      else ref = withTag(ref, o.tag);
    }
    if (o.platform) parsePlatform(o.platform); // reject a bad one before any output
    const opts = { platform: o.platform, credentials: o.credentials, signal };
    let refs: Reference[] = [ref];
    if (ref.tag === undefined && ref.digest === undefined) {
      const tags = await this.puller.tags(ref, opts);
      if (tags.length === 0) throw invalidArgument(`${familiarString(ref)}: no tags to pull`);
      refs = tags.sort().map((t) => withTag(ref, t));
    }
    const out: Array<{ ref: string; id: string }> = [];
    for (const r of refs) {
      const resolved = await this.puller.resolve(r, opts);
      const { id } = await this.puller.pull(resolved, sink, opts);
      out.push({ ref: familiarString(r), id });
    }
    return out;
  }

  async push(
    name: string,
    o: { tag?: string; credentials?: Credentials; compression?: 'zstd' | 'gzip' },
    sink: ProgressSink,
    signal?: AbortSignal,
  ): Promise<Array<{ ref: string; digest: string }>> {
    const targets = this.pusher.targets(name, o.tag);
    const first = targets[0]!.ref;
    sink({
      kind: 'message',
      status: `The push refers to repository [${first.domain}/${first.path}]`,
    });
    const out: Array<{ ref: string; digest: string }> = [];
    for (const t of targets) {
      const { digest } = await this.pusher.push(t.ref, t.image, sink, {
        credentials: o.credentials,
        compression: o.compression,
        signal,
      });
      out.push({ ref: familiarString(t.ref), digest });
    }
    return out;
  }

  /** Check credentials against `serverAddress` (empty: Docker Hub). */
  async login(
    serverAddress: string,
    credentials: Credentials,
  ): Promise<{ Status: string; IdentityToken?: string }> {
    await this.registry.login(loginDomain(serverAddress), credentials);
    return { Status: 'Login Succeeded' };
  }
}
