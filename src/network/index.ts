export {
  DEFAULT_BRIDGE_NAME,
  DEFAULT_CHAIN_PREFIX,
  NetworkManager,
  type BridgeInfo,
  type ConnectOptions,
  type Endpoint,
  type NetworkManagerOptions,
} from './manager.js';
export {
  checkContainerNetworkMode,
  joinedNetns,
  parseNetworkMode,
  type NetworkMode,
} from './mode.js';
export { DEFAULT_ADDRESS_POOLS, type AddressPool } from './pools.js';
export { PREDEFINED_NETWORKS } from './create-plan.js';
export {
  attachContainer,
  connectPlanned,
  detachContainer,
  planAttachments,
  type AttachRequest,
  type Attached,
  type PlannedAttachment,
} from './attach.js';
export { endpointSettings } from './views.js';
export {
  connectContainer,
  disconnectContainer,
  onDefaultBridge,
  type ContainerNetworks,
} from './connect.js';
