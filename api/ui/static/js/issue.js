// The issue page: what happened, how often, to whom, the stack trace of
// the latest (or a chosen) event, its breadcrumbs, request, user and
// contexts, the tags, the events and the grouping that made the issue.

import { h, mount, num, time, when, pick, kvTable, pretty, toast, icon } from './dom.js';
import { sentry } from './api.js';
import { bars } from './chart.js';
import { isCurrent, go, link, route } from './nav.js';
import { issueTitle, statusBadges } from './issues.js';

const EVENTS_PAGE = 20;

export async function issueView(main, id, params, token) {
  const [issue, tags] = await Promise.all([sentry.issue(id), sentry.tags(id).catch(() => [])]);
  if (!isCurrent(token)) return;
  const project = issue.project?.slug;
  document.title = `${issue.shortId}: ${issue.title} · Telltale`;
  const period = params.get('stats') === '14d' ? '14d' : '24h';
  const eventID = params.get('event');
  const eventSlot = h('div.card', h('p.loading', 'Loading the event…'));
  const eventsSlot = h('div.card', h('p.loading', 'Loading events…'));

  mount(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' },
      h('a', { href: link('/issues', { project }) }, 'Issues'),
      h('span.sep', '/'),
      h('a', { href: link('/issues', { project }) }, issue.project?.name || project),
      h('span.sep', '/'),
      h('span', issue.shortId)),
    header(issue, period, id),
    h('div.layout',
      h('div', eventSlot, eventsSlot),
      h('aside', { 'aria-label': 'Issue details' }, tagsCard(tags), groupingCard(issue.grouping))));

  const [ev, evs] = await Promise.all([
    (eventID ? sentry.event(project, eventID) : sentry.latest(id)).catch((err) => err),
    sentry.events(id, { limit: EVENTS_PAGE, cursor: params.get('ecursor') || undefined }).catch((err) => err),
  ]);
  if (!isCurrent(token)) return;
  mount(eventSlot, ev instanceof Error ? h('div.card-body', h('div.alert.alert-error', ev.message)) : eventCard(ev, !eventID));
  mount(eventsSlot, evs instanceof Error ? h('div.card-body', h('div.alert.alert-error', evs.message)) : eventsCard(evs, ev?.id, params));
}

// header is the issue's title, badges, actions and counts.
function header(is, period, id) {
  const actions = h('div.actions');
  const act = (label, status, primary, ico) => h(primary ? 'button.btn.btn-primary' : 'button.btn', {
    type: 'button', 'data-action': status,
    onclick: async (ev) => {
      const button = ev.currentTarget;
      button.disabled = true;
      try {
        await sentry.setStatus(id, status);
        toast({ resolved: 'Issue resolved', ignored: 'Issue ignored', unresolved: 'Issue reopened' }[status]);
        go(route().path, Object.fromEntries(route().params));
      } catch (err) {
        toast(err.message, true);
        button.disabled = false;
      }
    },
  }, icon(ico), label);
  if (is.status === 'unresolved') actions.append(act('Resolve', 'resolved', true, 'check'), act('Ignore', 'ignored', false, 'eye'));
  else actions.append(act('Reopen', 'unresolved', true, 'undo'), is.status === 'ignored' ? act('Resolve', 'resolved', false, 'check') : '');
  actions.append(h('button.btn.btn-ghost', {
    type: 'button', 'data-action': 'delete', title: 'Delete the issue and its events',
    onclick: async (ev) => {
      if (!confirm(`Delete ${is.shortId} and its ${is.count} events? This cannot be undone.`)) return;
      const button = ev.currentTarget;
      button.disabled = true;
      try {
        await sentry.remove(id);
        toast('Issue deleted');
        go('/issues', { project: is.project?.slug });
      } catch (err) {
        toast(err.message, true);
        button.disabled = false;
      }
    },
  }, icon('trash'), 'Delete'));

  const stats = (is.stats || {})[period] || [];
  const params = Object.fromEntries(route().params);
  const toggle = h('span.btn-group', { role: 'group', 'aria-label': 'Chart period' },
    ['24h', '14d'].map((p) => h('a.btn.btn-sm', {
      href: link(route().path, { ...params, stats: p === '24h' ? '' : p }), 'aria-pressed': String(p === period),
    }, p)));
  const total = stats.reduce((a, p) => a + p[1], 0);
  return h('section.card', { 'aria-labelledby': 'issue-title' },
    h('div.issue-head',
      h('div.head-row',
        h('div', { style: { minWidth: 0, flex: '1 1 400px' } },
          h('h1', { id: 'issue-title' }, issueTitle(is)),
          is.culprit ? h('div.culprit', is.culprit) : null),
        actions),
      h('div.badges',
        h('span.level', { class: `level-${is.level}` }, is.level),
        statusBadges(is),
        is.platform ? h('span.badge', is.platform) : null,
        h('span.faint', is.shortId))),
    h('div.stats',
      stat('Events', num(is.count), `${is.count} in total`),
      stat('Users', num(is.userCount), 'distinct users'),
      stat('First seen', time(is.firstSeen), when(is.firstSeen), true),
      stat('Last seen', time(is.lastSeen), when(is.lastSeen), true),
      h('div.stat.stat-chart',
        h('div.top', h('div.label', `Events · last ${period === '24h' ? '24 hours' : '14 days'} · ${num(total)}`), toggle),
        bars(stats, { w: 400, ht: 44, cls: 'bars', step: period === '14d' ? 86400 : 3600 }))));
}

function stat(label, value, hint, small) {
  return h('div.stat', h('div.label', label), h('div.value', { class: small ? 'small' : null }, value), h('div.hint', hint));
}

// eventCard shows one event: its exception or message, breadcrumbs,
// request, user, tags, contexts and extra data.
function eventCard(ev, latest) {
  const entries = Object.fromEntries((ev.entries || []).map((e) => [e.type, e.data]));
  const sections = [];
  if (entries.exception) sections.push(section('Exception', exceptions(entries.exception.values || [])));
  if (entries.message && (entries.message.formatted || entries.message.message)) {
    sections.push(section('Message', h('pre.exc-value.mono', entries.message.formatted || entries.message.message)));
  }
  if (entries.threads && !entries.exception) sections.push(section('Threads', threads(entries.threads.values || [])));
  if (entries.breadcrumbs) sections.push(section('Breadcrumbs', breadcrumbs(entries.breadcrumbs.values || [])));
  if (entries.request) sections.push(section('Request', request(entries.request)));
  const user = ev.user && Object.values(ev.user).some((v) => v && v !== 'null') ? ev.user : null;
  if (user) {
    sections.push(section('User', kvTable({
      id: pick(user, 'ID', 'id'), email: pick(user, 'Email', 'email'), username: pick(user, 'Username', 'username'),
      ip_address: pick(user, 'IPAddress', 'ip_address'), ...(typeof (user.Data ?? user.data) === 'object' ? (user.Data ?? user.data) : {}),
    })));
  }
  if (ev.tags?.length) sections.push(section('Tags', h('div.chips', ev.tags.map((t) => h('span.chip', h('span', t.key), h('span', t.value))))));
  const ctx = Object.entries(ev.contexts || {}).filter(([, v]) => v && typeof v === 'object');
  if (ctx.length) sections.push(section('Contexts', h('div.ctx-grid', ctx.map(([k, v]) => h('div', h('h3', k), kvTable(v))))));
  if (ev.extra && Object.keys(ev.extra).length) sections.push(section('Additional data', kvTable(ev.extra)));

  return [
    h('div.section-title',
      h('h2', latest ? 'Latest event' : 'Event'),
      h('div.event-meta',
        h('span.mono', { title: ev.id }, ev.id.slice(0, 12)),
        time(ev.dateCreated),
        ev.release ? h('span', 'release ', h('span.mono', ev.release)) : null,
        ev.environment ? h('span', 'env ', h('span.mono', ev.environment)) : null,
        !latest ? h('a', { href: link(route().path) }, 'Show latest') : null)),
    sections.length ? sections : h('div.card-body.muted', 'This event carries no details.'),
  ];
}

function section(name, ...content) {
  return h('section.section.card-body', { 'aria-label': name }, h('h3', { style: { marginBottom: '10px' } }, name), content);
}

// exceptions renders a chain, outermost first, as Sentry shows it.
function exceptions(values) {
  return [...values].reverse().map((ex) => {
    const handled = ex.mechanism?.handled;
    return h('div.exception',
      h('div.exc-type', ex.type || 'Error'),
      ex.value ? h('div.exc-value', ex.value) : null,
      h('div.exc-mech',
        ex.mechanism?.type ? h('span.badge', `mechanism: ${ex.mechanism.type}`) : null,
        handled === false ? h('span.badge.badge-unhandled', 'unhandled') : handled === true ? h('span.badge', 'handled') : null,
        ex.module ? h('span.badge', ex.module) : null),
      stacktrace(ex.stacktrace?.frames || []));
  });
}

function threads(values) {
  return values.filter((t) => (t.Frames || t.frames || []).length).map((t) => h('div.exception',
    h('div.exc-type', `Thread ${pick(t, 'Name', 'name') || pick(t, 'ID', 'id') || ''}`, pick(t, 'Crashed', 'crashed') ? ' (crashed)' : ''),
    stacktrace(t.Frames || t.frames || [])));
}

const inApp = (f) => f.in_app === true;

// stacktrace lists frames most recent first: in-app frames open with their
// context, runs of system frames folded behind one line.
function stacktrace(frames) {
  if (!frames.length) return null;
  const list = [...frames].reverse();
  const anyApp = list.some(inApp);
  const out = h('div.frames');
  let run = [];
  const flush = () => {
    if (!run.length) return;
    if (!anyApp) {
      run.forEach((f, i) => out.append(frame(f, i === 0)));
    } else {
      const n = run.length;
      const label = (open) => `${open ? 'Hide' : 'Show'} ${n} system frame${n === 1 ? '' : 's'}`;
      const summary = h('summary', label(false));
      const d = h('details.sysframes', summary);
      d.addEventListener('toggle', () => { summary.textContent = label(d.open); });
      for (const f of run) d.append(frame(f, false));
      out.append(d);
    }
    run = [];
  };
  for (const f of list) {
    if (inApp(f)) {
      flush();
      out.append(frame(f, true));
    } else {
      run.push(f);
    }
  }
  flush();
  return [h('p.trace-note', 'Most recent call first'), out];
}

function frame(f, open) {
  const file = f.filename || f.abs_path || f.module || '';
  const where = [
    h('span.fn', f.function || '?'),
    file ? [h('span.at', 'in'), h('span.file', file)] : null,
    f.lineno ? [h('span.at', 'at line'), h('span.file', f.colno ? `${f.lineno}:${f.colno}` : String(f.lineno))] : null,
    inApp(f) ? h('span.tag-app', 'In app') : null,
  ];
  const cls = inApp(f) ? 'in-app' : 'system';
  const ctx = context(f);
  const vars = f.vars && typeof f.vars === 'object' && Object.keys(f.vars).length
    ? h('div.vars', h('div.vars-title', 'Local variables'), kvTable(f.vars)) : null;
  if (!ctx && !vars) return h('div.frame', { class: cls }, h('div.frame-line', where));
  return h('details.frame', { class: cls, open }, h('summary', where), ctx, vars);
}

function context(f) {
  if (!f.context_line && !(f.pre_context || []).length) return null;
  const pre = f.pre_context || [];
  const post = f.post_context || [];
  const start = (f.lineno || pre.length + 1) - pre.length;
  const line = (no, code, hit) => h('div.ln', { class: hit ? 'hit' : null }, h('span.no', no > 0 ? String(no) : ''), h('span.code', code || ' '));
  return h('div.context', { role: 'region', 'aria-label': 'Source context' },
    pre.map((c, i) => line(start + i, c, false)),
    line(f.lineno || 0, f.context_line || '', true),
    post.map((c, i) => line((f.lineno || 0) + 1 + i, c, false)));
}

function breadcrumbs(values) {
  if (!values.length) return h('p.muted', 'None.');
  const rows = [...values].reverse().slice(0, 100);
  return h('div.kv-wrap', h('table.crumb-list',
    h('thead', h('tr', h('th', 'Time'), h('th', 'Category'), h('th', 'Message'), h('th', 'Level'))),
    h('tbody', rows.map((b) => {
      const data = pick(b, 'Data', 'data');
      const ts = pick(b, 'Timestamp', 'timestamp');
      return h('tr',
        h('td.t', ts ? h('time', { datetime: ts, title: when(ts) }, new Date(ts).toLocaleTimeString()) : ''),
        h('td.cat', pick(b, 'Category', 'category') || pick(b, 'Type', 'type') || 'default'),
        h('td.msg', pick(b, 'Message', 'message') || '', data && typeof data === 'object' && Object.keys(data).length ? h('span.data', pretty(data)) : null),
        h('td', h('span.level', { class: `level-${pick(b, 'Level', 'level') || 'info'}` }, pick(b, 'Level', 'level') || 'info')));
    }))));
}

function request(r) {
  const headers = (pick(r, 'Headers', 'headers') || []).map((x) => Array.isArray(x) ? x : [pick(x, 'Key', 'key'), pick(x, 'Value', 'value')]);
  const data = pick(r, 'Data', 'data');
  const url = pick(r, 'URL', 'url') || '';
  const qs = pick(r, 'QueryString', 'query_string') ||
    (Array.isArray(r.query) ? r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '');
  return [
    h('p.mono', { style: { marginBottom: '10px', wordBreak: 'break-all' } }, h('strong', pick(r, 'Method', 'method') || 'GET'), ' ', url, qs ? '?' + qs : ''),
    headers.length ? kvTable(Object.fromEntries(headers)) : null,
    data !== undefined && data !== null ? h('div', { style: { marginTop: '10px' } }, h('h3', { style: { marginBottom: '6px' } }, 'Body'), typeof data === 'object' ? kvTable(data) : h('pre.mono', pretty(data))) : null,
  ];
}

function tagsCard(tags) {
  return h('section.card', { 'aria-labelledby': 'tags-title' },
    h('div.section-title', h('h2', { id: 'tags-title' }, 'Tags')),
    h('div.card-body', !tags?.length ? h('p.muted', 'No tags.') : h('div.tagbars', tags.map((t) => {
      const total = Number(t.totalValues) || 1;
      return h('div.tagbar',
        h('h3', t.key, h('span.faint', `${num(t.uniqueValues)} value${t.uniqueValues === 1 ? '' : 's'}`)),
        (t.topValues || []).slice(0, 5).map((v) => {
          const pct = Math.round((Number(v.count) / total) * 100);
          return h('div.tv', { title: `${v.value}: ${v.count} of ${total} events` },
            h('span.fill', { style: { width: `${Math.max(pct, 1)}%` } }),
            h('span.name', v.value || '(empty)'),
            h('span.pct', `${pct}%`));
        }));
    }))));
}

function groupingCard(g) {
  if (!g) return null;
  const comps = g.components || [];
  return h('section.card', { 'aria-labelledby': 'grouping-title', style: { marginTop: '16px' } },
    h('div.section-title', h('h2', { id: 'grouping-title' }, 'Grouping')),
    h('div.card-body',
      h('p.muted', { style: { fontSize: '12.5px', marginBottom: '10px' } }, 'Events join this issue when these components give the same hash.'),
      h('dl.dl',
        h('dt', 'Variant'), h('dd', [g.variant, g.kind && g.kind !== 'default' ? `(${g.kind})` : ''].filter(Boolean).join(' ') || '—'),
        h('dt', 'Config'), h('dd', g.config || '—'),
        h('dt', 'Hash'), h('dd', g.hash || '—')),
      comps.length ? h('ul.components', comps.map((c) => h('li', { class: c.contributes ? null : 'off' },
        h('div.cid', c.contributes ? '✓ ' : '✕ ', c.id),
        (c.values || []).length ? h('div.vals', c.values.join(' · ')) : null,
        c.hint ? h('div.hint', c.hint) : null))) : null));
}

function eventsCard(res, shown, params) {
  const base = Object.fromEntries(params);
  const rows = res.events.map((e) => {
    const user = e.user ? pick(e.user, 'Email', 'email', 'Username', 'username', 'ID', 'id', 'IPAddress', 'ip_address') : '';
    return h('tr', { class: e.id === shown ? 'current' : null },
      h('td', h('a.mono', { href: link(route().path, { ...base, event: e.id }) }, e.id.slice(0, 12))),
      h('td', time(e.dateCreated)),
      h('td.mono', e.release || '—'),
      h('td', e.environment || '—'),
      h('td', user || '—'));
  });
  const next = res.link.next;
  return [
    h('div.section-title', h('h2', 'Events'), h('span.faint', `${res.events.length} shown`)),
    rows.length
      ? h('div', { style: { overflowX: 'auto' } }, h('table.table',
        h('thead', h('tr', h('th', 'Event'), h('th', 'When'), h('th', 'Release'), h('th', 'Environment'), h('th', 'User'))),
        h('tbody', rows)))
      : h('div.card-body.muted', 'No events.'),
    base.ecursor || next?.results ? h('div.card-foot',
      base.ecursor ? h('a.btn.btn-sm', { href: link(route().path, { ...base, ecursor: '' }) }, '← Newest') : h('span'),
      next?.results ? h('a.btn.btn-sm', { href: link(route().path, { ...base, ecursor: next.cursor }) }, 'Older →') : h('span')) : null,
  ];
}
