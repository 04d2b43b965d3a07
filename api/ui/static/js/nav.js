// Hash routes (#/issues?project=backend, #/issues/12, #/projects,
// #/metrics) and what the views share: the project list and the token that
// tells a view whether the user has moved on.

import { sentry } from './api.js';

// route is the current hash split into a path and its parameters.
export function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, q = ''] = raw.split('?');
  return { path: path.replace(/\/+$/, '') || '/', params: new URLSearchParams(q) };
}

// link returns the hash href of path with params. Empty ones are left
// out, but for "query", where empty (all issues) differs from absent (the
// default search).
export function link(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && (v !== '' || k === 'query')) q.set(k, v);
  }
  return '#' + path + (q.toString() ? '?' + q : '');
}

let rerender = () => {};

// onNavigate sets what go calls when the hash does not change.
export function onNavigate(f) {
  rerender = f;
}

// go navigates to path with params.
export function go(path, params = {}) {
  const hash = link(path, params);
  if (location.hash === hash) rerender();
  else location.hash = hash;
}

let current = 0;

// begin starts a render and returns its token.
export const begin = () => ++current;

// isCurrent reports whether the render of token is still the latest: a view
// whose data arrives after the user moved on draws nothing.
export const isCurrent = (token) => token === current;

let projectsCache = null;

// projects returns the projects, fetched once per page load.
export function projects() {
  projectsCache ??= sentry.projects().then((p) => p || []).catch((err) => {
    projectsCache = null;
    throw err;
  });
  return projectsCache;
}
