export { applyChanges } from './changes.js';
export type { DeleteResponseItem, ImageUser, RemoveOptions } from './image-delete.js';
export { ImageStore, type ImportOptions } from './image-store.js';
export { pruneImages, type PruneResult } from './image-prune.js';
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
