import { useMemo, useState } from 'preact/hooks';
import { ConnectionStatus } from '../logs/connection-status.tsx';
import { type LogFilter, matches, NO_FILTER, type SourceChoice, valuesSeen } from '../logs/filter.ts';
import { LogView } from '../logs/log-view.tsx';
import { useLogStream } from '../logs/use-log-stream.ts';

const SOURCES: SourceChoice[] = ['all', 'build', 'app', 'router'];

function Choice(props: { label: string; value: string; options: string[]; onChange: (value: string) => void }) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Live logs of one environment: the latest build, the app's output in every rack and the router's
 * access lines, in one stream. The selects narrow what is shown without reconnecting, so the
 * lines already received stay.
 */
export function LogsTab(props: { app: string; environment: string }) {
  const stream = useLogStream(props.app, { environment: props.environment, source: 'all' });
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const seen = useMemo(() => valuesSeen(stream.entries), [stream.entries]);
  const shown = useMemo(() => stream.entries.filter((e) => matches(e, filter)), [stream.entries, filter]);
  const choose = (key: keyof LogFilter) => (value: string) => setFilter((f) => ({ ...f, [key]: value }));
  // a choice whose value is no longer among the lines stays selectable
  const withChosen = (values: string[], chosen: string) => [
    'all',
    ...new Set([...values, chosen].filter((v) => v !== 'all')),
  ];

  return (
    <section class="logs-tab">
      <div class="log-controls">
        <Choice
          label="Source"
          value={filter.source}
          options={SOURCES}
          onChange={(v) => choose('source')(v as SourceChoice)}
        />
        <Choice
          label="Service"
          value={filter.service}
          options={withChosen(seen.services, filter.service)}
          onChange={choose('service')}
        />
        <Choice
          label="Rack"
          value={filter.rack}
          options={withChosen(seen.racks, filter.rack)}
          onChange={choose('rack')}
        />
        <button type="button" onClick={stream.paused ? stream.follow : stream.pause}>
          {stream.paused ? 'Follow' : 'Pause'}
        </button>
        {stream.paused && (
          <span class="log-waiting">{`${stream.waiting} new ${stream.waiting === 1 ? 'line' : 'lines'} waiting`}</span>
        )}
        <ConnectionStatus connection={stream.connection} paused={stream.paused} />
      </div>
      <LogView
        entries={shown}
        label="Log lines"
        follow={!stream.paused}
        empty={stream.entries.length === 0 ? 'Waiting for log lines…' : 'No lines match these choices.'}
      />
    </section>
  );
}
