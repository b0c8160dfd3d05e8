import type Docker from 'dockerode';
import express from 'express';
import { buildFilesFor, buildpacks, type DetectContext, explainDetection } from '../../buildpacks/index.ts';
import { WidemeshError } from '../errors.ts';
import { Source, type SourceLimits } from '../images/source.ts';
import { listStacks } from '../images/stack-images.ts';

interface BuildpackRouteDeps {
  docker: Docker;
  detectContext: () => Promise<DetectContext>;
  sourceLimits: SourceLimits;
}

/**
 * `GET /stacks`: the stack images, present or not. `POST /buildpacks/detect` with a source tar
 * (`git archive --format=tar HEAD`): what a push of it would build and why, without building.
 */
export function buildpackRoutes(deps: BuildpackRouteDeps): express.Router {
  const router = express.Router();
  router.get('/stacks', async (_req, res) => {
    res.json(await listStacks(deps.docker));
  });
  router.post('/buildpacks/detect', async (req, res) => {
    const source = await Source.fromTar(req, deps.sourceLimits).catch((err: unknown) => {
      if (err instanceof WidemeshError) throw err;
      throw new WidemeshError('SOURCE_INVALID', 'send the source as a tar stream: git archive --format=tar HEAD');
    });
    const { plan, error, steps } = explainDetection(source, await deps.detectContext(), buildpacks);
    if (!plan) {
      res.status(422).json({ error, steps });
      return;
    }
    const files = buildFilesFor(plan);
    res.json({
      buildpack: plan.buildpack,
      summary: plan.summary,
      processes: plan.processes,
      stacks: plan.baseImages,
      dockerfile: files.files[files.dockerfilePath] ?? null,
      dockerfilePath: files.dockerfilePath,
      steps,
    });
  });
  return router;
}
