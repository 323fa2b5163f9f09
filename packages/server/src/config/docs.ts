import {
  allCommands,
  commandsOf,
  describeDefault,
  type CommandName,
  type Option,
} from './option.js';
import { optionRows } from './options.js';

/** `[--port N] [--host H] …` for the options a command takes as flags, wrapped. */
export function flagSynopsis(command: CommandName, indent: string, width = 100): string[] {
  const words = optionRows
    .filter((row) => row.flag !== undefined && commandsOf(row).includes(command))
    .map((row) => `[${flagUsage(row)}]${row.multiple ? '...' : ''}`);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `--port N`, or the bare flag of a switch. */
const flagUsage = (row: Option<unknown>): string =>
  row.switch ? row.flag! : `${row.flag} ${row.metavar ?? 'VALUE'}`;

const plain = (markdown: string): string => markdown.replace(/`/g, '');

/** One line per option for `tessera --help`. */
export function settingsHelp(): string {
  return optionRows
    .map((row) => {
      const names = [row.flag && flagUsage(row), row.env].filter((name) => name).join(', ');
      const used = commandsOf(row);
      const commands =
        used.length === 1 && used[0] === 'serve'
          ? ''
          : ` [${used.length === allCommands.length ? 'every command' : used.join(', ')}]`;
      return `  ${names}: ${plain(row.doc)} (default ${plain(describeDefault(row))})${commands}`;
    })
    .join('\n');
}

/** The README's settings table, aligned the way Prettier aligns markdown tables. */
export function readmeSettingsTable(): string {
  const rows = optionRows.map((row: Option<unknown>) => [
    row.doc,
    row.flag === undefined ? '' : `\`${flagUsage(row)}\``,
    row.env === undefined ? '' : `\`${row.env}\``,
    describeDefault(row),
  ]);
  const header = ['setting', 'flag', 'environment', 'default'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}
