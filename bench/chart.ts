/** An SVG chart of p99 latency (log scale) against offered deliveries per second, one line per server. */

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number; readonly passed: boolean }[];
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 64, right: 24, top: 40, bottom: 56 };
const Y_MIN = 0.1;
const Y_MAX = 2000;

export function latencyChart(title: string, series: readonly ChartSeries[], thresholdMs: number): string {
  const xMax = niceCeiling(Math.max(1, ...series.flatMap((line) => line.points.map((point) => point.x))));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value: number): number => MARGIN.left + (value / xMax) * plotWidth;
  const y = (value: number): number => {
    const clamped = Math.min(Y_MAX, Math.max(Y_MIN, value));
    return MARGIN.top + plotHeight * (1 - Math.log10(clamped / Y_MIN) / Math.log10(Y_MAX / Y_MIN));
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (const tick of [0.1, 1, 10, 100, 1000]) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick} ms</text>`,
    );
  }
  for (let index = 0; index <= 5; index++) {
    const value = (xMax / 5) * index;
    parts.push(
      `<line x1="${x(value)}" x2="${x(value)}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#eee"/>`,
      `<text x="${x(value)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${shortNumber(value)}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(thresholdMs)}" y2="${y(thresholdMs)}" stroke="#c00" stroke-dasharray="4 4"/>`,
    `<text x="${WIDTH - MARGIN.right}" y="${y(thresholdMs) - 4}" text-anchor="end" fill="#c00">p99 limit ${thresholdMs} ms</text>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 14}" text-anchor="middle">offered deliveries per second</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">p99 latency</text>`,
  );
  series.forEach((line, index) => {
    const path = line.points.map((point, at) => `${at === 0 ? 'M' : 'L'}${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${line.color}" stroke-width="2"/>`);
    for (const point of line.points) {
      parts.push(
        `<circle cx="${x(point.x).toFixed(1)}" cy="${y(point.y).toFixed(1)}" r="3" fill="${point.passed ? line.color : 'white'}" stroke="${line.color}"/>`,
      );
    }
    const legendY = MARGIN.top + 14 + index * 16;
    parts.push(
      `<line x1="${MARGIN.left + 10}" x2="${MARGIN.left + 30}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.color}" stroke-width="2"/>`,
      `<text x="${MARGIN.left + 36}" y="${legendY}">${escape(line.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function shortNumber(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(Math.round(value));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
