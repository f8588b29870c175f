import { pinnedVersions } from "../shared/repo.ts";

// Image names, from scripts/versions.env (the file scripts/images.sh builds them from).
const versions = pinnedVersions();
export const TOXIPROXY_IMAGE = process.env.POSSTORM_TOXIPROXY_IMAGE ?? versions.TOXIPROXY_IMAGE!;
export const NODE_IMAGE = process.env.POSSTORM_NODE_IMAGE ?? versions.NODE_IMAGE!;
