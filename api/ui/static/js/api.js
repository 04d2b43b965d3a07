// Calls to Telltale's own JSON APIs (/api/0/ and /api/v1/), with the
// session cookie and, on a change, the session's CSRF token.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') || '';

// org is the organization slug of /api/0/ paths.
export const org = meta('telltale-org') || 'main';
const csrf = meta('csrf-token');

// APIError is a failed call, with its status and the server's detail.
export class APIError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

// call sends one request and returns {data, headers}. A 401 (the session
// ended) sends the browser to the sign-in form.
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    location.assign('/auth/login' + (location.hash.startsWith('#/') ? location.hash : ''));
    throw new APIError(401, 'signed out');
  }
  let data = null;
  const text = res.status === 204 ? '' : await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new APIError(res.status, data?.detail || data?.error || res.statusText);
  return { data, headers: res.headers };
}

// get returns the JSON answer of a GET.
export async function get(path, params) {
  return (await call('GET', path + query(params))).data;
}

// query renders params (an object; array values repeat the key) as a
// query string, "" when empty.
export function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  }
  const out = q.toString();
  return out ? '?' + out : '';
}

// parseLink reads Sentry's Link header into {previous, next}, each
// {cursor, results}.
export function parseLink(header) {
  const out = {};
  for (const part of (header || '').split(/,\s*(?=<)/)) {
    const rel = /rel="([^"]+)"/.exec(part)?.[1];
    if (!rel) continue;
    out[rel] = {
      cursor: /cursor="([^"]*)"/.exec(part)?.[1] || '',
      results: /results="true"/.test(part),
    };
  }
  return out;
}

// Sentry web API subset.
export const sentry = {
  projects: () => get(`/api/0/organizations/${org}/projects/`),
  async issues(project, params) {
    const { data, headers } = await call('GET', `/api/0/projects/${org}/${encodeURIComponent(project)}/issues/` + query(params));
    return { issues: data || [], link: parseLink(headers.get('Link')), hits: Number(headers.get('X-Hits') || 0) };
  },
  issue: (id) => get(`/api/0/issues/${id}/`),
  setStatus: async (id, status) => (await call('PUT', `/api/0/issues/${id}/`, { status })).data,
  remove: (id) => call('DELETE', `/api/0/issues/${id}/`),
  latest: (id) => get(`/api/0/issues/${id}/events/latest/`),
  tags: (id) => get(`/api/0/issues/${id}/tags/`),
  async events(id, params) {
    const { data, headers } = await call('GET', `/api/0/issues/${id}/events/` + query(params));
    return { events: data || [], link: parseLink(headers.get('Link')) };
  },
  event: (project, id) => get(`/api/0/projects/${org}/${encodeURIComponent(project)}/events/${id}/`),
};

// Prometheus query API. Its answers are {status, data}.
async function prom(path, params) {
  const body = await get(path, params);
  return body?.data;
}

export const metrics = {
  names: () => prom('/api/v1/label/__name__/values'),
  series: (match, start, end) => prom('/api/v1/series', { 'match[]': match, start, end }),
  range: (q, start, end, step) => prom('/api/v1/query_range', { query: q, start, end, step }),
};
