// Enrollment in netns mode follows Istio's labels: namespace or pod `istio.io/dataplane-mode=ambient` in,
// pod `none` out (over a labelled namespace), sidecar pods never captured.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enrollment } from '../../../src/dataplane/capture/netns/enrollment.js';

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
const NONE = { 'istio.io/dataplane-mode': 'none' };

describe('netns enrollment', () => {
  it('enrolls by namespace label or pod label', () => {
    assert.deepEqual(enrollment({ podLabels: { app: 'x' }, namespaceLabels: AMBIENT, hasSidecar: false }), { enrolled: true, by: 'namespace label' });
    assert.deepEqual(enrollment({ podLabels: AMBIENT, namespaceLabels: {}, hasSidecar: false }), { enrolled: true, by: 'pod label' });
    assert.deepEqual(enrollment({ podLabels: AMBIENT, namespaceLabels: AMBIENT, hasSidecar: false }), { enrolled: true, by: 'pod label' });
  });

  it('leaves out a pod labelled none, a sidecar pod, and an unlabelled pod in an unlabelled namespace', () => {
    assert.deepEqual(enrollment({ podLabels: NONE, namespaceLabels: AMBIENT, hasSidecar: false }), { enrolled: false, why: 'pod opted out' });
    assert.deepEqual(enrollment({ podLabels: {}, namespaceLabels: AMBIENT, hasSidecar: true }), { enrolled: false, why: 'has a sidecar' });
    assert.deepEqual(enrollment({ podLabels: {}, namespaceLabels: {}, hasSidecar: false }), { enrolled: false, why: 'not labelled' });
    assert.deepEqual(enrollment({ podLabels: { 'istio.io/dataplane-mode': 'Ambient' }, namespaceLabels: {}, hasSidecar: false }), { enrolled: false, why: 'not labelled' });
  });
});
