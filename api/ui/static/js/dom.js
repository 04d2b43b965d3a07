// Small DOM and formatting helpers. Every text goes in through
// textContent, never through innerHTML, so nothing from an event can run.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an element: h('a.title', {href}, child, ...). Attributes whose
// name starts with "on" are listeners; false, null and undefined ones are
// left out; children may be strings, nodes, arrays or null.
export function h(tag, attrs, ...children) {
  return build(document.createElement.bind(document), tag, attrs, children);
}

// s is h for SVG elements.
export function s(tag, attrs, ...children) {
  return build((t) => document.createElementNS(SVG_NS, t), tag, attrs, children);
}

function build(create, tag, attrs, children) {
  const [name, ...classes] = tag.split('.');
  const el = create(name);
  if (classes.length) el.setAttribute('class', classes.join(' '));
  if (attrs && (attrs.nodeType || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', [el.getAttribute('class'), v].filter(Boolean).join(' '));
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c.nodeType ? c : String(c));
  }
}

// mount replaces the content of el.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// pick returns the first of obj's keys that is set: the stored events name
// some fields in Go's style (Message) and some in the protocol's (message).
export function pick(obj, ...keys) {
  if (!obj) return undefined;
  for (const k of keys) {
    if (obj[k] !== undefined && obj[k] !== null && obj[k] !== '') return obj[k];
  }
  return undefined;
}

const nf = new Intl.NumberFormat('en');

// num formats a count: 1234 → "1,234", 1234567 → "1.2M".
export function num(n) {
  n = Number(n) || 0;
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1).replace(/\.0$/, '') + 'M';
  if (n >= 1e5) return Math.round(n / 1e3) + 'k';
  return nf.format(n);
}

// ago formats a time as "3m ago"; a missing time as "—".
export function ago(t) {
  const ms = Date.now() - new Date(t).getTime();
  if (!t || Number.isNaN(ms)) return '—';
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 45) return 'just now';
  const units = [['y', 31536000], ['mo', 2592000], ['d', 86400], ['h', 3600], ['m', 60]];
  for (const [u, n] of units) {
    if (sec >= n) return Math.floor(sec / n) + u + ' ago';
  }
  return sec + 's ago';
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

// when formats a full local date and time.
export function when(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : dtf.format(d);
}

// time returns a <time> element showing ago(t), with the full time as its
// tooltip.
export function time(t) {
  return h('time', { datetime: t, title: when(t) }, ago(t));
}

// debounce delays f until calls stop for ms.
export function debounce(f, ms) {
  let id;
  return (...args) => {
    clearTimeout(id);
    id = setTimeout(() => f(...args), ms);
  };
}

// toast shows a short message at the bottom of the window.
export function toast(text, error = false) {
  const el = h('div.toast', { role: 'status', class: error ? 'error' : null }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), error ? 5000 : 2500);
}

// copyButton copies text() to the clipboard.
export function copyButton(text, label = 'Copy') {
  const b = h('button.btn.btn-sm', { type: 'button' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch {
      // No clipboard (an insecure origin): select the text instead.
      const sel = window.getSelection();
      const range = document.createRange();
      const code = b.parentElement.querySelector('code, pre');
      if (code) {
        range.selectNodeContents(code);
        sel.removeAllRanges();
        sel.addRange(range);
      }
      b.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}

// pretty renders a JSON value for a table cell.
export function pretty(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

// kvTable renders an object's entries as a two-column table.
export function kvTable(obj) {
  const rows = Object.entries(obj || {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (!rows.length) return null;
  return h('div.kv-wrap', h('table.kv', h('tbody', rows.map(([k, v]) => h('tr', h('th', k), h('td', pretty(v)))))));
}

// icon returns a small inline SVG icon.
export function icon(name) {
  const paths = {
    search: 'M11 11l3.5 3.5M7 12.5A5.5 5.5 0 1 0 7 1.5a5.5 5.5 0 0 0 0 11z',
    check: 'M3 8.5l3 3 7-7',
    eye: 'M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5zm7 2a2 2 0 1 0 0-4 2 2 0 0 0 0 4z',
    undo: 'M4 6h6a3.5 3.5 0 0 1 0 7H6M4 6l3-3M4 6l3 3',
    trash: 'M3 4h10M6 4V2.5h4V4M4.5 4l.7 9.5h5.6l.7-9.5',
  };
  return s('svg.ico', { viewBox: '0 0 16 16', 'aria-hidden': 'true' },
    s('path', { d: paths[name], fill: 'none', stroke: 'currentColor', 'stroke-width': '1.6', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
}
