/**
 * Stack images built on this server from Debian packages, on first use: pure recipes
 * (image name → Dockerfile and the files it copies). The server builds a missing one
 * before the app build that needs it (server/images/image-builder.ts).
 */
import { PHP_SERVE } from './php-serve.ts';

export interface StackRecipe {
  image: string;
  /** What it holds, for `GET /api/stacks` and the build log. */
  title: string;
  dockerfile: string;
  /** Build context files next to the Dockerfile. */
  files: Record<string, string>;
}

export const BASE_IMAGE = 'widemesh/stack-base:bookworm';
export const PHP_STACK = 'widemesh/stack-php:8.2';
export const PYTHON_STACK = 'widemesh/stack-python:3.11';
export const GO_STACK = 'widemesh/stack-go:1.19';
export const GENERIC_STACK = 'widemesh/stack-generic:bookworm';

/** The versions Debian bookworm packages, which these stacks carry. */
export const PHP_VERSION = '8.2';
export const PYTHON_VERSION = '3.11';
export const GO_VERSION = '1.19';

/** PHP extensions every PHP stack has (Debian's php8.2-* packages), beyond those built into php itself. */
export const PHP_STACK_PACKAGES = [
  'bcmath',
  'curl',
  'gd',
  'intl',
  'mbstring',
  'mysql',
  'opcache',
  'pgsql',
  'readline',
  'sqlite3',
  'xml',
  'zip',
].map((ext) => `php${PHP_VERSION}-${ext}`);

export const aptInstall = (packages: string[]) =>
  `RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')} >/dev/null \\\n` +
  ' && rm -rf /var/lib/apt/lists/*';

const recipe = (image: string, title: string, lines: string[], files: Record<string, string> = {}): StackRecipe => ({
  image,
  title,
  dockerfile: `${lines.join('\n')}\n`,
  files,
});

export const STACK_RECIPES: readonly StackRecipe[] = [
  recipe(
    PHP_STACK,
    `PHP ${PHP_VERSION} (php-fpm behind nginx) with Composer, from Debian`,
    [
      `FROM ${BASE_IMAGE}`,
      aptInstall([
        `php${PHP_VERSION}-fpm`,
        `php${PHP_VERSION}-cli`,
        ...PHP_STACK_PACKAGES,
        'composer',
        'unzip',
        'nginx',
      ]),
      'COPY php-serve /usr/local/bin/heroku-php-nginx',
      'RUN ln -s heroku-php-nginx /usr/local/bin/heroku-php-apache2 && php --version && composer --version',
      'ENV COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1 PATH=/app/vendor/bin:$PATH',
      'LABEL widemesh.stack=php',
    ],
    { 'php-serve': PHP_SERVE },
  ),
  recipe(PYTHON_STACK, `Python ${PYTHON_VERSION} with pip, venv and pipenv, from Debian`, [
    `FROM ${BASE_IMAGE}`,
    aptInstall(['python3', 'python3-pip', 'python3-venv', 'python3-setuptools', 'python3-wheel', 'pipenv']),
    "# apps install into this venv; system site packages: Debian's setuptools and wheel build projects without PyPI",
    'RUN python3 -m venv --system-site-packages /opt/venv && python3 --version',
    'ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1',
    'LABEL widemesh.stack=python',
  ]),
  recipe(GO_STACK, `Go ${GO_VERSION} toolchain (golang from Debian), for the build stage`, [
    `FROM ${BASE_IMAGE}`,
    aptInstall(['golang-go']),
    'ENV CGO_ENABLED=0 GOFLAGS=-trimpath',
    '# the standard library compiled once here, with the flags app builds use: their build cache starts warm',
    'RUN go build std && go version',
    'LABEL widemesh.stack=go',
  ]),
  recipe(GENERIC_STACK, 'Node.js 22 with the common interpreters and tools of a Heroku stack (python3, perl, curl)', [
    'FROM widemesh/stack-node:22',
    aptInstall(['python3', 'python-is-python3', 'perl', 'curl', 'netcat-openbsd', 'procps']),
    'LABEL widemesh.stack=generic',
  ]),
];

export function stackRecipe(image: string): StackRecipe | undefined {
  return STACK_RECIPES.find((r) => r.image === image);
}
