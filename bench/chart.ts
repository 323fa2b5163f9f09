/** Hand-written SVG: throughput bars and p50/p99 latency bars, one row per target. */

export interface ChartRow {
  name: string;
  group: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
}

const colors: Record<string, string> = {
  tessera: '#2563eb',
  ceiling: '#9ca3af',
  'oidc-provider': '#f59e0b',
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1, 2 or 5 times a power of ten, so the axis has about `ticks` steps. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function formatNumber(n: number): string {
  if (n >= 1000) return `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function renderChart(rows: ChartRow[], subtitle: string): string {
  const labelWidth = 170;
  const panelWidth = 330;
  const gap = 70;
  const rowHeight = 30;
  const top = 78;
  const width = labelWidth + panelWidth * 2 + gap + 40;
  const height = top + rows.length * rowHeight + 64;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600" fill="#111827">Token endpoint: throughput and latency</text>`,
    `<text x="16" y="42" fill="#6b7280">${escapeXml(subtitle)}</text>`,
  );

  const panel = (x0: number, title: string, max: number, bars: (row: ChartRow) => Array<{ value: number; color: string; opacity: number }>, unit: string) => {
    const step = niceStep(max, 4);
    const axisMax = Math.ceil(max / step) * step || 1;
    const scale = (v: number) => (v / axisMax) * panelWidth;
    out.push(`<text x="${x0}" y="${top - 14}" font-weight="600" fill="#111827">${escapeXml(title)}</text>`);
    for (let v = 0; v <= axisMax + 1e-9; v += step) {
      const x = x0 + scale(v);
      out.push(
        `<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${top + rows.length * rowHeight}" stroke="#e5e7eb"/>`,
        `<text x="${x.toFixed(1)}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#6b7280">${formatNumber(v)}</text>`,
      );
    }
    out.push(
      `<text x="${x0 + panelWidth / 2}" y="${top + rows.length * rowHeight + 34}" text-anchor="middle" fill="#6b7280">${escapeXml(unit)}</text>`,
    );
    rows.forEach((row, i) => {
      const parts = bars(row);
      const barHeight = (rowHeight - 10) / parts.length;
      parts.forEach((part, j) => {
        const y = top + i * rowHeight + 4 + j * barHeight;
        const w = Math.max(0, scale(part.value));
        out.push(
          `<rect x="${x0}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(barHeight - 1).toFixed(1)}" fill="${part.color}" fill-opacity="${part.opacity}"><title>${escapeXml(`${row.name}: ${part.value.toFixed(2)} ${unit}`)}</title></rect>`,
          `<text x="${(x0 + w + 4).toFixed(1)}" y="${(y + barHeight / 2 + 3.5).toFixed(1)}" font-size="${parts.length > 1 ? 9 : 11}" fill="#374151">${formatNumber(part.value)}</text>`,
        );
      });
    });
  };

  rows.forEach((row, i) => {
    const y = top + i * rowHeight + rowHeight / 2 + 2;
    out.push(`<text x="${labelWidth - 10}" y="${y}" text-anchor="end" fill="#111827">${escapeXml(row.name)}</text>`);
  });

  const color = (row: ChartRow) => colors[row.group] ?? '#6b7280';
  panel(labelWidth, 'Throughput (higher is better)', Math.max(1, ...rows.map((r) => r.requestsPerSecond)), (row) => [{ value: row.requestsPerSecond, color: color(row), opacity: 1 }], 'requests / s');
  panel(
    labelWidth + panelWidth + gap,
    'Latency p50 / p99 (lower is better)',
    Math.max(1, ...rows.map((r) => r.p99)),
    (row) => [
      { value: row.p50, color: color(row), opacity: 0.55 },
      { value: row.p99, color: color(row), opacity: 1 },
    ],
    'ms (upper bar p50, lower bar p99)',
  );

  const legendY = height - 12;
  let lx = 16;
  for (const [group, fill] of Object.entries(colors)) {
    if (!rows.some((r) => r.group === group)) continue;
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${fill}"/>`, `<text x="${lx + 18}" y="${legendY}" fill="#374151">${escapeXml(group)}</text>`);
    lx += 30 + group.length * 7;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
