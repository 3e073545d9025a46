// Kubernetes equality-based label selectors (`app=reviews,version!=v1,tier,!canary`) for list filtering.
import { ResourceApiError } from './http-errors.js';

export interface LabelRequirement {
  key: string;
  op: 'eq' | 'neq' | 'exists' | 'notexists';
  value: string;
}

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function bad(selector: string, term: string, why: string): ResourceApiError {
  return new ResourceApiError(
    400,
    'L4MESH_ERR_BAD_REQUEST',
    `labelSelector "${selector}": "${term}" ${why}; write key=value, key!=value, key or !key, separated by commas`,
  );
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    let req: LabelRequirement;
    const neq = term.indexOf('!=');
    const eq = term.indexOf('=');
    if (neq >= 0) req = { key: term.slice(0, neq).trim(), op: 'neq', value: term.slice(neq + 2).trim() };
    else if (eq >= 0) req = { key: term.slice(0, eq).trim(), op: 'eq', value: term.slice(term.startsWith('==', eq) ? eq + 2 : eq + 1).trim() };
    else if (term.startsWith('!')) req = { key: term.slice(1).trim(), op: 'notexists', value: '' };
    else req = { key: term, op: 'exists', value: '' };
    if (!KEY.test(req.key)) throw bad(selector, term, 'has no valid label key');
    if (!VALUE.test(req.value)) throw bad(selector, term, 'has an invalid label value');
    out.push(req);
  }
  return out;
}

export function matchesLabels(requirements: LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}
