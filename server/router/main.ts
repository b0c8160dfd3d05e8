/**
 * The router runs as its own process so apps keep serving while the build server
 * restarts or crashes. It only reads the store (WAL allows that next to the writer).
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { readConfig } from '../config.ts';
import { Store } from '../store/index.ts';
import { createRouter } from './router.ts';

const config = readConfig();
const logger = pino({ level: config.logLevel, base: { component: 'router' } });
const store = new Store(path.join(config.dataDir, 'widemesh.db'), { readonly: true });
// Access lines go to a file the server tails for the `router` log source (rotated at 10 MB).
const accessLog = path.join(config.dataDir, 'router-access.jsonl');
const ACCESS_LOG_MAX = 10 * 1024 * 1024;
let accessBytes = fs.existsSync(accessLog) ? fs.statSync(accessLog).size : 0;
const server = createRouter(store, {
  domain: config.domain,
  onAccess: (entry) => {
    const line = `${JSON.stringify(entry)}\n`;
    if (accessBytes + line.length > ACCESS_LOG_MAX) {
      fs.renameSync(accessLog, `${accessLog}.1`);
      accessBytes = 0;
    }
    fs.appendFileSync(accessLog, line);
    accessBytes += line.length;
  },
});
server.listen(config.routerPort, config.host, () => {
  logger.info({ port: config.routerPort, domain: config.domain }, 'router listening');
  process.send?.({ listening: config.routerPort });
});
const stop = () =>
  server.close(() => {
    store.close();
    process.exit(0);
  });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
