import { describe, expect, it } from 'vitest';
import { readDelivery } from '../../../../server/webhooks/payloads.ts';

const SHA = 'c'.repeat(40);
const github = (action: string, body: object = {}) =>
  readDelivery(
    'github',
    { 'x-github-delivery': 'd1', 'x-github-event': 'pull_request' },
    Buffer.from(JSON.stringify({ action, number: 12, pull_request: { head: { ref: 'feat/x', sha: SHA } }, ...body })),
  ).what;
const bitbucket = (event: string, hash = 'abcdef123456') =>
  readDelivery(
    'bitbucket',
    { 'x-request-uuid': '{u1}', 'x-event-key': event },
    Buffer.from(
      JSON.stringify({
        pullrequest: { id: 4, source: { branch: { name: 'feat/y' }, commit: { hash } }, state: 'OPEN' },
      }),
    ),
  ).what;

describe('pull-request webhook events', () => {
  it('reads GitHub pull_request opened, synchronize and reopened as open, closed as close', () => {
    const open = { kind: 'pull-request', action: 'open', number: 12, branch: 'feat/x', commit: SHA };
    for (const action of ['opened', 'synchronize', 'reopened'])
      expect(github(action)).toEqual({ ...open, fetchRef: 'refs/pull/12/head' });
    expect(github('closed')).toMatchObject({ action: 'close', number: 12 });
    expect(github('labeled')).toEqual({ kind: 'ignored', reason: 'pull request action "labeled" is not handled' });
    expect(() => github('opened', { number: 'twelve' })).toThrow(/pull_request payload without number/);
  });

  it('reads Bitbucket pullrequest events, whose commit hash is short', () => {
    for (const event of ['pullrequest:created', 'pullrequest:updated'])
      expect(bitbucket(event)).toEqual({
        kind: 'pull-request',
        action: 'open',
        number: 4,
        branch: 'feat/y',
        commit: 'abcdef123456',
        fetchRef: 'refs/heads/feat/y',
      });
    for (const event of ['pullrequest:fulfilled', 'pullrequest:rejected'])
      expect(bitbucket(event)).toMatchObject({ action: 'close', number: 4 });
    expect(() => bitbucket('pullrequest:created', 'not-a-hash')).toThrow(/source.commit.hash/);
    expect(bitbucket('pullrequest:comment_created')).toMatchObject({ kind: 'ignored' });
  });
});
