import { useId } from 'preact/hooks';
import type { Restarted, Scaled } from '../../../contract/api.ts';
import { appPath, request } from '../api.ts';
import type { Action } from '../hooks.ts';
import { Hidden } from './bits.tsx';

interface ServiceControlsProps {
  app: string;
  environment: string;
  service: string;
  /** Instances per rack, as the formation says. */
  perRack: number;
  action: Action;
}

/** A service's name, its scale form (instances per rack) and a restart button. */
export function ServiceControls({ app, environment, service, perRack, action }: ServiceControlsProps) {
  const inputId = useId();
  const where = ` ${service} in ${environment}`;
  const scale = (event: Event) => {
    event.preventDefault();
    const quantity = Number(new FormData(event.currentTarget as HTMLFormElement).get('quantity'));
    void action.run(`Scaling${where} to ${quantity} per rack…`, async () => {
      const scaled = await request<Scaled>('POST', appPath(app, '/ps/scale', environment), { [service]: quantity });
      return `${service} runs ${scaled.formation[service] ?? quantity} per rack in ${environment}`;
    });
  };
  const restart = () =>
    action.run(`Restarting${where}…`, async () => {
      const restarted = await request<Restarted>('POST', appPath(app, '/ps/restart', environment), { service });
      return `Restarted ${restarted.restarted} ${service} ${restarted.restarted === 1 ? 'instance' : 'instances'}`;
    });
  return (
    <form class="service-controls" onSubmit={scale}>
      <h4>{service}</h4>
      <div class="service-actions">
        <QuantityField id={inputId} service={service} environment={environment} perRack={perRack} />
        <button type="submit" disabled={action.pending}>
          Scale<Hidden>{where}</Hidden>
        </button>
        <button type="button" class="secondary" disabled={action.pending || perRack === 0} onClick={restart}>
          Restart<Hidden>{where}</Hidden>
        </button>
      </div>
    </form>
  );
}

function QuantityField({
  id,
  service,
  environment,
  perRack,
}: Omit<ServiceControlsProps, 'app' | 'action'> & { id: string }) {
  return (
    <>
      <label for={id}>
        <Hidden>{`${service} instances `}</Hidden>per rack<Hidden>{` in ${environment}`}</Hidden>
      </label>
      {/* keyed by the server's value: a new formation resets the field, typing does not fight the poll */}
      <input
        id={id}
        key={perRack}
        name="quantity"
        type="number"
        min={0}
        max={20}
        defaultValue={String(perRack)}
        required
      />
    </>
  );
}
