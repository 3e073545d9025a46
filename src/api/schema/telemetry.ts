// Schema of telemetry.istio.io Telemetry (istio/api telemetry/v1alpha1 telemetry.proto). Metrics
// are checked field by field because proxies act on them (reportingInterval, disabled TCP metrics).
import { policyAttachment } from './common.js';
import { any, arr, bool, duration, enumOf, map, obj, required, str, type KindSchema } from './engine.js';

const workloadMode = () => enumOf('CLIENT_AND_SERVER', 'CLIENT', 'SERVER');

const providerRef = obj({ name: required(str()) });

const metricSelector = obj({
  metric: enumOf(
    'ALL_METRICS',
    'REQUEST_COUNT',
    'REQUEST_DURATION',
    'REQUEST_SIZE',
    'RESPONSE_SIZE',
    'TCP_OPENED_CONNECTIONS',
    'TCP_CLOSED_CONNECTIONS',
    'TCP_SENT_BYTES',
    'TCP_RECEIVED_BYTES',
    'GRPC_REQUEST_MESSAGES',
    'GRPC_RESPONSE_MESSAGES',
  ),
  customMetric: str(),
  mode: workloadMode(),
});

const tagOverride = obj({ operation: enumOf('UPSERT', 'REMOVE'), value: str() });

const metricsOverrides = obj({
  match: metricSelector,
  disabled: bool(),
  tagOverrides: map(tagOverride),
});

const metrics = obj({
  providers: arr(providerRef),
  overrides: arr(metricsOverrides),
  reportingInterval: duration(),
});

const telemetrySpec = obj({
  ...policyAttachment,
  tracing: any(),
  accessLogging: any(),
  metrics: arr(metrics),
});

export const TELEMETRY_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  Telemetry: { spec: telemetrySpec },
};
