export {
  type Aggregator,
  aggregateFile,
  createAggregator,
  keepServerMetric,
  SAMPLES_FILE,
  SERVER_SAMPLES_FILE,
  type ServerSampleLine,
} from "./aggregate.ts";
export { type ChartData, chartData, type FaultWindow, faultWindows } from "./charts.ts";
export {
  type CompareRow,
  type CompareSettings,
  type Comparison,
  compareRuns,
  parseThresholds,
  REGRESSION_METRICS,
  type RegressionThreshold,
} from "./compare.ts";
export { type PhaseWindow, phaseWindows } from "./phases.ts";
export {
  ledgerFileOf,
  type Reconciliation,
  reconcile,
  reconcileRun,
  terminalSideOf,
} from "./reconcile.ts";
export { CHART_KIT, escapeHtml, scriptSafe, uplotAssets } from "./render/html.ts";
export { REPORT_FILES, type RenderedRun, ReportError, renderRun } from "./report.ts";
export { type Scraper, startServerScraper } from "./scrape.ts";
export {
  type RunSeries,
  readSeries,
  SERIES_FILE,
  type SeriesJson,
  seriesFromJSON,
  seriesToJSON,
  type UnsettledPurchase,
  writeSeries,
} from "./series.ts";
export {
  type Bound,
  evaluate,
  type Slo,
  type SloResult,
  type SloScope,
  type SloStatus,
  type Verdict,
  validateSlos,
} from "./slo.ts";
