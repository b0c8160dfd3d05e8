/**
 * The router runs as its own process so apps keep serving while the build server
 * restarts or crashes. It only reads the store (WAL allows that next to the writer).
 */
import path from 'node:path';
import pino from 'pino';
import { readConfig } from '../config.ts';
import { Store } from '../store/index.ts';
import { createRouter } from './router.ts';

const config = readConfig();
const logger = pino({ level: config.logLevel, base: { component: 'router' } });
const store = new Store(path.join(config.dataDir, 'widemesh.db'), { readonly: true });
const server = createRouter(store, { domain: config.domain });
server.listen(config.routerPort, config.host, () => {
  logger.info({ port: config.routerPort, domain: config.domain }, 'router listening');
  process.send?.({ listening: config.routerPort });
});
const stop = () => server.close(() => { store.close(); process.exit(0); });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
