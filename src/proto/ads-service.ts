// The gRPC method definitions of envoy.service.discovery.v3.AggregatedDiscoveryService, built by hand
// on the protobufjs codecs so server and client share one set of (de)serializers.
import type * as grpc from '@grpc/grpc-js';
import {
  ADS_SERVICE_NAME,
  DELTA_ADS_PATH,
  decodeDeltaRequest,
  decodeDeltaResponse,
  encodeDeltaRequest,
  encodeDeltaResponse,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from './codec.js';

export const deltaAdsMethod: grpc.MethodDefinition<DeltaDiscoveryRequest, DeltaDiscoveryResponse> = {
  path: DELTA_ADS_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: (req) => encodeDeltaRequest(req),
  requestDeserialize: (bytes) => decodeDeltaRequest(bytes),
  responseSerialize: (res) => encodeDeltaResponse(res),
  responseDeserialize: (bytes) => decodeDeltaResponse(bytes),
};

/**
 * Only the Delta rpc: grpc-js answers UNIMPLEMENTED for StreamAggregatedResources, which is what a
 * state-of-the-world client should learn from a delta-only server.
 */
export const aggregatedDiscoveryService: grpc.ServiceDefinition = {
  DeltaAggregatedResources: deltaAdsMethod,
};

export { ADS_SERVICE_NAME };
