// The Prometheus text parser for tests: the console's own (src/console/prometheus-text.ts), one parser for both.
export { labelsOf, parsePrometheusText, select, total, type Sample } from '../../src/console/prometheus-text.js';
