/**
 * Endpoints: production answers at `APP.DOMAIN` and `APP-production.DOMAIN`, every other
 * environment at `APP-ENV.DOMAIN`. One rule, used to print URLs and to route host names.
 */
interface EndpointName {
  app: string;
  environment: string;
}

export function endpointHost(env: { appName: string; name: string }, domain: string): string {
  return env.name === 'production' ? `${env.appName}.${domain}` : `${env.appName}-${env.name}.${domain}`;
}

/** Host names under the platform domain; production also answers at APP.DOMAIN. */
export function platformNames(env: { appName: string; name: string }, domain: string): string[] {
  const primary = endpointHost(env, domain);
  return env.name === 'production' ? [primary, `${env.appName}-production.${domain}`] : [primary];
}

/**
 * Every reading of a host name as (app, environment), most specific last: app names may hold
 * dashes, so `my-app-staging` is `my-app-staging`/production, `my-app`/staging or `my`/app-staging.
 */
export function endpointCandidates(hostHeader: string | undefined, domain: string): EndpointName[] {
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${domain}`;
  if (!host.endsWith(suffix)) return [];
  const label = host.slice(0, -suffix.length);
  if (!/^[a-z0-9-]+$/.test(label)) return [];
  const candidates: EndpointName[] = [{ app: label, environment: 'production' }];
  for (let i = label.lastIndexOf('-'); i > 0; i = label.lastIndexOf('-', i - 1)) {
    candidates.push({ app: label.slice(0, i), environment: label.slice(i + 1) });
  }
  return candidates;
}
