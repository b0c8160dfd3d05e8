import { describe, expect, it } from 'vitest';
import { runUrl, shellCommand } from '../../../cli/run-session.ts';
import { fakeCli } from './fake-context.ts';

describe('run: the command as it is', () => {
  it('takes one word as a shell command, and quotes several words so the shell gets them back', () => {
    expect(shellCommand(['ls -la | wc -l'])).toBe('ls -la | wc -l');
    expect(shellCommand(['node', '-e', 'console.log(1)'])).toBe(`node -e 'console.log(1)'`);
    expect(shellCommand(['echo', "it's", '', '$HOME', 'a=b/c.d'])).toBe(`echo 'it'\\''s' '' '$HOME' a=b/c.d`);
  });

  it('stops reading options at the first argument: the command keeps its own -e', async () => {
    const cli = fakeCli({}, { gitRemote: 'http://127.0.0.1:1/shop.git' });
    expect(await cli.run('run', 'node', '-e', 'console.log(1)')).toBe(0);
    expect(cli.runs).toEqual([{ command: `node -e 'console.log(1)'` }]);
  });

  it('still reads options before the command, and -- before it', async () => {
    const cli = fakeCli();
    expect(await cli.run('run', '-a', 'shop', '-e', 'staging', '--no-tty', '--', 'bash', '-c', 'echo $X')).toBe(0);
    expect(cli.runs).toEqual([{ command: `bash -c 'echo $X'`, tty: false }]);
  });

  it('asks for the run socket of the environment', () => {
    expect(runUrl('http://127.0.0.1:7070', { app: 'shop', environment: 'staging' })).toBe(
      'ws://127.0.0.1:7070/api/apps/shop/run?environment=staging',
    );
  });
});
