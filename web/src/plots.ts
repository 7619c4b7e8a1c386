/**
 * Quick plots of query results, drawn with plain Canvas 2D.
 *
 * There is no plotting library on purpose: three simple plot kinds
 * (histogram, scatter, all-sky map) do not justify a dependency larger than
 * the rest of the web interface. The arithmetic lives in small pure helpers
 * (histogram, niceTicks, logTicks, hammerAitoff) that are unit-tested; the
 * draw* functions only turn their results into pixels.
 *
 * Every draw* function returns how many values it plotted and how many it
 * left out, stores the first in `canvas.dataset.drawn` and describes the plot
 * in the canvas's aria-label (screen readers and end-to-end tests read both).
 */

export interface PlotColumn {
  name: string;
  unit?: string | null;
  values: ArrayLike<number | null>;
}

/** Values plotted; values left out (null, NaN, non-positive on a log axis, ...). */
export interface PlotSummary {
  drawn: number;
  skipped: number;
}

// ---------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------

/** Beyond this many bins the bars would be narrower than a pixel on a normal-size canvas. */
const MAX_AUTO_BINS = 200;

/**
 * Counts finite values (null, NaN and ±Infinity are ignored) in equal-width
 * bins spanning [min, max]. Bins are half-open [a, b) except the last, which
 * also holds the maximum. `bins <= 0` picks the count with the
 * Freedman–Diaconis rule (√n when the interquartile range is zero).
 *
 * Always `edges.length === counts.length + 1`. When all values are equal the
 * result is a single bin around them (more bins would be empty and
 * misleading); with no values it is one empty bin over [0, 1].
 */
export function histogram(
  values: ArrayLike<number | null>,
  bins: number,
): { edges: number[]; counts: number[] } {
  const data = finiteValues(values);
  if (data.length === 0) return { edges: [0, 1], counts: [0] };
  const [min, max] = extent(data);
  if (min === max) {
    const half = min === 0 ? 0.5 : Math.abs(min) * 0.05;
    return { edges: [min - half, max + half], counts: [data.length] };
  }
  const n = bins > 0 ? Math.floor(bins) : autoBinCount(data, min, max);
  // Divide before subtracting so that extreme ranges cannot overflow.
  const width = max / n - min / n;
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? max : min + i * width));
  const counts = new Array<number>(n).fill(0);
  for (const v of data) counts[binIndex(v, edges, width)] += 1;
  return { edges, counts };
}

/**
 * "Nice" tick values for a linear axis: an arithmetic sequence whose step is
 * 1, 2 or 5 × 10^k, chosen so that there are about `target` intervals, and
 * which covers the range (first tick <= min, last tick >= max) so the axis
 * can run from the first tick to the last. A zero-width range is widened.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - pad, max + pad];
  }
  const { mantissa, exponent } = niceStep((max - min) / Math.max(1, target));
  // Ticks are parsed from decimal text, so they are exactly the nearest
  // doubles to round numbers (0.3, not 0.30000000000000004).
  const tick = (i: number): number => Number(`${i * mantissa}e${exponent}`);
  const step = tick(1);
  // min / step can round either way (0.3 / 0.1 = 2.9999999999999996);
  // the tick values decide, so there is no missing or spare interval.
  let first = Math.floor(min / step);
  if (tick(first) > min) first -= 1;
  else if (tick(first + 1) <= min) first += 1;
  let last = Math.ceil(max / step);
  if (tick(last) < max) last += 1;
  else if (tick(last - 1) >= max) last -= 1;
  // Guards against ranges far below the precision of their values.
  if (!Number.isFinite(step) || last - first > 1000) return [min, max];
  return Array.from({ length: last - first + 1 }, (_, i) => tick(first + i));
}

/** Powers of ten within [min, max] (empty unless 0 < min <= max). */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) return [];
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)); pow10(k) <= max; k += 1) {
    // log10 may be off by one ulp near a power of ten; compare the values.
    if (pow10(k) >= min) ticks.push(pow10(k));
  }
  return ticks;
}

/**
 * Hammer–Aitoff all-sky projection of (RA, Dec) in degrees.
 * Returns x in [-2√2, 2√2], y in [-√2, √2]; every point lies inside the
 * ellipse x²/8 + y²/2 <= 1.
 *
 * Astronomical convention (the sky seen from inside, east to the left):
 * RA = 0 is at the centre and RA increases to the LEFT. So RA slightly above
 * 0 has x < 0, RA = 90 is on the left half (x < 0), RA = 270 on the right half
 * (x > 0), and RA = 180 is on the edge: it maps to the left edge
 * (x = -2√2 at Dec 0), the limit of RA approaching 180 from below, while RA
 * just above 180 is at the right edge. Dec = +90 maps to (0, √2).
 */
export function hammerAitoff(raDeg: number, decDeg: number): [number, number] {
  const ra = wrapTo180(raDeg);
  // Longitude grows to the right, so RA increasing to the left is -RA.
  // (The explicit 0 avoids returning -0 for RA = 0.)
  const lon = ra === 0 ? 0 : -ra;
  return projectLonLat(lon, decDeg);
}

// --- helpers of the helpers

function isFiniteNumber(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function finiteValues(values: ArrayLike<number | null>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (isFiniteNumber(v)) out.push(v);
  }
  return out;
}

/** [min, max] of a non-empty array; a loop, because Math.min(...a) overflows the stack for large a. */
function extent(data: ArrayLike<number>): [number, number] {
  let min = data[0];
  let max = data[0];
  for (let i = 1; i < data.length; i += 1) {
    if (data[i] < min) min = data[i];
    if (data[i] > max) max = data[i];
  }
  return [min, max];
}

/** Freedman–Diaconis bin count: bin width 2·IQR/∛n resists outliers better than √n. */
function autoBinCount(data: number[], min: number, max: number): number {
  const sorted = Float64Array.from(data).sort();
  const quantile = (q: number): number => sorted[Math.floor(q * (sorted.length - 1))];
  const iqr = quantile(0.75) - quantile(0.25);
  const fd = iqr > 0 ? Math.ceil((max - min) / ((2 * iqr) / Math.cbrt(data.length))) : NaN;
  const bins = Number.isFinite(fd) ? fd : Math.ceil(Math.sqrt(data.length));
  return Math.min(MAX_AUTO_BINS, Math.max(1, bins));
}

function binIndex(v: number, edges: number[], width: number): number {
  const last = edges.length - 2;
  let i = Math.min(last, Math.floor((v - edges[0]) / width));
  // Rounding can land a value next to an edge one bin off; the edges decide.
  if (i > 0 && v < edges[i]) i -= 1;
  else if (i < last && v >= edges[i + 1]) i += 1;
  return i;
}

/** Smallest step of the form {1, 2, 5} × 10^exponent that is >= raw. */
function niceStep(raw: number): { mantissa: number; exponent: number } {
  let exponent = Math.floor(Math.log10(raw));
  const fraction = raw / pow10(exponent);
  let mantissa = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  if (mantissa === 10) [mantissa, exponent] = [1, exponent + 1];
  return { mantissa, exponent };
}

/** 10^k, parsed so it is exact (10 ** k is not correctly rounded for every k). */
function pow10(k: number): number {
  return Number(`1e${k}`);
}

/** Normalises an angle into (-180, 180]. */
function wrapTo180(deg: number): number {
  const r = ((deg % 360) + 360) % 360;
  return r > 180 ? r - 360 : r;
}

/** Hammer–Aitoff of a longitude in [-180, 180] (growing to the right) and a latitude, in degrees. */
function projectLonLat(lonDeg: number, latDeg: number): [number, number] {
  const lon = (lonDeg * Math.PI) / 180;
  const lat = (latDeg * Math.PI) / 180;
  // z >= 1 for |lon| <= π, so there is no division by zero anywhere on the sphere.
  const z = Math.sqrt(1 + Math.cos(lat) * Math.cos(lon / 2));
  return [(2 * Math.SQRT2 * Math.cos(lat) * Math.sin(lon / 2)) / z, (Math.SQRT2 * Math.sin(lat)) / z];
}

// ---------------------------------------------------------------------------
// Drawing: canvas set-up, colours, axes
// ---------------------------------------------------------------------------

interface Surface {
  ctx: CanvasRenderingContext2D;
  width: number; // CSS pixels
  height: number;
}

/** The plot area inside the margins, in CSS pixels. */
interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

interface PlotColors {
  bg: string;
  fg: string;
  grid: string;
  point: string;
  bar: string;
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
}

interface Titles {
  title: string;
  x: string;
  y: string;
}

const DEFAULT_COLORS: PlotColors = {
  bg: "#ffffff",
  fg: "#222222",
  grid: "#e3e3e3",
  point: "#1f5fa8",
  bar: "#4682b4",
};

const FONT = "11px system-ui, sans-serif";
const TITLE_FONT = "bold 13px system-ui, sans-serif";
const MARGIN = { left: 66, right: 18, top: 32, bottom: 46 };
const EMPTY_MESSAGE = "no values to plot";

/**
 * Sizes the backing store in device pixels, so lines and text are sharp on
 * high-DPI screens, and scales the context so drawing code works in CSS
 * pixels. A canvas that is not laid out (clientWidth 0) is drawn at its
 * width/height attributes without DPR scaling: scaling those would make the
 * canvas grow on every redraw.
 */
function prepareCanvas(canvas: HTMLCanvasElement): Surface {
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("plots: the canvas has no 2D context");
  const laidOut = canvas.clientWidth > 0 && canvas.clientHeight > 0;
  const dpr = laidOut ? globalThis.devicePixelRatio || 1 : 1;
  const width = laidOut ? canvas.clientWidth : canvas.width;
  const height = laidOut ? canvas.clientHeight : canvas.height;
  // Assigning width also clears the canvas and resets the context state.
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width, height };
}

/** Colours come from CSS custom properties so the page's theme (e.g. dark mode) applies. */
function readColors(canvas: HTMLCanvasElement): PlotColors {
  if (typeof getComputedStyle !== "function") return { ...DEFAULT_COLORS };
  const style = getComputedStyle(canvas);
  const read = (name: string, fallback: string): string =>
    style.getPropertyValue(name).trim() || fallback;
  return {
    bg: read("--plot-bg", DEFAULT_COLORS.bg),
    fg: read("--plot-fg", DEFAULT_COLORS.fg),
    grid: read("--plot-grid", DEFAULT_COLORS.grid),
    point: read("--plot-point", DEFAULT_COLORS.point),
    bar: read("--plot-bar", DEFAULT_COLORS.bar),
  };
}

function paintBackground(surface: Surface, colors: PlotColors): void {
  surface.ctx.fillStyle = colors.bg;
  surface.ctx.fillRect(0, 0, surface.width, surface.height);
}

function plotFrame(surface: Surface): Frame {
  return {
    left: MARGIN.left,
    top: MARGIN.top,
    width: Math.max(1, surface.width - MARGIN.left - MARGIN.right),
    height: Math.max(1, surface.height - MARGIN.top - MARGIN.bottom),
  };
}

/** "parallax [mas]", or just "parallax" without a unit. */
function axisTitle(column: PlotColumn): string {
  return column.unit ? `${column.name} [${column.unit}]` : column.name;
}

/** A linear axis from the first nice tick to the last; tick count adapts to the length in pixels. */
function linearAxis(min: number, max: number, pixels: number, pixelsPerTick: number): Axis {
  const ticks = niceTicks(min, max, Math.max(2, Math.floor(pixels / pixelsPerTick)));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], log: false, ticks };
}

/** A log axis rounded outwards to whole decades, so it always has at least two labelled ticks. */
function logAxis(min: number, max: number): Axis {
  const lo = pow10(Math.floor(Math.log10(min)));
  let hi = pow10(Math.ceil(Math.log10(max)));
  if (hi <= lo) hi = lo * 10;
  const all = logTicks(lo, hi);
  // Label at most ~8 decades; the grid would be unreadable with more.
  const every = Math.ceil(all.length / 8);
  return { lo, hi, log: true, ticks: all.filter((_, i) => i % every === 0) };
}

/** Maps data values to pixels along [from, to]; `to < from` flips the axis (screen y grows down). */
function scaleOf(axis: Axis, from: number, to: number): (v: number) => number {
  const f = axis.log ? Math.log10 : (v: number): number => v;
  const a = f(axis.lo);
  const k = (to - from) / (f(axis.hi) - a);
  return (v) => from + (f(v) - a) * k;
}

/** Short tick label: ticks are round numbers, so the shortest representation is clean. */
function formatTick(v: number): string {
  const mag = Math.abs(v);
  if (mag !== 0 && (mag >= 1e6 || mag < 1e-3)) return v.toExponential().replace("e+", "e");
  return String(v);
}

/** Lines on whole pixels + 0.5 are one pixel wide instead of two blurred ones. */
function crisp(v: number): number {
  return Math.round(v) + 0.5;
}

function drawAxes(ctx: CanvasRenderingContext2D, frame: Frame, xAxis: Axis, yAxis: Axis, colors: PlotColors): void {
  const right = frame.left + frame.width;
  const bottom = frame.top + frame.height;
  const xs = scaleOf(xAxis, frame.left, right);
  const ys = scaleOf(yAxis, bottom, frame.top);
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.grid;
  ctx.beginPath();
  for (const t of xAxis.ticks) {
    ctx.moveTo(crisp(xs(t)), frame.top);
    ctx.lineTo(crisp(xs(t)), bottom);
  }
  for (const t of yAxis.ticks) {
    ctx.moveTo(frame.left, crisp(ys(t)));
    ctx.lineTo(right, crisp(ys(t)));
  }
  ctx.stroke();

  ctx.fillStyle = colors.fg;
  ctx.font = FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of xAxis.ticks) ctx.fillText(formatTick(t), xs(t), bottom + 5);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yAxis.ticks) ctx.fillText(formatTick(t), frame.left - 6, ys(t));
}

/** Plot title, axis titles and the frame box: drawn for every plot, empty or not. */
function drawDecorations(surface: Surface, frame: Frame, titles: Titles, colors: PlotColors): void {
  const { ctx } = surface;
  ctx.strokeStyle = colors.fg;
  ctx.lineWidth = 1;
  ctx.strokeRect(crisp(frame.left), crisp(frame.top), Math.round(frame.width), Math.round(frame.height));

  ctx.fillStyle = colors.fg;
  ctx.textAlign = "center";
  ctx.font = TITLE_FONT;
  ctx.textBaseline = "top";
  ctx.fillText(titles.title, surface.width / 2, 8);

  ctx.font = FONT;
  ctx.textBaseline = "bottom";
  ctx.fillText(titles.x, frame.left + frame.width / 2, surface.height - 6);

  // The y title reads bottom to top, along the axis.
  ctx.save();
  ctx.translate(14, frame.top + frame.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(titles.y, 0, 0);
  ctx.restore();
}

function drawMessage(ctx: CanvasRenderingContext2D, x: number, y: number, colors: PlotColors): void {
  ctx.fillStyle = colors.fg;
  ctx.font = "italic 13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(EMPTY_MESSAGE, x, y);
}

/** Keeps data marks inside the frame (a point at the axis limit would spill into the labels). */
function clipTo(ctx: CanvasRenderingContext2D, frame: Frame): void {
  ctx.beginPath();
  ctx.rect(frame.left, frame.top, frame.width, frame.height);
  ctx.clip();
}

/** Small translucent points for dense plots, so that density still shows where points overlap. */
function pointStyle(count: number): { size: number; alpha: number } {
  if (count > 20000) return { size: 1.5, alpha: 0.35 };
  if (count > 2000) return { size: 2, alpha: 0.55 };
  return { size: 3, alpha: 0.85 };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "1200 points, 3 left out" or "no values to plot, 3 left out"; `detail` follows the count. */
function countSentence(drawn: number, skipped: number, noun: string, detail = ""): string {
  const shown = drawn === 0 ? EMPTY_MESSAGE : `${plural(drawn, noun)}${detail}`;
  return `${shown}, ${skipped} left out`;
}

/** Publishes the result for accessibility and end-to-end tests. */
function finish(canvas: HTMLCanvasElement, summary: PlotSummary, description: string): PlotSummary {
  canvas.dataset.drawn = String(summary.drawn);
  canvas.setAttribute("aria-label", description);
  if (!canvas.hasAttribute("role")) canvas.setAttribute("role", "img");
  return summary;
}

// ---------------------------------------------------------------------------
// Histogram
// ---------------------------------------------------------------------------

export function drawHistogram(
  canvas: HTMLCanvasElement,
  column: PlotColumn,
  options: { bins?: number; logY?: boolean } = {},
): PlotSummary {
  const logY = options.logY ?? false;
  const { edges, counts } = histogram(column.values, options.bins ?? 0);
  const drawn = counts.reduce((a, b) => a + b, 0);
  const summary = { drawn, skipped: column.values.length - drawn };

  const surface = prepareCanvas(canvas);
  const colors = readColors(canvas);
  const frame = plotFrame(surface);
  const titles = { title: `Histogram of ${column.name}`, x: axisTitle(column), y: logY ? "count (log)" : "count" };
  const bins = drawn === 0 ? "" : ` in ${plural(counts.length, "bin")}`;
  const description =
    `Histogram of ${axisTitle(column)}${logY ? " with logarithmic counts" : ""}: ` +
    `${countSentence(drawn, summary.skipped, "value", bins)}.`;

  paintBackground(surface, colors);
  if (drawn === 0) {
    drawDecorations(surface, frame, titles, colors);
    drawMessage(surface.ctx, frame.left + frame.width / 2, frame.top + frame.height / 2, colors);
    return finish(canvas, summary, description);
  }

  const xAxis = linearAxis(edges[0], edges[edges.length - 1], frame.width, 90);
  const maxCount = Math.max(...counts); // at most MAX_AUTO_BINS or the caller's bins
  // On a log axis, start below 1 so that bins holding a single value still show.
  const yAxis = logY ? logAxis(0.5, maxCount) : linearAxis(0, maxCount, frame.height, 40);
  drawAxes(surface.ctx, frame, xAxis, yAxis, colors);
  drawBars(surface.ctx, frame, xAxis, yAxis, edges, counts, colors);
  drawDecorations(surface, frame, titles, colors);
  return finish(canvas, summary, description);
}

function drawBars(
  ctx: CanvasRenderingContext2D,
  frame: Frame,
  xAxis: Axis,
  yAxis: Axis,
  edges: number[],
  counts: number[],
  colors: PlotColors,
): void {
  const bottom = frame.top + frame.height;
  const xs = scaleOf(xAxis, frame.left, frame.left + frame.width);
  const ys = scaleOf(yAxis, bottom, frame.top);
  ctx.save();
  clipTo(ctx, frame);
  ctx.fillStyle = colors.bar;
  counts.forEach((count, i) => {
    if (count === 0) return; // also: log10(0) has no pixel
    const x0 = xs(edges[i]);
    const barWidth = xs(edges[i + 1]) - x0;
    // A one-pixel gap separates wide bars; narrow ones would vanish with it.
    const gap = barWidth > 4 ? 1 : 0;
    const top = ys(count);
    ctx.fillRect(x0, top, Math.max(1, barWidth - gap), bottom - top);
  });
  ctx.restore();
}

// ---------------------------------------------------------------------------
// Scatter
// ---------------------------------------------------------------------------

export function drawScatter(
  canvas: HTMLCanvasElement,
  x: PlotColumn,
  y: PlotColumn,
  options: { logX?: boolean; logY?: boolean } = {},
): PlotSummary {
  const logX = options.logX ?? false;
  const logY = options.logY ?? false;
  const rows = Math.max(x.values.length, y.values.length);
  const points = usablePairs(x.values, y.values, logX, logY);
  const summary = { drawn: points.count, skipped: rows - points.count };

  const surface = prepareCanvas(canvas);
  const colors = readColors(canvas);
  const frame = plotFrame(surface);
  const titles = { title: `${y.name} against ${x.name}`, x: axisTitle(x), y: axisTitle(y) };
  const scales = [logX ? "logarithmic x" : "", logY ? "logarithmic y" : ""].filter(Boolean).join(" and ");
  const description =
    `Scatter plot of ${axisTitle(y)} against ${axisTitle(x)}${scales ? ` on ${scales} axes` : ""}: ` +
    `${countSentence(summary.drawn, summary.skipped, "point")}.`;

  paintBackground(surface, colors);
  if (points.count === 0) {
    drawDecorations(surface, frame, titles, colors);
    drawMessage(surface.ctx, frame.left + frame.width / 2, frame.top + frame.height / 2, colors);
    return finish(canvas, summary, description);
  }

  const xAxis = axisFor(points.xs.subarray(0, points.count), logX, frame.width, 90);
  const yAxis = axisFor(points.ys.subarray(0, points.count), logY, frame.height, 40);
  drawAxes(surface.ctx, frame, xAxis, yAxis, colors);
  drawPoints(surface.ctx, frame, xAxis, yAxis, points, colors);
  drawDecorations(surface, frame, titles, colors);
  return finish(canvas, summary, description);
}

interface Points {
  xs: Float64Array;
  ys: Float64Array;
  count: number;
}

/** Rows where both values are finite (and positive on a log axis); a missing value (shorter column) counts as null. */
function usablePairs(
  xv: ArrayLike<number | null>,
  yv: ArrayLike<number | null>,
  logX: boolean,
  logY: boolean,
): Points {
  const rows = Math.max(xv.length, yv.length);
  // Typed arrays: 1e5 points without boxing or per-point allocation.
  const xs = new Float64Array(rows);
  const ys = new Float64Array(rows);
  let count = 0;
  for (let i = 0; i < rows; i += 1) {
    const a = i < xv.length ? xv[i] : null;
    const b = i < yv.length ? yv[i] : null;
    if (usable(a, logX) && usable(b, logY)) {
      xs[count] = a;
      ys[count] = b;
      count += 1;
    }
  }
  return { xs, ys, count };
}

function usable(v: number | null | undefined, log: boolean): v is number {
  return isFiniteNumber(v) && (!log || v > 0);
}

function axisFor(values: Float64Array, log: boolean, pixels: number, pixelsPerTick: number): Axis {
  const [min, max] = extent(values);
  return log ? logAxis(min, max) : linearAxis(min, max, pixels, pixelsPerTick);
}

function drawPoints(
  ctx: CanvasRenderingContext2D,
  frame: Frame,
  xAxis: Axis,
  yAxis: Axis,
  points: Points,
  colors: PlotColors,
): void {
  const xs = scaleOf(xAxis, frame.left, frame.left + frame.width);
  const ys = scaleOf(yAxis, frame.top + frame.height, frame.top);
  const { size, alpha } = pointStyle(points.count);
  const half = size / 2;
  ctx.save();
  clipTo(ctx, frame);
  ctx.globalAlpha = alpha;
  ctx.fillStyle = colors.point;
  // fillRect squares rather than arc() circles: no path building, fast for 1e5 points.
  for (let i = 0; i < points.count; i += 1) {
    ctx.fillRect(xs(points.xs[i]) - half, ys(points.ys[i]) - half, size, size);
  }
  ctx.restore();
}

// ---------------------------------------------------------------------------
// Sky map
// ---------------------------------------------------------------------------

/** Space for the Dec labels left of the ellipse and the title above it. */
const SKY_MARGIN = { left: 44, right: 16, top: 32, bottom: 16 };

interface SkyView {
  cx: number;
  cy: number;
  scale: number; // CSS pixels per projection unit
}

/**
 * All-sky map of positions in the Hammer–Aitoff projection, RA increasing to
 * the left (see hammerAitoff). RA and Dec are in degrees (radians when the
 * column's unit is "rad"); RA is normalised into [0, 360), a Dec outside
 * [-90, 90] is left out.
 */
export function drawSky(canvas: HTMLCanvasElement, ra: PlotColumn, dec: PlotColumn): PlotSummary {
  const positions = usablePositions(ra, dec);
  const rows = Math.max(ra.values.length, dec.values.length);
  const summary = { drawn: positions.count, skipped: rows - positions.count };

  const surface = prepareCanvas(canvas);
  const colors = readColors(canvas);
  const view = skyView(surface);
  const description =
    `Sky map of ${ra.name} and ${dec.name} in the Hammer–Aitoff projection, RA increasing to the left: ` +
    `${countSentence(summary.drawn, summary.skipped, "position")}.`;

  paintBackground(surface, colors);
  drawGraticule(surface.ctx, view, colors);
  // The empty message sits just above the equator, clear of the "0h" label below it.
  if (positions.count === 0) drawMessage(surface.ctx, view.cx, view.cy - 16, colors);
  else drawSkyPoints(surface.ctx, view, positions, colors);
  // Outline and labels last, so dense points cannot hide them.
  drawSkyOutlineAndLabels(surface.ctx, view, colors);
  drawSkyTitle(surface, `Sky: ${ra.name}, ${dec.name}`, colors);
  return finish(canvas, summary, description);
}

/** Degrees, or radians when the column says so: RA/Dec in radians would otherwise plot as nonsense. */
function degreesPerUnit(column: PlotColumn): number {
  return column.unit?.trim().toLowerCase() === "rad" ? 180 / Math.PI : 1;
}

function usablePositions(ra: PlotColumn, dec: PlotColumn): Points {
  const raScale = degreesPerUnit(ra);
  const decScale = degreesPerUnit(dec);
  const rows = Math.max(ra.values.length, dec.values.length);
  const xs = new Float64Array(rows); // RA in [0, 360)
  const ys = new Float64Array(rows); // Dec in [-90, 90]
  let count = 0;
  for (let i = 0; i < rows; i += 1) {
    const r = i < ra.values.length ? ra.values[i] : null;
    const d = i < dec.values.length ? dec.values[i] : null;
    if (!isFiniteNumber(r) || !isFiniteNumber(d)) continue;
    const decDeg = d * decScale;
    if (decDeg < -90 || decDeg > 90) continue;
    xs[count] = (((r * raScale) % 360) + 360) % 360;
    ys[count] = decDeg;
    count += 1;
  }
  return { xs, ys, count };
}

/** Fits the 2:1 ellipse (semi-axes 2√2 and √2 units) into the space left by the margins. */
function skyView(surface: Surface): SkyView {
  const width = Math.max(1, surface.width - SKY_MARGIN.left - SKY_MARGIN.right);
  const height = Math.max(1, surface.height - SKY_MARGIN.top - SKY_MARGIN.bottom);
  return {
    cx: SKY_MARGIN.left + width / 2,
    cy: SKY_MARGIN.top + height / 2,
    scale: Math.min(width / (4 * Math.SQRT2), height / (2 * Math.SQRT2)),
  };
}

function toScreen(view: SkyView, [x, y]: [number, number]): [number, number] {
  return [view.cx + x * view.scale, view.cy - y * view.scale];
}

/** A polyline through projected points; the projection is smooth, so 2° steps look round. */
function strokeCurve(ctx: CanvasRenderingContext2D, view: SkyView, points: Array<[number, number]>): void {
  ctx.beginPath();
  points.forEach((p, i) => {
    const [sx, sy] = toScreen(view, p);
    if (i === 0) ctx.moveTo(sx, sy);
    else ctx.lineTo(sx, sy);
  });
  ctx.stroke();
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

const PARALLELS = [-60, -30, 0, 30, 60];
// Every 30° (2h) of RA except 180, which is the outline itself (both edges of the map).
const MERIDIANS = range(0, 330, 30).filter((r) => r !== 180);

/** Meridians every 30° (2h) of RA and parallels every 30° of Dec. */
function drawGraticule(ctx: CanvasRenderingContext2D, view: SkyView, colors: PlotColors): void {
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.grid;
  for (const decDeg of PARALLELS) {
    // Sweep longitude, not RA, so the curve does not jump across the RA = 180 seam.
    strokeCurve(ctx, view, range(-180, 180, 2).map((lon) => projectLonLat(lon, decDeg)));
  }
  for (const raDeg of MERIDIANS) {
    strokeCurve(ctx, view, range(-90, 90, 2).map((d) => hammerAitoff(raDeg, d)));
  }
}

/** The ellipse bounding the sky, RA labels (hours) along the equator, Dec labels at the left edge. */
function drawSkyOutlineAndLabels(ctx: CanvasRenderingContext2D, view: SkyView, colors: PlotColors): void {
  ctx.lineWidth = 1;
  ctx.strokeStyle = colors.fg;
  ctx.beginPath();
  ctx.ellipse(view.cx, view.cy, 2 * Math.SQRT2 * view.scale, Math.SQRT2 * view.scale, 0, 0, 2 * Math.PI);
  ctx.stroke();

  ctx.fillStyle = colors.fg;
  ctx.strokeStyle = colors.bg;
  ctx.lineWidth = 3;
  ctx.lineJoin = "round";
  ctx.font = FONT;
  // RA labels in hours just below the equator; RA runs right to left.
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  for (const raDeg of MERIDIANS) {
    const [sx, sy] = toScreen(view, hammerAitoff(raDeg, 0));
    // A halo in the background colour keeps the label readable on top of points.
    ctx.strokeText(`${raDeg / 15}h`, sx + 2, sy + 2);
    ctx.fillText(`${raDeg / 15}h`, sx + 2, sy + 2);
  }
  // Dec labels outside the left end of each parallel.
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const decDeg of PARALLELS) {
    const [sx, sy] = toScreen(view, projectLonLat(-180, decDeg));
    ctx.fillText(`${decDeg > 0 ? "+" : decDeg < 0 ? "−" : ""}${Math.abs(decDeg)}°`, sx - 4, sy);
  }
}

function drawSkyTitle(surface: Surface, title: string, colors: PlotColors): void {
  const { ctx } = surface;
  ctx.fillStyle = colors.fg;
  ctx.font = TITLE_FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(title, surface.width / 2, 8);
}

function drawSkyPoints(ctx: CanvasRenderingContext2D, view: SkyView, positions: Points, colors: PlotColors): void {
  const { size, alpha } = pointStyle(positions.count);
  const half = size / 2;
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.fillStyle = colors.point;
  for (let i = 0; i < positions.count; i += 1) {
    const [sx, sy] = toScreen(view, hammerAitoff(positions.xs[i], positions.ys[i]));
    ctx.fillRect(sx - half, sy - half, size, size);
  }
  ctx.restore();
}
