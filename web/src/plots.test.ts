import { describe, it, expect } from "vitest";
import {
  drawHistogram,
  drawScatter,
  drawSky,
  hammerAitoff,
  histogram,
  logTicks,
  niceTicks,
} from "./plots";

const SQRT2 = Math.SQRT2;

describe("histogram", () => {
  it("counts every finite value once and ignores null, NaN and infinities", () => {
    const values = [1, null, 2, Number.NaN, 3, Infinity, 4, -Infinity, 5, 5];
    const { edges, counts } = histogram(values, 4);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(edges).toHaveLength(counts.length + 1);
    expect(counts).toHaveLength(4);
  });

  it("spans [min, max] with equal-width edges", () => {
    const { edges, counts } = histogram([0, 10, 3, 7], 5);
    expect(edges).toEqual([0, 2, 4, 6, 8, 10]);
    expect(counts).toEqual([1, 1, 0, 1, 1]);
  });

  it("puts a value on an interior edge into the bin that starts there", () => {
    const { counts } = histogram([0, 2, 4, 10], 5);
    expect(counts).toEqual([1, 1, 1, 0, 1]);
  });

  it("puts the maximum into the last bin", () => {
    const { counts } = histogram([0, 1, 1, 1], 10);
    expect(counts[counts.length - 1]).toBe(3);
    expect(counts[0]).toBe(1);
  });

  it("keeps every value in range when the edges are not exact in binary", () => {
    const values = Array.from({ length: 1000 }, (_, i) => 0.1 + i * 0.001);
    const { edges, counts } = histogram(values, 7);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
    // Each value counted in bin i lies in [edges[i], edges[i+1]).
    let seen = 0;
    counts.forEach((count, i) => {
      const inBin = values.filter((v) =>
        i === counts.length - 1 ? v >= edges[i] && v <= edges[i + 1] : v >= edges[i] && v < edges[i + 1],
      ).length;
      expect(inBin).toBe(count);
      seen += inBin;
    });
    expect(seen).toBe(1000);
  });

  it("accepts typed arrays", () => {
    const { counts } = histogram(Float64Array.from([1, 2, 3, 4]), 2);
    expect(counts).toEqual([2, 2]);
  });

  it("chooses a bin count automatically when bins <= 0", () => {
    const values = Array.from({ length: 10000 }, (_, i) => Math.sin(i) * 100);
    const { edges, counts } = histogram(values, 0);
    expect(counts.length).toBeGreaterThan(5);
    expect(counts.length).toBeLessThanOrEqual(200);
    expect(edges[0]).toBe(Math.min(...values));
    expect(edges[edges.length - 1]).toBe(Math.max(...values));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10000);
  });

  it("falls back to √n bins when the interquartile range is zero", () => {
    const values = [...Array<number>(98).fill(1), 0, 2];
    const { counts } = histogram(values, -1);
    expect(counts).toHaveLength(10);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it("uses one bin around the value when all values are equal", () => {
    const { edges, counts } = histogram([3, 3, null, 3], 10);
    expect(counts).toEqual([3]);
    expect(edges[0]).toBeLessThan(3);
    expect(edges[1]).toBeGreaterThan(3);
  });

  it("returns one empty bin when there are no finite values", () => {
    const { edges, counts } = histogram([null, Number.NaN], 5);
    expect(counts).toEqual([0]);
    expect(edges).toHaveLength(2);
  });
});

/** True when step is 1, 2 or 5 times a power of ten. */
function isNiceStep(step: number): boolean {
  const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9);
}

describe("niceTicks", () => {
  const cases: Array<[number, number, number?]> = [
    [0, 1],
    [0, 10],
    [-3.7, 12.2],
    [0.001, 0.0173],
    [1234, 98765],
    [-1e-7, 3e-7],
    [0.3, 0.7, 4],
    [17, 18, 10],
    [-500, -20],
    [5, 1234567, 8],
  ];

  it.each(cases)("ticks for [%s, %s] are evenly spaced with a 1/2/5×10^k step", (min, max, target) => {
    const ticks = niceTicks(min, max, target);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    const step = ticks[1] - ticks[0];
    expect(isNiceStep(step)).toBe(true);
    for (let i = 1; i < ticks.length; i += 1) {
      expect(ticks[i] - ticks[i - 1]).toBeCloseTo(step, 9);
    }
    // Ticks are multiples of the step.
    for (const t of ticks) expect(Math.abs(t / step - Math.round(t / step))).toBeLessThan(1e-6);
  });

  it.each(cases)("ticks for [%s, %s] cover the range without a spare interval", (min, max, target) => {
    const ticks = niceTicks(min, max, target);
    const step = ticks[1] - ticks[0];
    expect(ticks[0]).toBeLessThanOrEqual(min);
    expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
    expect(ticks[0] + step).toBeGreaterThan(min);
    expect(ticks[ticks.length - 1] - step).toBeLessThan(max);
  });

  it("gives round numbers exactly", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.3, 0.7, 4)).toEqual([0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
  });

  it("stays near the target count", () => {
    const ticks = niceTicks(0, 987, 5);
    expect(ticks.length - 1).toBeGreaterThanOrEqual(3);
    expect(ticks.length - 1).toBeLessThanOrEqual(7);
  });

  it("accepts reversed bounds and widens a zero-width range", () => {
    expect(niceTicks(10, 0)).toEqual(niceTicks(0, 10));
    const ticks = niceTicks(5, 5);
    expect(ticks[0]).toBeLessThan(5);
    expect(ticks[ticks.length - 1]).toBeGreaterThan(5);
  });

  it("returns nothing for non-finite bounds", () => {
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
    expect(niceTicks(0, Infinity)).toEqual([]);
  });
});

describe("logTicks", () => {
  it("lists the powers of ten inside the range", () => {
    expect(logTicks(1, 1000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(0.05, 20)).toEqual([0.1, 1, 10]);
    expect(logTicks(3, 4000)).toEqual([10, 100, 1000]);
    expect(logTicks(1e-5, 1e-3)).toEqual([1e-5, 1e-4, 1e-3]);
  });

  it("is empty when no power of ten fits or min <= 0", () => {
    expect(logTicks(2, 9)).toEqual([]);
    expect(logTicks(0, 100)).toEqual([]);
    expect(logTicks(-5, 100)).toEqual([]);
    expect(logTicks(100, 1)).toEqual([]);
  });

  it("handles very large exponents exactly", () => {
    const ticks = logTicks(1e20, 1e25);
    expect(ticks).toEqual([1e20, 1e21, 1e22, 1e23, 1e24, 1e25]);
  });
});

describe("hammerAitoff", () => {
  it("maps (0, 0) to the centre", () => {
    const [x, y] = hammerAitoff(0, 0);
    expect(x).toBe(0);
    expect(y).toBe(0);
  });

  it("maps the poles to the top and bottom of the ellipse, whatever the RA", () => {
    for (const ra of [0, 45, 90, 180, 270, 359]) {
      const [xn, yn] = hammerAitoff(ra, 90);
      expect(xn).toBeCloseTo(0, 12);
      expect(yn).toBeCloseTo(SQRT2, 12);
      const [xs, ys] = hammerAitoff(ra, -90);
      expect(xs).toBeCloseTo(0, 12);
      expect(ys).toBeCloseTo(-SQRT2, 12);
    }
  });

  it("puts RA increasing to the left: RA 90 left of centre, RA 270 right", () => {
    expect(hammerAitoff(1, 0)[0]).toBeLessThan(0);
    expect(hammerAitoff(359, 0)[0]).toBeGreaterThan(0);
    const [x90, y90] = hammerAitoff(90, 0);
    const [x270, y270] = hammerAitoff(270, 0);
    expect(x90).toBeLessThan(0);
    expect(x270).toBeGreaterThan(0);
    expect(x90).toBeCloseTo(-x270, 12);
    expect(y90).toBeCloseTo(0, 12);
    expect(y270).toBeCloseTo(0, 12);
    // Known value: λ = ∓90°, φ = 0 gives |x| = 2√2·sin45°/√(1+cos45°).
    expect(Math.abs(x90)).toBeCloseTo((2 * SQRT2 * Math.SQRT1_2) / Math.sqrt(1 + Math.SQRT1_2), 12);
  });

  it("puts RA 180 on the edge: left at 180, right just above it", () => {
    expect(hammerAitoff(180, 0)[0]).toBeCloseTo(-2 * SQRT2, 12);
    expect(hammerAitoff(179.999, 0)[0]).toBeCloseTo(-2 * SQRT2, 4);
    expect(hammerAitoff(180.001, 0)[0]).toBeCloseTo(2 * SQRT2, 4);
  });

  it("is north up", () => {
    expect(hammerAitoff(30, 45)[1]).toBeGreaterThan(0);
    expect(hammerAitoff(30, -45)[1]).toBeLessThan(0);
    expect(hammerAitoff(30, 45)[1]).toBeCloseTo(-hammerAitoff(30, -45)[1], 12);
  });

  it("normalises RA: -90 is 270 and 450 is 90", () => {
    expect(hammerAitoff(-90, 20)).toEqual(hammerAitoff(270, 20));
    const [a, b] = hammerAitoff(450, 20);
    const [c, d] = hammerAitoff(90, 20);
    expect(a).toBeCloseTo(c, 12);
    expect(b).toBeCloseTo(d, 12);
  });

  it("keeps every position inside the ellipse x²/8 + y²/2 <= 1", () => {
    for (let ra = 0; ra <= 360; ra += 7.5) {
      for (let dec = -90; dec <= 90; dec += 7.5) {
        const [x, y] = hammerAitoff(ra, dec);
        expect(x * x / 8 + y * y / 2).toBeLessThanOrEqual(1 + 1e-12);
        expect(Math.abs(x)).toBeLessThanOrEqual(2 * SQRT2 + 1e-12);
        expect(Math.abs(y)).toBeLessThanOrEqual(SQRT2 + 1e-12);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// The draw* functions, on a fake canvas that records what is drawn (the
// tests run in Node, without a DOM).

function fakeCanvas(width = 600, height = 400) {
  const texts: string[] = [];
  let rects = 0;
  const state: Record<string | symbol, unknown> = {};
  const ctx = new Proxy(state, {
    get(target, prop) {
      if (prop === "fillText") return (text: string) => texts.push(text);
      if (prop === "fillRect") return () => (rects += 1);
      if (prop in target) return target[prop];
      return () => undefined; // every other method: a no-op
    },
    set(target, prop, value: unknown) {
      target[prop] = value;
      return true;
    },
  });
  const attributes = new Map<string, string>();
  const canvas = {
    width,
    height,
    clientWidth: 0,
    clientHeight: 0,
    dataset: {} as Record<string, string>,
    getContext: () => ctx,
    setAttribute: (name: string, value: string) => attributes.set(name, value),
    hasAttribute: (name: string) => attributes.has(name),
  };
  return {
    canvas: canvas as unknown as HTMLCanvasElement,
    texts,
    attributes,
    rects: () => rects,
    size: () => [canvas.width, canvas.height],
  };
}

describe("drawHistogram", () => {
  it("reports drawn and skipped values and labels the canvas", () => {
    const fake = fakeCanvas();
    const summary = drawHistogram(fake.canvas, { name: "parallax", unit: "mas", values: [1, 2, null, 3, Number.NaN] }, { bins: 3 });
    expect(summary).toEqual({ drawn: 3, skipped: 2 });
    expect(fake.canvas.dataset.drawn).toBe("3");
    expect(fake.attributes.get("aria-label")).toBe("Histogram of parallax [mas]: 3 values in 3 bins, 2 left out.");
    expect(fake.texts).toContain("parallax [mas]");
    expect(fake.texts).toContain("Histogram of parallax");
    expect(fake.texts).not.toContain("no values to plot");
  });

  it("draws the empty message when nothing is plottable", () => {
    const fake = fakeCanvas();
    const summary = drawHistogram(fake.canvas, { name: "mag", values: [null, null] });
    expect(summary).toEqual({ drawn: 0, skipped: 2 });
    expect(fake.canvas.dataset.drawn).toBe("0");
    expect(fake.texts).toContain("no values to plot");
  });

  it("keeps the canvas size on repeated draws when it is not laid out", () => {
    const fake = fakeCanvas(300, 200);
    drawHistogram(fake.canvas, { name: "a", values: [1, 2] });
    drawHistogram(fake.canvas, { name: "a", values: [1, 2] }, { logY: true });
    expect(fake.size()).toEqual([300, 200]);
  });
});

describe("drawScatter", () => {
  it("skips non-positive values on log axes", () => {
    const fake = fakeCanvas();
    const x = { name: "x", values: [1, 10, 0, -1, 100, null] };
    const y = { name: "y", unit: "s", values: [5, 6, 7, 8, 9, 10] };
    expect(drawScatter(fake.canvas, x, y)).toEqual({ drawn: 5, skipped: 1 });
    expect(drawScatter(fake.canvas, x, y, { logX: true })).toEqual({ drawn: 3, skipped: 3 });
    expect(fake.attributes.get("aria-label")).toContain("logarithmic x");
    expect(fake.texts).toContain("y [s]");
  });

  it("treats the missing tail of a shorter column as skipped", () => {
    const fake = fakeCanvas();
    expect(drawScatter(fake.canvas, { name: "x", values: [1, 2, 3] }, { name: "y", values: [1] })).toEqual({
      drawn: 1,
      skipped: 2,
    });
  });

  it("draws 1e5 points as one fillRect each", () => {
    const fake = fakeCanvas();
    const n = 100_000;
    const x = { name: "x", values: Float64Array.from({ length: n }, (_, i) => Math.cos(i)) };
    const y = { name: "y", values: Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3)) };
    const before = fake.rects();
    const summary = drawScatter(fake.canvas, x, y);
    expect(summary).toEqual({ drawn: n, skipped: 0 });
    expect(fake.rects() - before).toBe(n + 1); // + the background
  });
});

describe("drawSky", () => {
  it("normalises RA, skips Dec outside [-90, 90] and labels the graticule", () => {
    const fake = fakeCanvas();
    const ra = { name: "ra", unit: "deg", values: [10, -20, 400, 30, null, 50] };
    const dec = { name: "dec", unit: "deg", values: [0, 45, -45, 91, 10, -90.5] };
    expect(drawSky(fake.canvas, ra, dec)).toEqual({ drawn: 3, skipped: 3 });
    expect(fake.canvas.dataset.drawn).toBe("3");
    expect(fake.texts).toEqual(expect.arrayContaining(["0h", "2h", "22h", "+30°", "0°", "−60°"]));
    expect(fake.attributes.get("aria-label")).toMatch(/RA increasing to the left: 3 positions, 3 left out\.$/);
  });

  it("draws the empty message for no positions", () => {
    const fake = fakeCanvas();
    expect(drawSky(fake.canvas, { name: "ra", values: [] }, { name: "dec", values: [] })).toEqual({ drawn: 0, skipped: 0 });
    expect(fake.texts).toContain("no values to plot");
  });
});
