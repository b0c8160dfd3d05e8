import fs from 'node:fs';
import type { Command } from 'commander';
import type { DomainView } from '../../contract/api.ts';
import { type Context, savedApi } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, table } from '../output.ts';
import { type AppOptions, command, readCommand, targetOf } from './define.ts';

const certificateText = (d: DomainView) => {
  const { state, source, notAfter } = d.certificate;
  return state === 'none' ? 'no certificate' : `${state} (${source}, until ${notAfter?.slice(0, 10)})`;
};

const domainsTable = (domains: DomainView[]): string =>
  domains.length === 0
    ? 'no custom domains (widemesh domains:add www.example.com)'
    : table(domains, { domain: (d) => d.name, certificate: certificateText });

function readPem(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the ${what} file ${file}: ${(err as Error).message}`);
  }
}

export function registerDomains(program: Command, ctx: Context): void {
  program.commandsGroup('Domains, HTTPS and maintenance:');
  readCommand(
    program,
    ctx,
    { name: 'domains', scope: 'environment', description: 'list custom domains and the state of their certificates' },
    (api, opts) => api.listDomains(targetOf(ctx, opts)),
    domainsTable,
  );

  command(program, 'domains:add', 'environment')
    .description('attach a host name to the environment (point its DNS at the edge)')
    .argument('<domain>', 'e.g. www.example.com')
    .action(async (name: string, opts: AppOptions) => {
      const added = await savedApi(ctx).addDomain(targetOf(ctx, opts), name);
      say(ctx.io, `Added ${added.name}: ${certificateText(added)} (widemesh certs:add or certs:auto for HTTPS)`);
    });

  command(program, 'domains:remove', 'environment')
    .description('detach a host name (its certificate goes with it)')
    .argument('<domain>', 'the domain')
    .action(async (name: string, opts: AppOptions) => {
      await savedApi(ctx).removeDomain(targetOf(ctx, opts), name);
      say(ctx.io, `Removed ${name}`);
    });

  command(program, 'domains:clear', 'environment')
    .description('detach every custom domain of the environment')
    .action(async (opts: AppOptions) => {
      const api = savedApi(ctx);
      const target = targetOf(ctx, opts);
      const domains = await api.listDomains(target);
      for (const domain of domains) await api.removeDomain(target, domain.name);
      say(ctx.io, domains.length ? `Removed ${domains.map((d) => d.name).join(', ')}` : 'No custom domains to remove');
    });

  command(program, 'certs:add', 'environment')
    .description('serve a domain over HTTPS with your certificate and key (PEM files; the key is stored sealed)')
    .argument('<domain>', 'the domain')
    .argument('<certificate>', 'the certificate chain, PEM, leaf first')
    .argument('<key>', 'its private key, PEM')
    .action(async (name: string, cert: string, key: string, opts: AppOptions) => {
      const pem = { cert: readPem(cert, 'certificate'), key: readPem(key, 'key') };
      const done = await savedApi(ctx).setCertificate(targetOf(ctx, opts), name, pem.cert, pem.key);
      say(ctx.io, `${done.name}: ${certificateText(done)}`);
    });

  command(program, 'certs:auto', 'environment')
    .description('get a certificate for a domain from the ACME CA (HTTP-01), renewed before it expires')
    .argument('<domain>', 'the domain')
    .action(async (name: string, opts: AppOptions) => {
      const done = await savedApi(ctx).issueCertificate(targetOf(ctx, opts), name);
      say(ctx.io, `${done.name}: ${certificateText(done)}`);
    });

  readCommand(
    program,
    ctx,
    { name: 'maintenance', scope: 'environment', description: 'show whether maintenance mode is on' },
    (api, opts) => api.toggleState(targetOf(ctx, opts), 'maintenance'),
    (state, opts) => `maintenance ${state.enabled ? 'on' : 'off'} for ${opts.environment ?? 'production'}`,
  );

  for (const [name, setting, enabled, description] of [
    [
      'maintenance:on',
      'maintenance',
      true,
      'answer every request with a 503 maintenance page (instances keep running)',
    ],
    ['maintenance:off', 'maintenance', false, 'serve the app again'],
    ['https:redirect', 'https-redirect', true, 'redirect HTTP to HTTPS for the environment'],
    ['https:no-redirect', 'https-redirect', false, 'serve HTTP as well as HTTPS'],
  ] as const) {
    command(program, name, 'environment')
      .description(description)
      .action(async (opts: AppOptions) => {
        const done = await savedApi(ctx).toggle(targetOf(ctx, opts), setting, enabled);
        say(ctx.io, `${setting} ${done.enabled ? 'on' : 'off'} for ${done.environment}`);
      });
  }
}
