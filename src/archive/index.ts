export { applyLayer, type AppliedLayer } from './apply-layer.js';
export { detectCompression, type Compression } from './compression.js';
export { overlayDiff, type LayerDiffOptions } from './layer-diff.js';
export {
  cleanEntryPath,
  LayerSanitizer,
  OVERLAY_OPAQUE_XATTR,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from './layer-sanitizer.js';
export { tarDirectory } from './tar-directory.js';
export { readTar, type TarEntry } from './tar-reader.js';
export {
  encodeHeader,
  END_OF_ARCHIVE,
  padding,
  type EntryType,
  type TarHeader,
} from './tar-format.js';
// Stream (de)compression for pulls and pushes (gzip, zstd through the zstd program).
export { compressed, decompressed } from './compression.js';
