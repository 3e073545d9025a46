// The control plane's HTTP resource API: what the HTTP server composition imports.
export { createResourceApiHandler, type DeleteResult, type ResourceApiOptions, type ResourceList } from './resource-api.js';
export { MAX_BODY_BYTES } from './request-body.js';
export { parseLabelSelector, matchesLabels, type LabelRequirement } from './label-selector.js';
