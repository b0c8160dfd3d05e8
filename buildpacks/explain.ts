import { parseProcfile } from './procfile.ts';
import { type BuildPlan, type Buildpack, BuildpackError, type DetectContext, type SourceTree } from './types.ts';

export interface DetectionStep {
  buildpack: string;
  title: string;
  /** matched: it plans the build; refused: it recognised the app but cannot build it; skipped: not its kind. */
  outcome: 'matched' | 'refused' | 'skipped' | 'not tried';
  why: string;
}

export interface Explanation {
  plan?: BuildPlan;
  error?: { code: string; message: string };
  steps: DetectionStep[];
}

const failure = (err: unknown) => {
  if (!(err instanceof BuildpackError)) throw err;
  return { code: err.code, message: err.message };
};

/** Tries the buildpacks in order, saying what each made of the source: the first that recognises it decides. */
export function explainDetection(src: SourceTree, ctx: DetectContext, buildpacks: readonly Buildpack[]): Explanation {
  const steps: DetectionStep[] = [];
  let decided: Omit<Explanation, 'steps'> | undefined;
  let procfile: ReturnType<typeof parseProcfile> = { processes: {}, skipped: [] };
  try {
    const text = src.readText('Procfile');
    if (text !== undefined) procfile = parseProcfile(text);
  } catch (err) {
    decided = { error: failure(err) };
  }
  for (const bp of buildpacks) {
    const step = { buildpack: bp.name, title: bp.title };
    if (decided) {
      steps.push({ ...step, outcome: 'not tried', why: 'an earlier step decided' });
      continue;
    }
    try {
      const plan = bp.detect(src, ctx, procfile.processes);
      steps.push({ ...step, outcome: plan ? 'matched' : 'skipped', why: plan?.summary.join('; ') ?? bp.describe });
      if (plan) decided = { plan: { ...plan, summary: [...procfile.skipped, ...plan.summary] } };
    } catch (err) {
      decided = { error: failure(err) };
      steps.push({ ...step, outcome: 'refused', why: decided.error!.message });
    }
  }
  const nothing = {
    code: 'NO_BUILDPACK_DETECTED',
    message: `could not tell how to build this app. Widemesh looks for:\n${buildpacks.map((b) => `  - ${b.describe}`).join('\n')}`,
  };
  return { ...(decided ?? { error: nothing }), steps };
}
