#!/usr/bin/env node
// The `widemesh` command. The CLI is TypeScript, run through tsx like the server.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const { processContext } = await import('./context.ts');
// git runs this to get the token (see apps:create): it never lands in .git/config
const credentialHelper = `!'${process.execPath}' '${fileURLToPath(import.meta.url)}' git-credential`;
process.exitCode = await main(process.argv.slice(2), processContext(credentialHelper));
