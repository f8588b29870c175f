// Exports of a profile for other engines: Kubernetes manifests of its fleet on agent pods.

export { type ExportK8sOptions, type ExportK8sResult, exportK8s, packageVersion } from "./export-k8s.ts";
export {
  DEFAULT_CPU,
  DEFAULT_IMAGE_REPOSITORY,
  DEFAULT_MEMORY,
  defaultName,
  type K8sExport,
  type K8sExportOptions,
  k8sManifests,
  type ManifestFile,
  parseSegments,
} from "./k8s.ts";
