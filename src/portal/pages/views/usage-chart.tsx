import type { FC } from "hono/jsx";
import type { DayCounts } from "../../../usage/usage-service";
import { formatNumber } from "../layout";

/** The outcomes the chart stacks, bottom up, with their colours (each at least 3:1 against white). */
const CHART_OUTCOMES = [
  { key: "ok", label: "OK", color: "#1d4ed8" },
  { key: "rate_limited", label: "Rate limited", color: "#d97706" },
  { key: "quota", label: "Over quota", color: "#b91c1c" },
] as const;

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { left: 48, right: 8, top: 12, bottom: 28 };

/** The axis maximum: four gridline steps of 1, 2 or 5 times a power of ten, so every label is a round number. */
function niceMax(value: number): number {
  const rough = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step =
    [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ?? 10 * power;
  return step * 4;
}

const charted = (day: DayCounts) => day.ok + day.rate_limited + day.quota;

/**
 * Requests per day as stacked bars, drawn on the server as inline SVG: no script, no image request, and
 * presentation attributes only (the CSP allows no style attributes). Each bar has a <title> (a tooltip and
 * its accessible name); the same numbers are in a table below the chart for screen readers and copying.
 */
export const UsageChart: FC<{ id: string; title: string; days: DayCounts[] }> = ({ id, title, days }) => {
  const max = niceMax(Math.max(0, ...days.map(charted)));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(2, slot * 0.7);
  const y = (value: number) => PAD.top + plotHeight - (value / max) * plotHeight;
  const ticks = [0, 1, 2, 3, 4].map((step) => (max / 4) * step);
  const total = days.reduce((sum, day) => sum + charted(day), 0);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-labelledby={`${id}-title ${id}-desc`}
      xmlns="http://www.w3.org/2000/svg"
    >
      <title id={`${id}-title`}>{title}</title>
      <desc id={`${id}-desc`}>
        {`${formatNumber(total)} requests from ${days[0]?.day ?? ""} to ${days.at(-1)?.day ?? ""}, by day and outcome.`}
      </desc>
      {ticks.map((tick) => (
        <g>
          <line
            x1={PAD.left}
            x2={WIDTH - PAD.right}
            y1={y(tick)}
            y2={y(tick)}
            stroke="#d1d5db"
            stroke-width="1"
          />
          <text x={PAD.left - 6} y={y(tick) + 4} text-anchor="end" font-size="11" fill="#4b5563">
            {formatNumber(tick)}
          </text>
        </g>
      ))}
      {days.map((day, index) => {
        const x = PAD.left + index * slot + (slot - barWidth) / 2;
        let base = 0;
        return (
          <g data-day={day.day} data-total={String(charted(day))}>
            <title>{`${day.day}: ${CHART_OUTCOMES.map((o) => `${formatNumber(day[o.key])} ${o.label.toLowerCase()}`).join(", ")}`}</title>
            {CHART_OUTCOMES.map((outcome) => {
              const value = day[outcome.key];
              if (value === 0) return null;
              const top = y(base + value);
              const height = y(base) - top;
              base += value;
              return (
                <rect x={x} y={top} width={barWidth} height={Math.max(1, height)} fill={outcome.color} />
              );
            })}
            {/* A transparent full-height target so the tooltip shows on empty days too. */}
            <rect
              x={PAD.left + index * slot}
              y={PAD.top}
              width={slot}
              height={plotHeight}
              fill="transparent"
            />
            {index % 5 === 0 || index === days.length - 1 ? (
              <text x={x + barWidth / 2} y={HEIGHT - 8} text-anchor="middle" font-size="11" fill="#4b5563">
                {day.day.slice(5)}
              </text>
            ) : null}
          </g>
        );
      })}
      <line
        x1={PAD.left}
        x2={WIDTH - PAD.right}
        y1={PAD.top + plotHeight}
        y2={PAD.top + plotHeight}
        stroke="#6b7280"
        stroke-width="1"
      />
    </svg>
  );
};

export const ChartLegend: FC = () => (
  <ul class="legend" aria-label="Legend">
    {CHART_OUTCOMES.map((outcome) => (
      <li>
        <span class={`swatch sw-${outcome.key}`} aria-hidden="true" />
        {outcome.label}
      </li>
    ))}
  </ul>
);
