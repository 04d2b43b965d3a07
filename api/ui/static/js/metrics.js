// The metrics explorer: find a series by name, chart it or any PromQL
// expression over a chosen range, through the Prometheus query API.

import { h, mount, num, debounce } from './dom.js';
import { metrics } from './api.js';
import { lineChart, labelText, palette } from './chart.js';
import { isCurrent, go } from './nav.js';

const RANGES = [['5m', 300], ['15m', 900], ['1h', 3600], ['3h', 10800], ['12h', 43200], ['24h', 86400], ['7d', 604800], ['14d', 1209600]];
const MAX_NAMES = 200;
const MAX_SERIES = 30;

export async function metricsView(main, params, token) {
  const expr = params.get('expr') || '';
  const rangeKey = RANGES.some(([k]) => k === params.get('range')) ? params.get('range') : '1h';
  const range = RANGES.find(([k]) => k === rangeKey)[1];
  const selected = params.get('name') || (/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(expr) ? expr : '');
  document.title = expr ? `${expr} · Metrics · Telltale` : 'Metrics · Telltale';
  const nav = (changes) => go('/metrics', { expr, range: rangeKey === '1h' ? '' : rangeKey, name: selected, ...changes });

  const filter = h('input', { type: 'search', placeholder: 'Filter metric names', 'aria-label': 'Filter metric names', spellcheck: 'false', autocomplete: 'off' });
  const names = h('ul.metric-list', { 'aria-label': 'Metric names' }, h('li.more', 'Loading…'));
  const input = h('input', { type: 'text', name: 'expr', value: expr, placeholder: 'PromQL, e.g. rate(http_requests_total[5m])', 'aria-label': 'PromQL expression', spellcheck: 'false', autocomplete: 'off' });
  const rangeSel = h('select', { 'aria-label': 'Time range' }, RANGES.map(([k]) => h('option', { value: k, selected: k === rangeKey }, `Last ${k}`)));
  rangeSel.addEventListener('change', () => nav({ expr: input.value.trim(), range: rangeSel.value === '1h' ? '' : rangeSel.value }));
  const chartHost = h('div.chart-wrap');
  const legend = h('ul.legend', { 'aria-label': 'Legend' });
  const seriesSlot = h('div');

  mount(main,
    h('div.page-head', h('div', h('h1', 'Metrics'), h('p.sub', 'The statsd series Telltale keeps, queried with PromQL.'))),
    h('div.metrics-layout',
      h('aside.card', { 'aria-label': 'Metric names' }, h('div.side-search', filter), names),
      h('div',
        h('section.card', { 'aria-label': 'Chart' },
          h('form.query-bar', {
            onsubmit: (ev) => {
              ev.preventDefault();
              nav({ expr: input.value.trim(), range: rangeSel.value === '1h' ? '' : rangeSel.value });
            },
          }, input, rangeSel, h('button.btn.btn-primary', { type: 'submit' }, 'Run')),
          chartHost, legend),
        seriesSlot)));

  const end = Math.floor(Date.now() / 1000);
  const start = end - range;

  // The names, filtered as the user types.
  metrics.names().then((all) => {
    if (!isCurrent(token)) return;
    all = (all || []).slice().sort();
    const show = () => {
      const f = filter.value.trim().toLowerCase();
      const hits = f ? all.filter((n) => n.toLowerCase().includes(f)) : all;
      mount(names,
        hits.slice(0, MAX_NAMES).map((n) => h('li', h('button', {
          type: 'button', title: n, 'aria-current': String(n === selected),
          onclick: () => go('/metrics', { expr: n, name: n, range: rangeKey === '1h' ? '' : rangeKey }),
        }, n))),
        hits.length > MAX_NAMES ? h('li.more', `${num(hits.length - MAX_NAMES)} more; refine the filter`) : null,
        hits.length === 0 ? h('li.more', all.length ? 'No metric matches.' : 'No metrics yet. Send statsd lines to Telltale.') : null);
      // Bring the chosen name into view inside the list (not the page).
      const cur = names.querySelector('button[aria-current="true"]');
      if (cur) names.scrollTop = Math.max(0, cur.offsetTop - names.clientHeight / 2);
    };
    filter.addEventListener('input', debounce(show, 80));
    show();
  }).catch((err) => {
    if (!isCurrent(token)) return;
    mount(names, h('li.more', err.status === 404 ? 'The metric history is off (statsd.history in the config).' : err.message));
  });

  if (selected) seriesTable(seriesSlot, selected, start, end, token);

  if (!expr) {
    mount(chartHost, h('div.empty', h('h2', 'Pick a metric'), h('p', 'Choose a name on the left, or type a PromQL expression and press Run.')));
    return;
  }
  mount(chartHost, h('p.loading', 'Querying…'));
  const step = Math.max(1, Math.round(range / 240));
  let data;
  try {
    data = await metrics.range(expr, start, end, step);
  } catch (err) {
    if (isCurrent(token)) mount(chartHost, h('div.card-body', h('div.alert.alert-error', { role: 'alert' }, err.message)));
    return;
  }
  if (!isCurrent(token)) return;
  const result = (data?.result || []).slice(0, MAX_SERIES);
  if (!result.length) {
    mount(chartHost, h('div.empty', h('h2', 'No data'), h('p', `Nothing for ${expr} in the last ${rangeKey}.`)));
    return;
  }
  chartHost.replaceChildren();
  const redraw = lineChart(chartHost, result, start, end);
  const ro = new ResizeObserver(debounce(() => {
    if (!chartHost.isConnected) ro.disconnect();
    else redraw();
  }, 100));
  ro.observe(chartHost);
  mount(legend, result.map((r, i) => h('li', h('span.swatch', { style: { background: palette[i % palette.length] } }), h('span', labelText(r.metric)))),
    (data.result.length > MAX_SERIES) ? h('li.faint', `${data.result.length - MAX_SERIES} more series not drawn`) : null);
}

// seriesTable lists the label sets of name, each a link that charts it,
// with a filter by label (region=eu, or any part of a label set).
async function seriesTable(slot, name, start, end, token) {
  let list;
  try {
    list = await metrics.series(name, start - 14 * 86400, end);
  } catch {
    return;
  }
  if (!isCurrent(token) || !list?.length) return;
  const rows = h('tbody');
  const count = h('span.faint');
  const filter = h('input', { type: 'search', placeholder: 'Filter by label, e.g. region=eu', 'aria-label': 'Filter series by label', spellcheck: 'false', autocomplete: 'off' });
  const show = () => {
    // "k=v" matches the label k="v…"; anything else any part of the set.
    const f = filter.value.trim().toLowerCase().replace(/^([a-z_][a-z0-9_]*)=([^"]*)$/, '$1="$2');
    const hits = list.map((m) => labelText(m)).filter((sel) => !f || sel.toLowerCase().includes(f));
    mount(count, f ? `${num(hits.length)} of ${num(list.length)} series of ${name}` : `${num(list.length)} of ${name}`);
    mount(rows, hits.slice(0, 50).map((sel) => h('tr', h('td', sel), h('td', { style: { textAlign: 'right', whiteSpace: 'nowrap' } },
      h('button.btn.btn-sm', { type: 'button', onclick: () => go('/metrics', { expr: sel, name }) }, 'Chart'),
      ' ',
      h('button.btn.btn-sm', { type: 'button', onclick: () => go('/metrics', { expr: `rate(${sel}[1m])`, name }) }, 'Rate')))));
  };
  filter.addEventListener('input', debounce(show, 80));
  mount(slot, h('section.card', { 'aria-label': `Series of ${name}`, style: { marginTop: '16px' } },
    h('div.section-title', h('h2', 'Series'), count),
    h('div.side-search', filter),
    h('div', { style: { overflowX: 'auto' } }, h('table.table.series-list', rows))));
  show();
}
