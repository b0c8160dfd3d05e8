import { useState } from 'preact/hooks';
import type { ConfigChanged, ConfigVars } from '../../../contract/api.ts';
import { appPath, request } from '../api.ts';
import { DataTable, Hidden } from '../components/bits.tsx';
import { ActionFeedback, WhenLoaded } from '../components/feedback.tsx';
import { TextField } from '../components/text-field.tsx';
import { type Action, useAction, useApi } from '../hooks.ts';

const MASK = '••••••';

interface TabProps {
  app: string;
  environment: string;
}

/** Config vars, hidden until revealed one by one; setting or unsetting one rolls out a new release. */
export function ConfigTab({ app, environment }: TabProps) {
  const config = useApi<ConfigVars>(appPath(app, '/config', environment));
  const action = useAction(config.reload);
  const change = (key: string, value: string | null) =>
    action.run(`${value === null ? 'Unsetting' : 'Setting'} ${key}… a new release is rolling out`, async () => {
      const changed = await request<ConfigChanged>('PATCH', appPath(app, '/config', environment), { [key]: value });
      if (!changed.release) return `${key} ${value === null ? 'unset' : 'set'}; it applies from the first deploy`;
      return `v${changed.release.version} is live`;
    });
  return (
    <div>
      <h2>{`Config vars of ${environment}`}</h2>
      <WhenLoaded read={config} what="config vars">
        {(data) => <ConfigTable vars={data.vars} action={action} onUnset={(key) => change(key, null)} />}
      </WhenLoaded>
      <SetVarForm action={action} onSet={change} />
      <ActionFeedback action={action} />
    </div>
  );
}

interface ConfigTableProps {
  vars: Record<string, string>;
  action: Action;
  onUnset: (key: string) => void;
}

function ConfigTable({ vars, action, onUnset }: ConfigTableProps) {
  const keys = Object.keys(vars).sort();
  if (keys.length === 0) return <p class="muted">No config vars yet.</p>;
  return (
    <DataTable caption="Config vars" columns={['Name', 'Value', { hidden: 'Actions' }]}>
      {keys.map((key) => (
        <ConfigRow key={key} name={key} value={vars[key] ?? ''} action={action} onUnset={onUnset} />
      ))}
    </DataTable>
  );
}

function ConfigRow({ name, value, action, onUnset }: { name: string; value: string } & Omit<ConfigTableProps, 'vars'>) {
  const [revealed, setRevealed] = useState(false);
  return (
    <tr>
      <th scope="row">
        <code>{name}</code>
      </th>
      <td class="value">{revealed ? <code>{value}</code> : <span class="mask">{MASK}</span>}</td>
      <td class="row-actions">
        <button type="button" class="secondary" onClick={() => setRevealed(!revealed)}>
          {revealed ? 'Hide' : 'Reveal'}
          <Hidden>{` ${name}`}</Hidden>
        </button>
        <button type="button" class="danger" disabled={action.pending} onClick={() => onUnset(name)}>
          Unset<Hidden>{` ${name}`}</Hidden>
        </button>
      </td>
    </tr>
  );
}

function SetVarForm({ action, onSet }: { action: Action; onSet: (key: string, value: string) => Promise<boolean> }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await onSet(name.trim(), value)) {
      setName('');
      setValue('');
    }
  };
  return (
    <form class="inline-form" onSubmit={submit}>
      <TextField id="config-name" label="Name" required value={name} onChange={setName} />
      <TextField id="config-value" label="Value" grow value={value} onChange={setValue} />
      <button type="submit" disabled={action.pending}>
        Set config var
      </button>
    </form>
  );
}
