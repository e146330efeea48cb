export { applyChanges } from './changes.js';
export type { DeleteResponseItem, ImageUser, RemoveOptions } from './image-delete.js';
export { ImageStore, type ImportOptions } from './image-store.js';
export type { Lease } from './lease.js';
export { pruneImages, type PruneResult } from './image-prune.js';
export { imagesDiskUsage, type ImagesDiskUsage } from './disk-usage.js';
export { commitImage, type CommitOptions } from './commit.js';
export type { ImageRecord } from './records.js';
export {
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  familiarName,
  familiarString,
  fullName,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  repoTagReference,
  tagNameOnly,
  withTag,
  type Reference,
} from './reference.js';
export { ImagePuller, type PullOptions, type ResolvedPull } from './pull.js';
export { ImagePusher, type PushOptions } from './push.js';
export type { ProgressEvent, ProgressSink } from './progress.js';
export { ImageDistribution, type DistributionOptions } from './distribution.js';
export { saveImages } from './save.js';
export { ImageLoader, type LoadEvent, type LoadedImage } from './load.js';
