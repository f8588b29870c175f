export {
  fromBcdByte,
  type Prefix,
  prefixBytes,
  prefixMax,
  readPrefix,
  toBcdByte,
  type VariablePrefix,
  writePrefix,
} from "./prefix.ts";
