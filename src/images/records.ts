import type { Descriptor, Digest, ImageConfig } from '../oci/index.js';

/** Per-image metadata, `<root>/images/<hex>.json`. The config itself is a content blob. */
export interface ImageRecord {
  schemaVersion: 1;
  /** sha256 of the config JSON bytes. */
  id: Digest;
  /** The OCI manifest Wharf keeps for the image (for push/save), a content blob. */
  manifest?: Descriptor;
  /** The manifest's layer blobs (as stored in the content store, maybe compressed). */
  layers?: Descriptor[];
  /** Chain ID of the top layer; undefined for an image without layers. */
  chainID?: Digest;
  /** Sum of the layers' content sizes. */
  size: number;
  /** When a reference last pointed here; Docker's Metadata.LastTagTime. */
  lastTagTime?: string;
  config: ImageConfig;
}

/** `<root>/repositories.json`: normalised reference string → image ID. */
export interface RefsFile {
  schemaVersion: 1;
  refs: Record<string, Digest>;
}
