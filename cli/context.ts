/** What every command gets: where to write, the saved login, the API, the git repository. */
import { Api, configFile, httpTransport, type Settings, type SettingsStore, settingsStore } from './client.ts';
import { type Git, gitIn } from './git.ts';
import { type Io, processIo } from './output.ts';
import { processRunIo, type RunOneOff, runOverWebsocket } from './run-session.ts';

export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  settings: SettingsStore;
  git: Git;
  /** A client for these settings (login checks them before saving). */
  connect(settings: Settings): Api;
  /** The shell command git runs as the credential helper (this CLI's `git-credential`). */
  credentialHelper: string;
  /** `run`: a one-off process with this terminal's stdin and output. */
  runOneOff: RunOneOff;
  /** A signal that fires on Ctrl-C or SIGTERM instead of killing the process, until released. */
  interruption(): Interruption;
}

export interface Interruption {
  signal: AbortSignal;
  release(): void;
}

function processInterruption(): Interruption {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export function processContext(credentialHelper: string): Context {
  return {
    io: processIo,
    env: process.env,
    settings: settingsStore(configFile(process.env)),
    git: gitIn(process.cwd()),
    connect: (settings) => new Api(httpTransport(settings)),
    credentialHelper,
    interruption: processInterruption,
    runOneOff: runOverWebsocket(processRunIo),
  };
}

/** The client for the saved login. */
export const savedApi = (ctx: Context): Api => ctx.connect(ctx.settings.load());
