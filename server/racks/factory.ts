import type Docker from 'dockerode';
import type { RackConfig } from '../config.ts';
import { AppRunnerRack } from './app-runner.ts';
import { CloudRunRack } from './cloud-run.ts';
import { EcsExpressRack } from './ecs-express.ts';
import { LocalRack, type LocalRackOptions } from './local.ts';
import type { Rack } from './rack.ts';
import { SwarmRack, type SwarmRackOptions } from './swarm.ts';

const CLOUD_DEPLOY_TIMEOUT_MS = 15 * 60 * 1000;

/** Builds the rack a configuration describes; RackSet calls it once per distinct configuration. */
export function rackFactory(docker: Docker, local: LocalRackOptions, swarm: SwarmRackOptions) {
  return (rack: RackConfig): Rack => {
    if (rack.kind === 'local') return new LocalRack(rack.name, docker, local);
    if (rack.kind === 'swarm') return new SwarmRack(rack.name, rack.provider, docker, swarm);
    const timeoutMs = (rack.provider.deployTimeoutSeconds ?? 0) * 1000 || CLOUD_DEPLOY_TIMEOUT_MS;
    if (rack.kind === 'cloud-run') {
      return new CloudRunRack({ ...rack.provider, name: rack.name, location: rack.location, timeoutMs }, docker);
    }
    const { accessKeyId, secretAccessKey, serviceUrlScheme } = rack.provider;
    const aws = {
      ...rack.provider,
      name: rack.name,
      region: rack.region,
      timeoutMs,
      credentials: { accessKeyId, secretAccessKey },
      serviceUrlScheme: serviceUrlScheme ?? 'https',
    } as const;
    if (rack.kind === 'app-runner') return new AppRunnerRack(aws, docker);
    const { infrastructureRoleArn, executionRoleArn, ecsCluster, ecsEndpoint } = rack.provider;
    return new EcsExpressRack(
      {
        ...aws,
        infrastructureRoleArn: infrastructureRoleArn!,
        executionRoleArn: executionRoleArn!,
        cluster: ecsCluster,
        endpoint: ecsEndpoint,
      },
      docker,
    );
  };
}
