// The app: renders the view of the current hash route into <main>.

import { h, mount } from './dom.js';
import { route, begin, isCurrent, onNavigate } from './nav.js';
import { projectsView } from './projects.js';
import { issuesView } from './issues.js';
import { issueView } from './issue.js';
import { metricsView } from './metrics.js';

const main = document.getElementById('main');

async function render() {
  const token = begin();
  const { path, params } = route();
  const parts = path.split('/').filter(Boolean);
  let view, nav;
  if (parts[0] === 'issues' && parts[1]) {
    [view, nav] = [() => issueView(main, parts[1], params, token), 'issues'];
  } else if (parts[0] === 'issues' || parts.length === 0) {
    [view, nav] = [() => issuesView(main, params, token), 'issues'];
  } else if (parts[0] === 'projects') {
    [view, nav] = [() => projectsView(main, token), 'projects'];
  } else if (parts[0] === 'metrics') {
    [view, nav] = [() => metricsView(main, params, token), 'metrics'];
  } else {
    view = () => mount(main, h('div.card', h('div.empty', h('h2', 'Page not found'), h('p', h('a', { href: '#/' }, 'Go to the issues')))));
  }
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    await view();
  } catch (err) {
    if (!isCurrent(token) || err.status === 401) return;
    mount(main, h('div.card', h('div.empty', h('h2', 'Something went wrong'), h('p.muted', err.message || String(err)))));
  }
}

let lastPath = route().path;
window.addEventListener('hashchange', async () => {
  if (location.hash && !location.hash.startsWith('#/')) return; // not a route
  const { path } = route();
  const moved = path !== lastPath;
  lastPath = path;
  await render();
  if (moved) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
});

// "/" focuses the page's search box, as in most products.
document.addEventListener('keydown', (ev) => {
  if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target.closest?.('input, textarea, select, [contenteditable]')) return;
  const box = main.querySelector('input[type=search]');
  if (box) {
    ev.preventDefault();
    box.focus();
    box.select();
  }
});

onNavigate(render);
render();
