// The control plane's resource store: what other modules import.
export { ResourceStore, type ResourceStoreOptions } from './resource-store.js';
export { type MeshStore, type PutResult, type StoreChange, type StoreChangeEvent } from './mesh-store.js';
export { WatchHistory, type WatchEvent, type WatchEventType, type WatchListener } from './watch-history.js';
export { ensureAdminToken } from './admin-token.js';
export { durableFiles, type DurableFiles } from './durable-files.js';
export { resourceFile } from './layout.js';
