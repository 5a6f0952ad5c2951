// A small SVG line chart writer (no dependencies): log-scaled x and y, one line per series.
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];

function fmtTick(v, unit) {
  if (unit === "ns") {
    if (v >= 1e9) return `${v / 1e9} s`;
    if (v >= 1e6) return `${v / 1e6} ms`;
    if (v >= 1e3) return `${v / 1e3} µs`;
    return `${v} ns`;
  }
  return v >= 1000 ? v.toLocaleString("en-US") : String(v);
}

/**
 * series: [{ name, points: [[x, y], ...], dashed? }]; x and y > 0.
 * Returns the SVG text.
 */
export function lineChartLogLog({ title, xLabel, yLabel, series, width = 760, height = 480, yUnit = "ns" }) {
  const m = { left: 78, right: 210, top: 40, bottom: 52 };
  const pw = width - m.left - m.right,
    ph = height - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = Math.floor(Math.log10(Math.min(...xs))),
    x1 = Math.ceil(Math.log10(Math.max(...xs)));
  const y0 = Math.floor(Math.log10(Math.min(...ys))),
    y1 = Math.ceil(Math.log10(Math.max(...ys)));
  const sx = (x) => m.left + ((Math.log10(x) - x0) / Math.max(1, x1 - x0)) * pw;
  const sy = (y) => m.top + ph - ((Math.log10(y) - y0) / Math.max(1, y1 - y0)) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`);
  for (let e = y0; e <= y1; e++) {
    const v = 10 ** e,
      y = sy(v);
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${m.left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#333">${esc(fmtTick(v, yUnit))}</text>`);
  }
  for (let e = x0; e <= x1; e++) {
    const v = 10 ** e,
      x = sx(v);
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${m.top + ph + 18}" text-anchor="middle" fill="#333">${esc(fmtTick(v, ""))}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}"/>`,
      );
    }
    for (const [x, y] of pts)
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.2" fill="${color}"><title>${esc(`${s.name}: N=${x}, ${Math.round(y).toLocaleString("en-US")} ns`)}</title></circle>`);
    const ly = m.top + 14 + i * 20;
    out.push(`<line x1="${m.left + pw + 14}" x2="${m.left + pw + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${m.left + pw + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
