export { copyUp, dirSize } from './data.js';
export { matchListFilters, pruneSelector, validateListFilters } from './filters.js';
export { ANONYMOUS_LABEL, anonymousVolumeName, checkVolumeName, validVolumeName } from './names.js';
export { localMountOptions, mountArgs, validateLocalOptions } from './options.js';
export { VolumeService, type CreateVolumeOptions, type VolumeEvents } from './service.js';
export { VolumeStore, type VolumeRecord } from './store.js';
