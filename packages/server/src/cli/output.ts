/** Renders rows as an aligned plain-text table. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : Array.isArray(value)
        ? value.join(',') || '-'
        : String(value) || '-';
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join('\n');
}

/**
 * A reader that goes away (`tessera clients list --json | head -c 0`) ends the command quietly,
 * as `ls | head` does, instead of with an EPIPE stack trace: whatever was to be printed had
 * nobody left to read it. Other write errors still surface.
 */
export function endQuietlyOnClosedPipe(
  streams: NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(0);
    });
  }
}
