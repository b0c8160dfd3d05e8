import { useState } from 'preact/hooks';
import type { DomainDeleted, DomainView } from '../../../contract/api.ts';
import { appPath, request } from '../api.ts';
import { DataTable, Hidden, StatusBadge, Time } from '../components/bits.tsx';
import { ActionFeedback, WhenLoaded } from '../components/feedback.tsx';
import { TextField } from '../components/text-field.tsx';
import { type Action, useAction, useApi } from '../hooks.ts';

/** Custom domains of an environment with their certificate state; add and remove. */
export function DomainsTab({ app, environment }: { app: string; environment: string }) {
  const domains = useApi<DomainView[]>(appPath(app, '/domains', environment));
  const action = useAction(domains.reload);
  const remove = (name: string) =>
    action.run(`Removing ${name}…`, async () => {
      const path = appPath(app, `/domains/${encodeURIComponent(name)}`, environment);
      const answer = await request<DomainDeleted>('DELETE', path);
      return `${answer.deleted} removed`;
    });
  return (
    <div>
      <h2>{`Domains of ${environment}`}</h2>
      <WhenLoaded read={domains} what="domains">
        {(data) => <DomainTable domains={data} action={action} onRemove={remove} />}
      </WhenLoaded>
      <AddDomainForm app={app} environment={environment} action={action} />
      <ActionFeedback action={action} />
    </div>
  );
}

interface DomainTableProps {
  domains: DomainView[];
  action: Action;
  onRemove: (name: string) => void;
}

function DomainTable({ domains, action, onRemove }: DomainTableProps) {
  if (domains.length === 0) return <p class="muted">No custom domains.</p>;
  return (
    <DataTable caption="Domains" columns={['Domain', 'Certificate', 'Added', { hidden: 'Actions' }]}>
      {domains.map((domain) => (
        <tr key={domain.name}>
          <th scope="row">{domain.name}</th>
          <td>
            <CertificateState certificate={domain.certificate} />
          </td>
          <td>
            <Time iso={domain.createdAt} />
          </td>
          <td>
            <button type="button" class="danger" disabled={action.pending} onClick={() => onRemove(domain.name)}>
              Remove<Hidden>{` ${domain.name}`}</Hidden>
            </button>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function CertificateState({ certificate }: { certificate: DomainView['certificate'] }) {
  const source = certificate.source === 'acme' ? "Let's Encrypt (ACME)" : 'uploaded';
  return (
    <span>
      <StatusBadge status={certificate.state} />
      {certificate.source && <span class="muted">{` ${source}`}</span>}
      {certificate.notAfter && (
        <span class="muted">{` until ${new Date(certificate.notAfter).toLocaleDateString()}`}</span>
      )}
    </span>
  );
}

function AddDomainForm({ app, environment, action }: { app: string; environment: string; action: Action }) {
  const [name, setName] = useState('');
  const add = async (event: Event) => {
    event.preventDefault();
    const domain = name.trim();
    const added = await action.run(`Adding ${domain}…`, async () => {
      const answer = await request<DomainView>('POST', appPath(app, '/domains', environment), { name: domain });
      return `${answer.name} added: point its DNS at this server`;
    });
    if (added) setName('');
  };
  return (
    <form class="inline-form" onSubmit={add}>
      <TextField
        id="domain-name"
        label="Domain"
        required
        grow
        placeholder="www.example.com"
        value={name}
        onChange={setName}
      />
      <button type="submit" disabled={action.pending}>
        Add domain
      </button>
    </form>
  );
}
