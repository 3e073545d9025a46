// The in-pod redirection rules of an enrolled pod, modelled on istio-cni's in-pod set (REDIRECT variant):
// outbound TCP → OUTBOUND_CAPTURE_PORT, inbound TCP except HBONE → INBOUND_PORT, DNS udp/tcp 53 → DNS_CAPTURE_PORT, and the node
// proxy's own sockets (mark 0x539/0xfff) never captured. Applied with iptables-restore inside the pod's
// namespace only; the host's tables are never touched.
import { inNetnsCmd } from './commands.js';
import { DNS_CAPTURE_PORT, HBONE_PORT, INBOUND_PORT, OUTBOUND_CAPTURE_PORT } from '../../../config/mesh-constants.js';
import { PROXY_SOCKET_MARK, PROXY_SOCKET_MARK_MASK } from './plan.js';

/** Our chains carry the l4m prefix like everything netns mode makes (istio-cni's are ISTIO_PRERT/ISTIO_OUTPUT). */
export const INPOD_PREROUTING_CHAIN = 'L4M_PRERT';
export const INPOD_OUTPUT_CHAIN = 'L4M_OUTPUT';
/** The connmark a proxy-marked packet leaves on its connection, so replies are recognised (istio-cni's 0x111). */
export const INPOD_CONN_MARK = 0x111;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The iptables-restore input for an enrolled pod: the whole mangle and nat tables of its namespace. */
export function inpodRules(): string {
  const mark = `${hex(PROXY_SOCKET_MARK)}/${hex(PROXY_SOCKET_MARK_MASK)}`;
  const connMark = `${hex(INPOD_CONN_MARK)}/${hex(PROXY_SOCKET_MARK_MASK)}`;
  const pre = INPOD_PREROUTING_CHAIN;
  const out = INPOD_OUTPUT_CHAIN;
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    `:${out} - [0:0]`, `:${pre} - [0:0]`,
    `-A PREROUTING -j ${pre}`,
    `-A OUTPUT -j ${out}`,
    // Replies on a connection the proxy opened carry the proxy's mark back into OUTPUT.
    `-A ${out} -m connmark --mark ${connMark} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff`,
    `-A ${pre} -m mark --mark ${mark} -j CONNMARK --set-xmark ${connMark}`,
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    `:${out} - [0:0]`, `:${pre} - [0:0]`,
    `-A PREROUTING -j ${pre}`,
    `-A OUTPUT -j ${out}`,
    // DNS first: the pod's resolver may use any nameserver address; the proxy answers on DNS_CAPTURE_PORT.
    `-A ${out} ! -o lo -p udp -m mark ! --mark ${mark} -m udp --dport 53 -j REDIRECT --to-ports ${DNS_CAPTURE_PORT}`,
    `-A ${out} ! -d 127.0.0.1/32 -p tcp -m tcp --dport 53 -m mark ! --mark ${mark} -j REDIRECT --to-ports ${DNS_CAPTURE_PORT}`,
    `-A ${out} -p tcp -m mark --mark ${connMark} -j ACCEPT`,
    // A pod talking to itself over loopback (but not to 127.0.0.1) stays out of the mesh, as in istio-cni.
    `-A ${out} ! -d 127.0.0.1/32 -o lo -j ACCEPT`,
    `-A ${out} ! -d 127.0.0.1/32 -p tcp -m mark ! --mark ${mark} -j REDIRECT --to-ports ${OUTBOUND_CAPTURE_PORT}`,
    // HBONE arrives on HBONE_PORT where the proxy listens on the pod IP; every other inbound TCP goes to INBOUND_PORT.
    `-A ${pre} ! -d 127.0.0.1/32 -p tcp -m tcp ! --dport ${HBONE_PORT} -m mark ! --mark ${mark} -j REDIRECT --to-ports ${INBOUND_PORT}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Empty mangle and nat tables: what an unenrolled pod's namespace has. */
export function emptyRules(): string {
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    'COMMIT',
    '',
  ].join('\n');
}

/** Enrolls a pod: replaces its namespace's mangle and nat tables with the in-pod set (idempotent, all at once). */
export async function applyInpodRules(netns: string): Promise<void> {
  await inNetnsCmd(netns, 'iptables-restore', ['--wait', '10'], inpodRules());
}

/** Takes a pod out of the mesh: its namespace's mangle and nat tables become empty again. */
export async function removeInpodRules(netns: string): Promise<void> {
  await inNetnsCmd(netns, 'iptables-restore', ['--wait', '10'], emptyRules());
}
