// The node proxy's view of the mesh: one import for the state class and its value types.
export { ProxyState, type Endpoint, type SnapshotChange, type StateChange, type WaypointTarget } from './proxy-state.js';
export { canonicalIp, cidrContains, parseCidr, parseIp, type Cidr, type IpBytes } from './addresses.js';
