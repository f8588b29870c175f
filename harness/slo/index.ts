export { type SloOptions, slo } from "./builders.ts";
export {
  type Bound,
  type CompareSettings,
  describeSlo,
  PERCENTILES,
  type Percentile,
  type Slo,
  type SloIndicator,
  type SloScope,
  sloId,
  TIMEOUT_KINDS,
  type TimeoutKind,
  UNIT,
  type Unit,
  validateSlos,
} from "./definitions.ts";
export {
  type AbortCondition,
  describeAbort,
  ERROR_OUTCOME_NAMES,
  type GameDay,
  rateBreach,
  validateGameDay,
} from "./game-day.ts";
