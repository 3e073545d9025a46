// The control plane's resource store: what other modules import.
export { ResourceStore, type PutResult, type ResourceStoreOptions, type StoreChange, type StoreChangeEvent } from './resource-store.js';
export { ensureAdminToken } from './admin-token.js';
export { durableFiles, type DurableFiles } from './durable-files.js';
export { resourceFile } from './layout.js';
