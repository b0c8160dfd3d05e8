#!/usr/bin/env node
// The `widemesh` command. The CLI is TypeScript, run through tsx like the server.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
