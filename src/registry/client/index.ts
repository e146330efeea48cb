export type { Credentials } from './auth.js';
export { mergeScopes, parseChallenges, repositoryScope, type Challenge } from './challenge.js';
export {
  authKey,
  DOCKER_HUB_AUTH_KEY,
  endpointsFor,
  loginDomain,
  type Endpoint,
  type RegistryHostsConfig,
  type RepositoryRef,
} from './endpoint.js';
export { formatPlatform, parsePlatform, selectManifest } from './platform.js';
export { RegistryClient, type RegistryClientOptions } from './registry-client.js';
export { MANIFEST_ACCEPT, Repository, type FetchedManifest } from './repository.js';
