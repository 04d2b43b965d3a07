// Charts drawn as SVG by hand: bar sparklines of an issue's events, and a
// line chart of Prometheus range results.

import { h, s, num } from './dom.js';

// bars draws Sentry's [[unix seconds, count], ...] series as bars in a
// w×ht box; cls is the SVG's class. Each bar has a tooltip.
export function bars(series, { w = 150, ht = 32, cls = 'spark', label = 'Events', step = 3600 } = {}) {
  series = series || [];
  const max = Math.max(1, ...series.map((p) => p[1]));
  const n = Math.max(series.length, 1);
  const gap = n > 20 ? 1 : 2;
  const bw = Math.max(1, (w - gap * (n - 1)) / n);
  const svg = s('svg', {
    class: cls, viewBox: `0 0 ${w} ${ht}`, preserveAspectRatio: 'none', role: 'img',
    'aria-label': `${label}: ${series.reduce((a, p) => a + p[1], 0)} in the period`,
  });
  series.forEach(([t, c], i) => {
    // An empty bucket is a faint stub, so the time axis stays readable.
    const bh = c ? Math.max(2, (c / max) * (ht - 3)) : 2;
    const r = s('rect', { x: (i * (bw + gap)).toFixed(2), y: (ht - bh).toFixed(2), width: bw.toFixed(2), height: bh.toFixed(2), rx: Math.min(1.5, bw / 3) },
      s('title', `${c} event${c === 1 ? '' : 's'} · ${fmtBucket(t, step)}`));
    if (!c) r.setAttribute('class', 'zero');
    else if (i === series.length - 1) r.setAttribute('class', 'last');
    svg.append(r);
  });
  return svg;
}

function fmtBucket(t, step) {
  const d = new Date(t * 1000);
  return step >= 86400
    ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// Colors of the chart's lines, told apart also by people with the common
// color-vision deficiencies (Tableau 10 order, led by the accent).
export const palette = ['#5b45e0', '#e5484d', '#12a37f', '#f0a020', '#3d7bf0', '#c2418a', '#7a5c3e', '#8f8da3', '#1aa3c7', '#8bb82e'];

// labelText renders a metric's labels the way PromQL writes a selector.
export function labelText(metric) {
  const name = metric.__name__ || '';
  const quote = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const rest = Object.entries(metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${quote(v)}"`);
  return rest.length ? `${name}{${rest.join(', ')}}` : name || '{}';
}

// lineChart draws a matrix result ([{metric, values: [[t, "v"], ...]}])
// over [start, end] seconds into host, with a hover tooltip, and returns a
// function that draws it again (for a resize).
export function lineChart(host, result, start, end) {
  const draw = () => {
    const W = Math.max(280, host.clientWidth || 600);
    const H = W < 500 ? 240 : 320;
    host.replaceChildren(render(host, result, start, end, W, H));
  };
  draw();
  return draw;
}

function niceStep(range, target) {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

const timeSteps = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

function fmtValue(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(3)));
}

function fmtTime(t, span) {
  const d = new Date(t * 1000);
  if (span > 2 * 86400) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

function render(host, result, start, end, W, H) {
  const padL = 48, padR = 12, padT = 8, padB = 24;
  const iw = W - padL - padR, ih = H - padT - padB;
  const series = result.map((r, i) => ({
    label: labelText(r.metric), color: palette[i % palette.length],
    pts: (r.values || []).map(([t, v]) => [Number(t), Number(v)]).filter(([, v]) => Number.isFinite(v)),
  }));
  let lo = Infinity, hi = -Infinity;
  for (const sr of series) for (const [, v] of sr.pts) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi === lo) { hi += Math.abs(hi) * 0.1 || 1; lo -= lo === 0 ? 0 : Math.abs(lo) * 0.1; }
  const ystep = niceStep(hi - lo, 5);
  lo = Math.floor(lo / ystep) * ystep;
  hi = Math.ceil(hi / ystep) * ystep;
  const x = (t) => padL + ((t - start) / (end - start)) * iw;
  const y = (v) => padT + ih - ((v - lo) / (hi - lo)) * ih;

  const svg = s('svg.chart', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `Chart of ${series.length} series` });
  const axis = s('g.axis');
  for (let v = lo; v <= hi + ystep / 2; v += ystep) {
    const yy = y(v).toFixed(1);
    svg.append(s('line.grid', { x1: padL, x2: W - padR, y1: yy, y2: yy }));
    axis.append(s('text', { x: padL - 8, y: yy, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmtValue(v)));
  }
  const span = end - start;
  const tstep = timeSteps.find((st) => span / st <= Math.max(2, Math.floor(iw / 90))) || 604800;
  const offset = new Date().getTimezoneOffset() * 60;
  for (let t = Math.ceil((start - offset) / tstep) * tstep + offset; t <= end; t += tstep) {
    axis.append(s('text', { x: x(t).toFixed(1), y: H - 6, 'text-anchor': 'middle' }, fmtTime(t, span)));
  }
  svg.append(axis);
  const step = series.reduce((m, sr) => Math.min(m, sr.pts.length > 1 ? sr.pts[1][0] - sr.pts[0][0] : Infinity), Infinity);
  for (const sr of series) {
    // Break the line where samples are missing.
    let d = '', prev = null;
    for (const [t, v] of sr.pts) {
      d += (prev !== null && t - prev <= step * 1.5 ? 'L' : 'M') + x(t).toFixed(1) + ',' + y(v).toFixed(1);
      prev = t;
    }
    if (series.length === 1 && sr.pts.length > 1) {
      const first = sr.pts[0][0], last = sr.pts[sr.pts.length - 1][0];
      svg.append(s('path.area', { d: `${d}L${x(last).toFixed(1)},${y(lo)}L${x(first).toFixed(1)},${y(lo)}Z`, fill: sr.color }));
    }
    svg.append(s('path.line', { d, stroke: sr.color }));
    if (sr.pts.length === 1) svg.append(s('circle', { cx: x(sr.pts[0][0]), cy: y(sr.pts[0][1]), r: 3, fill: sr.color }));
  }

  // Hover: a cursor line, dots and a tooltip at the nearest sample time.
  const cursor = s('line.cursor', { y1: padT, y2: padT + ih, visibility: 'hidden' });
  const dots = s('g');
  svg.append(cursor, dots);
  const tip = h('div.tooltip', { hidden: true });
  const wrap = h('div', { style: { position: 'relative' } }, svg, tip);
  svg.addEventListener('mousemove', (ev) => {
    const rect = svg.getBoundingClientRect();
    const px = ((ev.clientX - rect.left) / rect.width) * W;
    const t = start + ((px - padL) / iw) * (end - start);
    let best = null;
    for (const sr of series) for (const p of sr.pts) if (!best || Math.abs(p[0] - t) < Math.abs(best - t)) best = p[0];
    if (best === null) return;
    const xx = x(best);
    cursor.setAttribute('x1', xx);
    cursor.setAttribute('x2', xx);
    cursor.setAttribute('visibility', 'visible');
    dots.replaceChildren();
    const rows = [];
    for (const sr of series) {
      const p = sr.pts.find((q) => q[0] === best);
      if (!p) continue;
      dots.append(s('circle.dot', { cx: xx, cy: y(p[1]), r: 3.5, fill: sr.color }));
      rows.push([sr, p[1]]);
    }
    rows.sort((a, b) => b[1] - a[1]);
    tip.replaceChildren(
      h('div.time', new Date(best * 1000).toLocaleString()),
      rows.slice(0, 8).map(([sr, v]) => h('div.row', h('span.swatch', { style: { background: sr.color } }), h('span', short(sr.label)), h('span.v', fmtValue(v)))),
      rows.length > 8 ? h('div.time', `and ${num(rows.length - 8)} more`) : null,
    );
    tip.hidden = false;
    const left = (xx / W) * rect.width;
    tip.style.left = Math.min(left + 12, rect.width - tip.offsetWidth - 4) + 'px';
    tip.style.top = '8px';
  });
  svg.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    dots.replaceChildren();
    tip.hidden = true;
  });
  return wrap;
}

function short(label) {
  return label.length > 60 ? label.slice(0, 57) + '…' : label;
}
