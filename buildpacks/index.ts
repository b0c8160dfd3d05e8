/**
 * Buildpacks: pure functions from a source tree to a build plan (data) and from a plan to
 * a Dockerfile. No I/O here: the server reads the source and runs Docker.
 */
import { dockerfileBuildpack } from './dockerfile.ts';
import { explainDetection } from './explain.ts';
import { goBuildpack } from './go.ts';
import { nodeBuildpack } from './node/index.ts';
import { phpBuildpack } from './php.ts';
import { procfileBuildpack } from './procfile.ts';
import { pythonBuildpack } from './python.ts';
import { staticBuildpack } from './static.ts';
import { type BuildPlan, type Buildpack, BuildpackError, type DetectContext, type SourceTree } from './types.ts';

export { baseImagesOf } from './dockerfile.ts';
export { buildFilesFor, GENERATED_DOCKERFILE } from './dockerfile-gen.ts';
export { type DetectionStep, type Explanation, explainDetection } from './explain.ts';
export { INSTALL_SECRETS_PATH } from './node/dockerfile.ts';
export { parseProcfile } from './procfile.ts';
export { STACK_RECIPES, type StackRecipe, stackRecipe } from './stack-recipes.ts';
export { STATIC_SERVER } from './static-server.ts';
export * from './types.ts';

/** Tried in order; the first that recognises the source plans the build (languages in Heroku's order). */
export const buildpacks: readonly Buildpack[] = [
  dockerfileBuildpack,
  nodeBuildpack,
  pythonBuildpack,
  phpBuildpack,
  goBuildpack,
  staticBuildpack,
  procfileBuildpack,
];

export function detect(src: SourceTree, ctx: DetectContext): BuildPlan {
  const { plan, error } = explainDetection(src, ctx, buildpacks);
  if (plan) return plan;
  throw new BuildpackError(error!.code, error!.message);
}
