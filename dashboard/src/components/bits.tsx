import type { ComponentChildren } from 'preact';
import { fullTime, timeAgo } from '../format.ts';

/** A status word in a coloured badge: the word carries the meaning, the colour only repeats it. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** "5 minutes ago", with the exact time for machines and on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={fullTime(iso)}>
      {timeAgo(iso)}
    </time>
  );
}

/** Tables scroll sideways in their own box, so a phone never scrolls the whole page. */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to scroll it
    <section class="table-scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

/** A column heading; `{ hidden }` for a column of buttons whose heading only screen readers need. */
export type Column = string | { hidden: string };

/** A table with its column headings, in its own sideways-scrolling box. */
export function DataTable({
  label,
  columns,
  children,
}: {
  label: string;
  columns: Column[];
  children: ComponentChildren;
}) {
  return (
    <TableScroll label={label}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={typeof column === 'string' ? column : column.hidden}>
                {typeof column === 'string' ? column : <Hidden>{column.hidden}</Hidden>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </TableScroll>
  );
}

/** Text only screen readers read, e.g. which service a "Scale" button scales. */
export function Hidden({ children }: { children: ComponentChildren }) {
  return <span class="visually-hidden">{children}</span>;
}

export function ExternalLink({ href }: { href: string }) {
  return (
    <a href={href} class="url" rel="noreferrer">
      {href}
    </a>
  );
}
