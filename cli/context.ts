import { spawn } from 'node:child_process';
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
  /** Opens the URL in a browser where there is one (a desktop session); false where there is none. */
  openBrowser(url: string): boolean;
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

/** The desktop's opener (macOS open, Windows start, xdg-open under X11 or Wayland); none on a server. */
function openerOf(env: NodeJS.ProcessEnv): string[] | undefined {
  if (process.platform === 'darwin') return ['open'];
  if (process.platform === 'win32') return ['cmd', '/c', 'start', '""'];
  return env.DISPLAY || env.WAYLAND_DISPLAY ? ['xdg-open'] : undefined;
}

function openBrowser(url: string): boolean {
  const opener = openerOf(process.env);
  if (!opener) return false;
  const child = spawn(opener[0]!, [...opener.slice(1), url], { detached: true, stdio: 'ignore' });
  child.on('error', () => {}); // no opener installed: the URL is printed anyway
  child.unref();
  return true;
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
    openBrowser,
  };
}

/** The client for the saved login. */
export const savedApi = (ctx: Context): Api => ctx.connect(ctx.settings.load());
