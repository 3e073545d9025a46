// Message types shared by several Istio kinds (istio/api type/v1beta1): selectors and policy targets.
import { any, arr, obj, port, required, stringMap, type Field, type Schema } from './engine.js';

/** istio.type.v1beta1.WorkloadSelector */
export const workloadSelector: Schema = obj({ matchLabels: stringMap() });

/** istio.type.v1beta1.PortSelector */
export const portSelector: Schema = obj({ number: required(port()) });

/**
 * `selector` plus `targetRef`/`targetRefs` (Gateway API attachment), which l4mesh accepts but does
 * not interpret: policies here attach by selector or namespace.
 */
export const policyAttachment: Record<string, Field | Schema> = {
  selector: workloadSelector,
  targetRef: any(),
  targetRefs: arr(any()),
};
