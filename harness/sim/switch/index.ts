// harness/sim/switch: the reference switch (README.md), the system under test a lab runs by default.
export {
  type FleetRange,
  loadSwitchConfig,
  normalizeSwitchInput,
  type SwitchConfig,
  type SwitchConfigInput,
  switchSpec,
} from "./config.ts";
export { type RunningSwitch, type SwitchOptions, startSwitch } from "./switch.ts";
