import { buildpacks } from './index.ts';
import { parseProcfile } from './procfile.ts';
import { type BuildPlan, BuildpackError, type DetectContext, type SourceTree } from './types.ts';

export interface DetectionStep {
  buildpack: string;
  title: string;
  /** matched: this one plans the build; refused: it recognised the app but cannot build it; skipped: not its kind. */
  outcome: 'matched' | 'refused' | 'skipped' | 'not tried';
  why: string;
}

export interface Explanation {
  plan?: BuildPlan;
  error?: { code: string; message: string };
  steps: DetectionStep[];
}

/** Detection buildpack by buildpack, with what each one made of the source: `detect` with its reasons. */
export function explainDetection(src: SourceTree, ctx: DetectContext): Explanation {
  const steps: DetectionStep[] = [];
  let decided: Omit<Explanation, 'steps'> | undefined;
  let processes: Record<string, string> = {};
  try {
    const procfile = src.readText('Procfile');
    if (procfile !== undefined) processes = parseProcfile(procfile).processes;
  } catch (err) {
    if (!(err instanceof BuildpackError)) throw err;
    decided = { error: { code: err.code, message: err.message } };
  }
  for (const bp of buildpacks) {
    const step = { buildpack: bp.name, title: bp.title };
    if (decided) {
      steps.push({ ...step, outcome: 'not tried', why: 'an earlier step decided' });
      continue;
    }
    try {
      const plan = bp.detect(src, ctx, processes);
      steps.push({
        ...step,
        outcome: plan ? 'matched' : 'skipped',
        why: plan ? plan.summary.join('; ') : `looks for ${bp.describe}`,
      });
      if (plan) decided = { plan };
    } catch (err) {
      if (!(err instanceof BuildpackError)) throw err;
      steps.push({ ...step, outcome: 'refused', why: err.message });
      decided = { error: { code: err.code, message: err.message } };
    }
  }
  return {
    ...(decided ?? { error: { code: 'NO_BUILDPACK_DETECTED', message: 'no buildpack recognised this source' } }),
    steps,
  };
}
