import semver from 'semver';
import { readJsonObject } from './json-file.ts';
import { aptInstall, PHP_STACK, PHP_STACK_PACKAGES, PHP_VERSION } from './stack-recipes.ts';
import { type Buildpack, BuildpackError, type PhpPlan, type SourceTree } from './types.ts';

/** Extensions compiled into Debian's php or shipped in php8.2-common: always present. */
const BUILT_IN = new Set(
  (
    'core date filter hash json libxml openssl pcntl pcre random reflection session spl standard zlib sodium ' +
    'calendar ctype exif ffi fileinfo ftp gettext iconv pdo phar posix shmop sockets sysvmsg sysvsem sysvshm tokenizer'
  ).split(' '),
);

/** Extensions whose Debian package has another name. */
const PACKAGE_OF: Record<string, string> = {
  mysqli: 'mysql',
  mysqlnd: 'mysql',
  pdo_mysql: 'mysql',
  pdo_pgsql: 'pgsql',
  pdo_sqlite: 'sqlite3',
  'zend-opcache': 'opcache',
  dom: 'xml',
  simplexml: 'xml',
  xmlreader: 'xml',
  xmlwriter: 'xml',
  xsl: 'xml',
  pdo_odbc: 'odbc',
  pdo_dblib: 'sybase',
  pdo_firebird: 'interbase',
};

/** Debian bookworm's php8.2-* extension packages (apt-cache pkgnames php8.2-). */
const DEBIAN_EXTENSIONS = new Set(
  (
    'amqp apcu ast bcmath bz2 curl dba ds enchant gd gearman gmagick gmp gnupg http igbinary imagick imap interbase ' +
    'intl ldap libvirt-php mailparse maxminddb mbstring mcrypt memcache memcached mongodb msgpack mysql oauth odbc ' +
    'opcache pcov pgsql pinba ps pspell psr raphf readline redis rrd snmp soap solr sqlite3 ssh2 stomp sybase tideways ' +
    'tidy uopz uploadprogress uuid xdebug xml xmlrpc xsl yac yaml zip zmq'
  ).split(' '),
);

interface ComposerJson {
  require?: Record<string, string>;
  /** A list, or (older composer.json) an object of named repositories. */
  repositories?: unknown;
  extra?: { heroku?: { 'document-root'?: string; 'index-document'?: string } };
}

const readComposerJson = (src: SourceTree): ComposerJson =>
  src.has('composer.json') ? readJsonObject<ComposerJson>(src, 'composer.json', 'COMPOSER_JSON_INVALID') : {};

/** ext-* requirements → the Debian packages to add to the stack; an extension Debian lacks fails by name. */
export function extensionPackages(require: Record<string, string>): string[] {
  const packages = new Set<string>();
  for (const name of Object.keys(require)) {
    if (!name.startsWith('ext-')) continue;
    const ext = name.slice(4).toLowerCase();
    if (BUILT_IN.has(ext)) continue;
    const suffix = PACKAGE_OF[ext] ?? ext;
    if (!DEBIAN_EXTENSIONS.has(suffix)) {
      throw new BuildpackError(
        'PHP_EXTENSION_UNKNOWN',
        `composer.json requires the PHP extension "${ext}" (${name}), which Debian does not package for PHP ${PHP_VERSION}; ` +
          'remove it or build with a Dockerfile',
      );
    }
    const pkg = `php${PHP_VERSION}-${suffix}`;
    if (!PHP_STACK_PACKAGES.includes(pkg)) packages.add(pkg);
  }
  return [...packages].sort();
}

/** Composer's constraint syntax is close to semver's: `|` for or, `,` for and, `.*` for any. */
function checkPhpVersion(constraint: string | undefined): void {
  if (!constraint) return;
  const range = semver.validRange(constraint.replace(/\|+/g, ' || ').replace(/,/g, ' ').replace(/\.\*/g, '.x'));
  if (range === null || semver.intersects(range, `~${PHP_VERSION}.0`)) return;
  throw new BuildpackError(
    'PHP_VERSION_UNAVAILABLE',
    `composer.json requires php "${constraint}"; this server has PHP ${PHP_VERSION} (Debian bookworm's): change "php" in require`,
  );
}

/** A composer path URL's glob (`packages/*`) as a regular expression over folder paths. */
function globPattern(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/**
 * The folders of composer.json's `path` repositories inside the app (globs expanded to the folders that hold a
 * composer.json): the install needs them, so they go into the dependency layer. Paths outside the app are left
 * to Composer, which names them when it cannot find them.
 */
function pathRepositories(src: SourceTree, composer: ComposerJson): string[] {
  const raw = composer.repositories;
  const entries: unknown[] = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  const packageDirs = src
    .list()
    .filter((f) => f.endsWith('/composer.json'))
    .map((f) => f.slice(0, -'/composer.json'.length));
  const dirs = new Set<string>();
  for (const entry of entries) {
    const { type, url } = (entry ?? {}) as { type?: unknown; url?: unknown };
    if (type !== 'path' || typeof url !== 'string') continue;
    const relative = url.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (relative === '' || relative.startsWith('/') || relative.split('/').includes('..')) continue;
    const pattern = globPattern(relative);
    for (const dir of packageDirs) if (pattern.test(dir)) dirs.add(dir);
  }
  return [...dirs].sort();
}

/** Heroku's conventions: composer.json extra.heroku.document-root, else public/ or web/ when present, else the root. */
function documentRoot(src: SourceTree, composer: ComposerJson): { root: string; why: string } {
  const configured = composer.extra?.heroku?.['document-root'];
  if (typeof configured === 'string' && configured.trim()) {
    const root = configured
      .trim()
      .replace(/^\.?\/+/, '')
      .replace(/\/*$/, '');
    if (root.includes('..') || /[#"'\s]/.test(root))
      throw new BuildpackError(
        'PHP_DOCUMENT_ROOT_INVALID',
        `extra.heroku.document-root "${configured}" is not a path inside the app`,
      );
    return { root, why: 'composer.json extra.heroku.document-root' };
  }
  const dir = ['public', 'web'].find((d) => src.list().some((f) => f.startsWith(`${d}/`)));
  return dir ? { root: dir, why: `${dir}/ is present` } : { root: '', why: 'the app root' };
}

/** heroku-php-nginx on the document root; extra.heroku.index-document names the front controller instead of index.php. */
function defaultWeb(root: string, index: string | undefined): string {
  const serve = `heroku-php-nginx ${root ? `${root}/` : '.'}`;
  if (index === undefined || index === 'index.php') return serve;
  if (!/^[A-Za-z0-9_.-]+\.php$/.test(index))
    throw new BuildpackError('PHP_INDEX_INVALID', `extra.heroku.index-document "${index}" is not a .php file name`);
  return `WIDEMESH_PHP_INDEX=${index} ${serve}`;
}

export const phpBuildpack: Buildpack = {
  name: 'php',
  title: 'PHP',
  describe: 'PHP: a composer.json or an index.php at the root',
  detect(src, _ctx, processes) {
    if (!src.has('composer.json') && !src.has('index.php')) return null;
    const composer = readComposerJson(src);
    const require = composer.require ?? {};
    checkPhpVersion(require.php);
    const extensions = extensionPackages(require);
    const usesComposer = Object.keys(require).length > 0;
    const docroot = documentRoot(src, composer);
    const web = processes.web ?? defaultWeb(docroot.root, composer.extra?.heroku?.['index-document']);
    const lock = src.has('composer.lock');
    const localPackages = usesComposer ? pathRepositories(src, composer) : [];
    return {
      buildpack: 'php',
      summary: [
        `PHP ${PHP_VERSION} with php-fpm behind nginx`,
        usesComposer
          ? `composer install (${lock ? 'composer.lock' : 'no composer.lock: commit one for repeatable builds'})`
          : 'no Composer dependencies',
        ...(localPackages.length
          ? [`path repositories installed with the dependencies: ${localPackages.join(', ')}`]
          : []),
        ...(extensions.length ? [`extensions from Debian: ${extensions.join(', ')}`] : []),
        processes.web ? `web: ${web} (Procfile)` : `web: ${web} (document root: ${docroot.why})`,
      ],
      baseImages: [PHP_STACK],
      processes: { ...processes, web },
      stackImage: PHP_STACK,
      extensionPackages: extensions,
      manifestFiles: usesComposer ? ['composer.json', 'composer.lock'].filter((f) => src.has(f)) : [],
      pathRepositories: localPackages,
    };
  },
};

const COMPOSER_INSTALL = 'composer install --no-dev --optimize-autoloader --no-interaction';

/** Dependencies before code (the manifest COPY first, see pythonDockerfile): the first install (no scripts, no autoloader) is cached while composer.* are unchanged. */
export function phpDockerfile(plan: PhpPlan): string[] {
  const composer = plan.manifestFiles.length > 0;
  return [
    `FROM ${plan.stackImage}`,
    ...(plan.extensionPackages.length ? ['# ext-* in composer.json', aptInstall(plan.extensionPackages)] : []),
    ...(composer
      ? [
          '# dependencies first: a change to the code alone reuses this layer',
          `COPY ${JSON.stringify([...plan.manifestFiles, '/app/'])}`,
          ...plan.pathRepositories.map((dir) => `COPY ${JSON.stringify([dir, `/app/${dir}/`])}`),
          'WORKDIR /app',
          `RUN ${COMPOSER_INSTALL} --no-scripts --no-autoloader`,
        ]
      : ['WORKDIR /app']),
    'COPY . .',
    ...(composer ? [`RUN ${COMPOSER_INSTALL}`] : []),
    "# Heroku's Procfiles name vendor/bin/heroku-php-*",
    'RUN mkdir -p vendor/bin && ln -sf /usr/local/bin/heroku-php-nginx /usr/local/bin/heroku-php-apache2 vendor/bin/',
  ];
}
