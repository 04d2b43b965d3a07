// The issue list of a project: search in the API's query syntax, filters
// that edit the query, sort, sparklines, counts and cursor paging.

import { h, mount, num, time, icon } from './dom.js';
import { sentry } from './api.js';
import { bars } from './chart.js';
import { projects, isCurrent, go, link } from './nav.js';

const DEFAULT_QUERY = 'is:unresolved';
const SORTS = [['date', 'Last seen'], ['new', 'First seen'], ['freq', 'Events'], ['user', 'Users']];
const LEVELS = ['fatal', 'error', 'warning', 'info', 'debug'];
const PAGE = 25;

// splitQuery splits a query on spaces outside double quotes, as the API does.
function splitQuery(q) {
  return q.match(/(?:[^\s"]+|"[^"]*")+/g) || [];
}

function getToken(q, key) {
  const t = splitQuery(q).find((x) => x.startsWith(key + ':'));
  return t ? t.slice(key.length + 1).replace(/^"|"$/g, '') : '';
}

function setToken(q, key, value) {
  const toks = splitQuery(q).filter((x) => !x.startsWith(key + ':'));
  if (value) toks.unshift(`${key}:${/\s/.test(value) ? `"${value}"` : value}`);
  return toks.join(' ');
}

function title(is) {
  const m = is.metadata || {};
  if (m.type) return [m.type, m.value ? h('span.value', m.value) : null];
  return is.title;
}

function statusBadges(is) {
  const out = [];
  if (is.status === 'resolved') out.push(h('span.badge.badge-resolved', 'Resolved'));
  if (is.status === 'ignored') out.push(h('span.badge.badge-ignored', 'Ignored'));
  if (is.status === 'unresolved' && is.substatus === 'regressed') out.push(h('span.badge.badge-regressed', 'Regressed'));
  if (is.status === 'unresolved' && is.substatus === 'new') out.push(h('span.badge.badge-new', 'New'));
  if (is.isUnhandled) out.push(h('span.badge.badge-unhandled', 'Unhandled'));
  return out;
}

export { title as issueTitle, statusBadges };

function row(is, period) {
  const stats = (is.stats || {})[period] || [];
  return h('li.issue-row', { class: `lvl-${is.level}`, 'data-issue': is.id },
    h('div.issue-main',
      h('a.issue-title', { href: link(`/issues/${is.id}`) }, title(is)),
      is.culprit ? h('div.issue-culprit', is.culprit) : null,
      h('div.issue-meta',
        h('span.short', is.shortId),
        h('span.level', { class: `level-${is.level}` }, is.level),
        statusBadges(is),
        h('span', h('span.faint', 'Last seen '), time(is.lastSeen)),
        h('span', h('span.faint', 'First seen '), time(is.firstSeen)))),
    h('div.spark-cell', bars(stats, { step: period === '14d' ? 86400 : 3600 })),
    h('div.num.count', { title: `${is.count} events` }, num(is.count)),
    h('div.num.count', { title: `${is.userCount} users` }, num(is.userCount)),
    h('div.nums', h('span', plural(Number(is.count), 'event')), h('span', plural(is.userCount, 'user'))));
}

function plural(n, what) {
  return `${num(n)} ${what}${n === 1 ? '' : 's'}`;
}

function offsetOf(cursor) {
  return Number((cursor || '').split(':')[1]) || 0;
}

export async function issuesView(main, params, token) {
  const list = await projects();
  if (!isCurrent(token)) return;
  if (!list.length) {
    mount(main, h('div.card', h('div.empty', h('h2', 'No projects yet'), h('p', 'Declare a project in the config file to receive errors.'))));
    return;
  }
  const project = list.find((p) => p.slug === params.get('project')) || list[0];
  const q = params.has('query') ? params.get('query') : DEFAULT_QUERY;
  const sort = params.get('sort') || 'date';
  const period = params.get('stats') === '14d' ? '14d' : '24h';
  const cursor = params.get('cursor') || '';
  const state = { project: project.slug, query: q, sort, stats: period === '24h' ? '' : period };
  const nav = (changes) => go('/issues', { ...state, cursor: '', ...changes });
  document.title = `Issues · ${project.name || project.slug} · Telltale`;

  const search = h('input', {
    type: 'search', name: 'query', value: q, placeholder: 'is:unresolved level:error release:1.2 region:eu free text',
    'aria-label': 'Search issues', autocomplete: 'off', spellcheck: 'false',
  });
  const select = (label, options, value, onchange) => h('label.field', h('span', label),
    h('select', { onchange: (ev) => onchange(ev.target.value) },
      options.map(([v, t]) => h('option', { value: v, selected: v === value }, t))));
  const text = (label, key) => h('label.field', h('span', label),
    h('input', {
      type: 'text', value: getToken(q, key), placeholder: 'any', spellcheck: 'false',
      onchange: (ev) => nav({ query: setToken(q, key, ev.target.value.trim()) }),
    }));

  const body = h('div', h('p.loading', 'Loading issues…'));
  const foot = h('div.card-foot', { hidden: true });
  const periodToggle = h('span.btn-group', { role: 'group', 'aria-label': 'Graph period' },
    ['24h', '14d'].map((p) => h('button.btn.btn-sm', {
      type: 'button', 'aria-pressed': String(p === period), onclick: () => nav({ stats: p === '24h' ? '' : p, cursor }),
    }, p)));

  mount(main,
    h('div.page-head',
      h('div',
        h('h1', 'Issues'),
        h('p.sub', 'Errors grouped by what caused them, newest activity first.')),
      h('label.field', h('span', 'Project'), h('select', { onchange: (ev) => nav({ project: ev.target.value }) },
        list.map((p) => h('option', { value: p.slug, selected: p.slug === project.slug }, p.name || p.slug))))),
    h('div.card',
      h('div.toolbar',
        h('form.search', {
          role: 'search',
          onsubmit: (ev) => {
            ev.preventDefault();
            nav({ query: search.value.trim() });
          },
        }, icon('search'), search),
        h('div.filters',
          select('Status', [['unresolved', 'Unresolved'], ['resolved', 'Resolved'], ['ignored', 'Ignored'], ['', 'All']], getToken(q, 'is'),
            (v) => nav({ query: setToken(q, 'is', v) })),
          select('Level', [['', 'Any'], ...LEVELS.map((l) => [l, l[0].toUpperCase() + l.slice(1)])], getToken(q, 'level'),
            (v) => nav({ query: setToken(q, 'level', v) })),
          text('Environment', 'environment'),
          text('Release', 'release'),
          select('Sort by', SORTS, sort, (v) => nav({ sort: v === 'date' ? '' : v })))),
      h('div.issues-head', h('span', 'Issue'), h('span', periodToggle), h('span.num', 'Events'), h('span.num', 'Users')),
      body,
      foot));

  const res = await sentry.issues(project.slug, { query: q, sort, cursor: cursor || undefined, limit: PAGE });
  if (!isCurrent(token)) return;
  if (!res.issues.length) {
    const fresh = q === DEFAULT_QUERY && !cursor;
    mount(body, h('div.empty',
      h('h2', fresh ? 'No unresolved issues' : 'No issues match'),
      fresh
        ? h('p', 'Nothing is broken, or no SDK reports here yet. ', h('a', { href: link('/projects') }, 'Set up an SDK'), '.')
        : h('p', 'Try another search, or ', h('a', { href: link('/issues', { project: project.slug, query: '' }) }, 'show all issues'), '.')));
    return;
  }
  mount(body, h('ul.issues', { 'aria-label': 'Issues' }, res.issues.map((is) => row(is, period))));
  const from = offsetOf(cursor) + 1;
  const to = from + res.issues.length - 1;
  foot.hidden = false;
  mount(foot,
    h('span.muted', `${num(from)}–${num(to)} of ${num(res.hits || to)}`),
    h('div.pager',
      h('button.btn.btn-sm', {
        type: 'button', disabled: !res.link.previous?.results, onclick: () => nav({ cursor: res.link.previous.cursor }),
      }, '← Previous'),
      h('button.btn.btn-sm', {
        type: 'button', disabled: !res.link.next?.results, onclick: () => nav({ cursor: res.link.next.cursor }),
      }, 'Next →')));
}
