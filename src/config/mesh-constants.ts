// The mesh's fixed numbers and names, each defined here once: the ports of every role, DNS names and
// suffixes, the default cluster id and trust domain, and the address blocks of local and netns mode.
// A port literal anywhere else in src/ fails test/unit/config/port-literals.test.ts.

// Ports (docs/design.md, "Processes and ports"). Istio's numbers throughout, so its guides, dashboards
// and scrape configs carry over.

/** Proxy admin (/config_dump, /logging, /quitquitquit), bound on loopback: Envoy's and ztunnel's admin port. */
export const PROXY_ADMIN_PORT = 15000;
/** Transparent outbound capture: netns mode redirects a pod's outbound TCP here, as istio-cni does. */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** Inbound: plaintext CONNECT on a node proxy, mTLS + istio-peer-exchange on a sidecar (Istio's inbound port). */
export const INBOUND_PORT = 15006;
/** HBONE (HTTP/2 CONNECT over mTLS) on node proxies and waypoints: the port every ztunnel peer dials. */
export const HBONE_PORT = 15008;
/** Control plane xDS + CA (gRPC over TLS): istiod's port, so a proxy finds it with no flag. */
export const CONTROL_PLANE_GRPC_PORT = 15012;
/** Control plane HTTP (resource API, /ready, /metrics, /debug/*): istiod's monitoring port. */
export const CONTROL_PLANE_HTTP_PORT = 15014;
/** Proxy metrics (/metrics, /stats/prometheus): Istio's merged-metrics port, what scrape configs expect. */
export const PROXY_METRICS_PORT = 15020;
/** Proxy readiness (/healthz/ready): Istio's health-check port. */
export const PROXY_READINESS_PORT = 15021;
/** DNS capture in netns mode (udp/tcp dport 53 is redirected here): ztunnel's DNS proxy port. */
export const DNS_CAPTURE_PORT = 15053;
/** Where a pod's resolver sends queries (resolv.conf has no port): DNS's well-known port. */
export const CLUSTER_DNS_PORT = 53;
/** etcd's client port (`l4mesh up --ha` members): etcd's own default, so etcdctl finds them with no flag. */
export const ETCD_CLIENT_PORT = 2379;
/** etcd's peer port (member to member): etcd's own default. */
export const ETCD_PEER_PORT = 2380;

// Names.

/** Kubernetes' default cluster DNS suffix: service hostnames are `<name>.<namespace>.svc.<suffix>`. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** SPIFFE trust domain of identities unless configured: Istio's default, which equals the cluster domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
/** One variable sets the trust domain of the control plane and of the waypoints' own identities alike. */
export const ENV_TRUST_DOMAIN = 'L4MESH_TRUST_DOMAIN';
/** Istio's default cluster id; it shows up in the *_cluster metric labels and workload uids. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
/** The control plane's TLS name: istiod's in-cluster service name, which proxies send as SNI and verify. */
export const CONTROL_PLANE_SERVER_NAME = 'istiod.istio-system.svc';
/**
 * Suffix of the SNI a client sends for a destination identity too long for a DNS name
 * (`<hash>.id.l4mesh`): `.l4mesh` is no public top-level domain, so it cannot name a real host.
 */
export const HASHED_IDENTITY_NAME_SUFFIX = 'id.l4mesh';

// Address blocks of local mode (all of 127.0.0.0/8 routes to `lo` on Linux: no setup, no root).

/** Loopback by default: a laptop mesh must not be reachable from the network unless asked. */
export const DEFAULT_CONTROL_PLANE_ADDRESS = '127.0.0.1';
/** Node-k's proxy binds `<prefix>.k` (127.0.10.k), so many node proxies share one host. */
export const LOCAL_NODE_ADDRESS_PREFIX = '127.0.10';
/** Pod IPs of local mode: a /16 of its own, clear of the node, VIP and capture blocks. */
export const LOCAL_POD_RANGE = '127.1.0.0/16';
/** Service VIPs: a loopback block, so local workloads reach them without routes; clear of pods and nodes. */
export const DEFAULT_VIP_RANGE = '127.2.0.0/16';
/**
 * Outbound listener addresses (one per workload and service): 127.64.0.0/10 holds 16,384 blocks of 256,
 * far from the pod, VIP and node blocks. Node-k's share is 127.(64+k).0.0/16.
 */
export const LOCAL_CAPTURE_RANGE = '127.64.0.0/10';

// Address blocks of netns mode (docs/design.md, "Modes"): benchmarking space (RFC 2544), never routed on the Internet
// and rarely used on a LAN, so the mesh's namespaces cannot shadow a real network.

/** Everything netns mode addresses: the fabric bridge, the nodes and their pods. */
export const NETNS_RANGE = '198.18.0.0/15';
/** Service VIPs in netns mode: the upper half of NETNS_RANGE, apart from every pod and node. */
export const NETNS_VIP_RANGE = '198.19.0.0/16';
