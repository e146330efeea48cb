export {
  MOUNT_DATA_MAX,
  overlayMountArgs,
  overlayMountOptions,
  type OverlayOptions,
} from './mount-options.js';
export { OverlaySnapshotter } from './overlay.js';
export type { ApplyLayerOptions, LayerInfo, Snapshotter, Usage } from './snapshotter.js';
