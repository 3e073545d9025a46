// Schema of networking.istio.io VirtualService (istio/api networking/v1 virtual_service.proto),
// with the one semantic rule the waypoint relies on: split weights of a route add up to 100.
import { portSelector } from './common.js';
import {
  FieldProblem,
  any,
  arr,
  bool,
  duration,
  exactlyOne,
  int,
  map,
  obj,
  port,
  required,
  str,
  stringMap,
  strings,
  type ObjectCheck,
  type Schema,
} from './engine.js';

/** A route's destinations share traffic by weight; with a split, the weights are percentages. */
export const TOTAL_WEIGHT = 100;

const stringMatch = obj({ exact: str(), prefix: str(), regex: str() }, exactlyOne(['exact', 'prefix', 'regex']));

const destination = obj({
  host: required(str()),
  subset: str(),
  port: portSelector,
});

const httpMatchRequest = obj({
  name: str(),
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: map(stringMatch),
  port: port(),
  sourceLabels: stringMap(),
  gateways: strings(),
  queryParams: map(stringMatch),
  ignoreUriCase: bool(),
  withoutHeaders: map(stringMatch),
  sourceNamespace: str(),
  statPrefix: str(),
});

const httpRouteDestination = obj({
  destination: required(destination),
  weight: int(0, TOTAL_WEIGHT),
  headers: any(),
});

const routeDestination = obj({
  destination: required(destination),
  weight: int(0, TOTAL_WEIGHT),
});

/**
 * With more than one destination the weights must add up to 100 (an unset weight counts as 0);
 * a single destination takes all traffic whatever its weight says.
 */
const weightsAddUp: ObjectCheck = (route, path) => {
  const destinations = (route['route'] as Array<{ weight?: number }> | undefined) ?? [];
  if (destinations.length < 2) return undefined;
  const sum = destinations.reduce((total, d) => total + (d.weight ?? 0), 0);
  if (sum === TOTAL_WEIGHT) return undefined;
  return new FieldProblem(
    `${path}.route`,
    `weights of the ${destinations.length} destinations add up to ${sum}, must be ${TOTAL_WEIGHT}`,
  );
};

const httpRewrite = obj({ uri: str(), authority: str(), uriRegexRewrite: any() });

const httpRoute = obj(
  {
    name: str(),
    match: arr(httpMatchRequest),
    route: arr(httpRouteDestination),
    redirect: any(),
    directResponse: any(),
    delegate: any(),
    rewrite: httpRewrite,
    timeout: duration(),
    retries: any(),
    fault: any(),
    mirror: any(),
    mirrors: any(),
    mirrorPercent: any(),
    mirrorPercentage: any(),
    corsPolicy: any(),
    headers: any(),
  },
  weightsAddUp,
);

const l4MatchAttributes = obj({
  destinationSubnets: strings(),
  port: port(),
  sourceSubnet: str(),
  sourceLabels: stringMap(),
  gateways: strings(),
  sourceNamespace: str(),
});

const tcpRoute = obj({ match: arr(l4MatchAttributes), route: arr(routeDestination) }, weightsAddUp);

const tlsMatchAttributes = obj({
  sniHosts: required(strings()),
  destinationSubnets: strings(),
  port: port(),
  sourceLabels: stringMap(),
  gateways: strings(),
  sourceNamespace: str(),
});

const tlsRoute = obj({ match: required(arr(tlsMatchAttributes)), route: arr(routeDestination) }, weightsAddUp);

export const VIRTUAL_SERVICE_SCHEMA: Schema = obj({
  hosts: strings(),
  gateways: strings(),
  http: arr(httpRoute),
  tls: arr(tlsRoute),
  tcp: arr(tcpRoute),
  exportTo: strings(),
});
