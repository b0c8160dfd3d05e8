import { STATIC_SERVER, STATIC_SERVER_BIN, STATIC_SERVER_FILE } from '../static-server.ts';
import type { NodePlan } from '../types.ts';
import { INSTALL_NODE_PATH, INSTALL_NODE_SCRIPT } from './install-node.ts';

export const INSTALL_SECRETS_PATH = '.widemesh/install-secrets.sh';

const json = (value: unknown) => JSON.stringify(value);

/** Node and global tools over the stack: the same lines for every app asking for them, so Docker reuses them. */
function runtimeLines(plan: NodePlan): string[] {
  const node = plan.installNode;
  return [
    ...(node
      ? [
          `# engines.node asks for ${node.node}: installed from the npm registry with npm ${node.npm}`,
          `COPY ${INSTALL_NODE_PATH} /opt/widemesh/install-node.sh`,
          `RUN sh /opt/widemesh/install-node.sh ${node.node} ${node.npm}`,
          // old Node has no NODE_EXTRA_CA_CERTS: npm is given the system store (which has the build CAs) itself
          'ENV NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt',
        ]
      : []),
    ...(plan.globalInstalls.length > 0
      ? [`RUN npm install --global --silent ${plan.globalInstalls.join(' ')} && rm -rf /root/.npm`]
      : []),
    ...(plan.spaRoot
      ? [
          '# a single-page app without a start command: its build is served',
          `COPY ${STATIC_SERVER_FILE} ${STATIC_SERVER_BIN}`,
        ]
      : []),
  ];
}

/** COPY lines that keep each file at its path (a multi-source COPY would flatten folders). */
function manifestCopies(files: string[]): string[] {
  if (files.length === 0) return ['COPY . .'];
  const byFolder = new Map<string, string[]>();
  for (const file of files) {
    const folder = file.endsWith('/') ? file : file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : './';
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  return [...byFolder].map(([folder, sources]) => `COPY ${json([...sources, folder])}`);
}

function buildLines(plan: NodePlan, secretsFile?: string): string[] {
  const withSecrets = (command: string) => (secretsFile ? `. ${secretsFile} && ${command}` : command);
  return [
    'WORKDIR /app',
    '# dependencies first: a change to the code alone reuses this layer',
    ...(secretsFile ? [`COPY ${INSTALL_SECRETS_PATH} ${secretsFile}`] : []),
    ...manifestCopies(plan.manifestFiles),
    ...plan.install.map((command) => `RUN ${withSecrets(command)}`),
    // as on Heroku, the build and the app run with NODE_ENV=production (devDependencies are installed by now)
    'ENV NODE_ENV=production',
    ...(plan.manifestFiles.length > 0 ? ['COPY . .'] : []),
    ...plan.build.map((command) => `RUN ${command}`),
  ];
}

/** A framework's run-time variables, then the web process. */
const cmdLines = (plan: NodePlan) => [
  ...Object.entries(plan.env ?? {}).map(([name, value]) => `ENV ${name}=${json(value)}`),
  ...(plan.processes.web ? [`CMD ${json(['/bin/sh', '-c', plan.processes.web])}`] : []),
];

/**
 * Plan → Dockerfile lines. Without install secrets: one stage. With them: the install runs in a
 * build stage that has the secrets file, and the shipped stage copies only /app from it.
 */
export function nodeDockerfile(plan: NodePlan): string[] {
  if (plan.installSecrets.length === 0)
    return [`FROM ${plan.stackImage}`, ...runtimeLines(plan), ...buildLines(plan), ...cmdLines(plan)];
  return [
    `FROM ${plan.stackImage} AS runtime`,
    ...runtimeLines(plan),
    '',
    '# the install reads config vars from a file that exists only in this stage, which does not ship',
    'FROM runtime AS build',
    ...buildLines(plan, '/tmp/widemesh-install-secrets.sh'),
    'RUN rm -rf .widemesh',
    '',
    'FROM runtime',
    'WORKDIR /app',
    'COPY --from=build /app /app',
    'ENV NODE_ENV=production',
    ...cmdLines(plan),
  ];
}

/** The helper files a node plan's Dockerfile copies in (the secrets file is the server's to add). */
export function nodeHelperFiles(plan: NodePlan): Record<string, string> {
  return {
    ...(plan.installNode ? { [INSTALL_NODE_PATH]: INSTALL_NODE_SCRIPT } : {}),
    ...(plan.spaRoot ? { [STATIC_SERVER_FILE]: STATIC_SERVER } : {}),
  };
}
