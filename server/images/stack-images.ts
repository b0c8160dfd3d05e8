import crypto from 'node:crypto';
import type Docker from 'dockerode';
import { STACK_RECIPES, type StackRecipe } from '../../buildpacks/index.ts';

/** Label on images built from a recipe: a changed recipe rebuilds its image. */
export const RECIPE_LABEL = 'widemesh.recipe';

export const recipeDigest = (recipe: StackRecipe): string =>
  crypto
    .createHash('sha256')
    .update(JSON.stringify([recipe.dockerfile, recipe.files]))
    .digest('hex')
    .slice(0, 16);

type StackState = 'present' | 'absent' | 'outdated';

export async function stackState(docker: Docker, recipe: StackRecipe): Promise<StackState> {
  try {
    const info = await docker.getImage(recipe.image).inspect();
    return info.Config?.Labels?.[RECIPE_LABEL] === recipeDigest(recipe) ? 'present' : 'outdated';
  } catch {
    return 'absent';
  }
}

interface StackView {
  image: string;
  title: string;
  /** recipe: built here on first use; build-stacks: built by scripts/build-stacks. */
  origin: 'recipe' | 'build-stacks';
  state: StackState;
  sizeBytes?: number;
}

/** Every stack image: the recipes (present, absent, or built from an older recipe) and those scripts/build-stacks made. */
export async function listStacks(
  docker: Docker,
  recipes: readonly StackRecipe[] = STACK_RECIPES,
): Promise<StackView[]> {
  const images = await docker.listImages({ filters: { label: ['widemesh.stack'] } });
  const sizeOf = (tag: string) => images.find((i) => i.RepoTags?.includes(tag))?.Size;
  const fromRecipes = await Promise.all(
    recipes.map(async (r): Promise<StackView> => {
      const state = await stackState(docker, r);
      return { image: r.image, title: r.title, origin: 'recipe', state, sizeBytes: sizeOf(r.image) };
    }),
  );
  const others = images
    .flatMap((i) => (i.RepoTags ?? []).map((tag) => ({ tag, image: i })))
    .filter(({ tag }) => tag.startsWith('widemesh/stack-') && !recipes.some((r) => r.image === tag))
    .map(
      ({ tag, image }): StackView => ({
        image: tag,
        title: image.Labels?.['widemesh.node.version']
          ? `Node.js ${image.Labels['widemesh.node.version']}`
          : 'Debian bookworm',
        origin: 'build-stacks',
        state: 'present',
        sizeBytes: image.Size,
      }),
    );
  return [...others.sort((a, b) => a.image.localeCompare(b.image)), ...fromRecipes];
}
