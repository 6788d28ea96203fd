// Countersign reviewers' console: plain DOM code over the REST API; no build step.
'use strict';

const TOKEN_KEY = 'countersign.token';
// csrf is set when signed in with the identity provider: the session cookie authenticates, and every
// request echoes the session's CSRF token in a header that another site's page could not set
const state = { tab: 'pending', pending: [], stream: null, reloadTimer: null, csrf: null };
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function authHeaders() {
  if (state.csrf) return { 'X-CSRF-Token': state.csrf };
  return { 'Authorization': 'Bearer ' + token() };
}

async function api(method, path, body) {
  const headers = Object.assign({ 'X-Countersign-Channel': 'console' }, authHeaders());
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error(json && json.error ? json.error : ('HTTP ' + resp.status));
    err.status = resp.status;
    throw err;
  }
  return json;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function say(text, bad) {
  const m = $('message');
  m.textContent = text;
  m.className = 'message' + (bad ? ' bad' : '');
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { m.textContent = ''; }, 6000);
}

// ---- SQL highlighting with sensitive columns marked

const KEYWORDS = new Set(('select from where and or not in is null as join left right inner outer full on group by order ' +
  'having limit offset insert into values update set delete returning with union all distinct case when then else end ' +
  'create drop alter table index grant revoke to truncate copy begin commit rollback like between exists cast ' +
  'asc desc view role user function procedure execute primary key references default').split(' '));

function highlight(sql, sensitive) {
  const names = new Set();
  for (const c of sensitive || []) {
    const parts = c.toLowerCase().split('.');
    names.add(parts[parts.length - 1]);
  }
  const out = document.createDocumentFragment();
  const re = /('(?:[^']|'')*')|(--[^\n]*)|("(?:[^"]|"")*")|(\$\d+|\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)|(\s+|.)/g;
  let m;
  while ((m = re.exec(sql)) !== null) {
    const [text, str, cmt, quoted, num, word] = m;
    if (str) out.append(el('span', { class: 'str' }, text));
    else if (cmt) out.append(el('span', { class: 'cmt' }, text));
    else if (num) out.append(el('span', { class: 'num' }, text));
    else if (quoted || word) {
      const bare = (quoted ? text.slice(1, -1) : text).toLowerCase();
      if (names.has(bare)) out.append(el('mark', { class: 'sensitive', title: 'sensitive column' }, text));
      else if (word && KEYWORDS.has(bare)) out.append(el('span', { class: 'kw' }, text));
      else out.append(text);
    } else out.append(text);
  }
  return out;
}

function age(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
}

// ---- pending queue

function pendingCard(r) {
  const comment = el('textarea', { placeholder: 'comment (required to deny)', 'data-role': 'comment' });
  const hours = el('input', { type: 'number', min: '1', max: '168', value: '4', title: 'hours' });
  const approve = el('button', { type: 'button', class: 'approve', 'data-action': 'approve' }, 'Approve');
  const deny = el('button', { type: 'button', class: 'deny', 'data-action': 'deny' }, 'Deny');
  const grant = el('button', { type: 'button', 'data-action': 'grant', title: 'approve and let this agent run this statement shape' },
    'Grant shape for');
  const buttons = [approve, deny, grant];
  const act = async (what) => {
    buttons.forEach((b) => { b.disabled = true; });
    try {
      if (what === 'grant') {
        await api('POST', '/api/requests/' + r.id + '/grant', { hours: Number(hours.value) });
        say('Granted ' + r.agent + ' this statement shape for ' + hours.value + ' h');
      } else {
        const text = comment.value.trim();
        if (what === 'deny' && !text) { say('Write a comment to deny: the agent owner reads it.', true); return; }
        await api('POST', '/api/requests/' + r.id + '/' + what, { comment: text });
        say((what === 'approve' ? 'Approved ' : 'Denied ') + r.id);
      }
      scheduleReload();
    } catch (e) {
      say(e.message, true);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  approve.addEventListener('click', () => act('approve'));
  deny.addEventListener('click', () => act('deny'));
  grant.addEventListener('click', () => act('grant'));

  const params = r.parameters.length === 0 ? null : el('div', { class: 'params' },
    'parameters: ', r.parameters.map((p, i) => '$' + (i + 1) + ' = ' + (p === null ? 'NULL' : p)).join(', '));
  return el('article', { class: 'card', 'data-request-id': r.id },
    el('div', { class: 'head' },
      el('span', { class: 'tier tier-' + r.tier }, r.tier),
      el('strong', {}, r.agent),
      el('span', { class: 'meta' }, 'on ' + r.database + (r.clientAddress ? ' from ' + r.clientAddress : '')),
      el('span', { class: 'meta age', 'data-created': r.created }, 'waiting ' + age(r.created)),
      el('span', { class: 'meta' }, 'approvals ' + r.approvals + '/' + r.quorum + ' from ' + r.reviewerGroup),
      el('span', { class: 'id' }, r.id)),
    el('div', { class: 'sql' }, highlight(r.sql, r.sensitiveColumns)),
    params,
    el('ul', { class: 'reasons' }, ...r.reasons.map((x) => el('li', {}, x))),
    el('div', { class: 'meta' }, 'rule ' + r.rule + ' · owner ' + (r.owner || 'none') + ' · expires ' +
      new Date(r.expires).toLocaleTimeString() + (r.ticket ? ' · ticket mode' : '')),
    el('div', { class: 'actions' }, comment, approve, deny, grant, hours, el('span', { class: 'meta' }, 'hours')));
}

async function loadPending() {
  const list = await api('GET', '/api/requests?state=pending&limit=500');
  state.pending = list;
  $('pending-count').textContent = String(list.length);
  const box = $('pending-list');
  // keep what a reviewer is typing: reuse cards of requests still pending, in the new order
  const existing = new Map([...box.children].map((c) => [c.getAttribute('data-request-id'), c]));
  const cards = list.slice().reverse().map((r) => {
    const old = existing.get(r.id);
    if (old && old.getAttribute('data-version') === String(r.version)) return old;
    const card = pendingCard(r);
    card.setAttribute('data-version', String(r.version));
    if (old) card.querySelector('textarea').value = old.querySelector('textarea').value;
    return card;
  });
  box.replaceChildren(...cards);
  $('pending-empty').hidden = list.length > 0;
  focusLinked();
}

// the held notice links to /console/#<request id>: bring that request into view once
function focusLinked() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id || state.focused === id) return;
  const card = document.querySelector('article[data-request-id="' + CSS.escape(id) + '"]');
  if (card) {
    state.focused = id;
    card.classList.add('focus');
    card.scrollIntoView({ block: 'center' });
  }
}

// ---- history and grants

async function loadHistory() {
  const params = new URLSearchParams({ state: $('filter-state').value, limit: $('filter-limit').value || '100' });
  if ($('filter-agent').value.trim()) params.set('agent', $('filter-agent').value.trim());
  const list = await api('GET', '/api/requests?' + params);
  $('history-rows').replaceChildren(...list.map((r) => el('tr', { 'data-request-id': r.id },
    el('td', { class: 'id' }, r.id),
    el('td', {}, r.state + (r.stateReason ? ' — ' + r.stateReason : '')),
    el('td', {}, r.agent), el('td', {}, r.database),
    el('td', {}, el('span', { class: 'tier tier-' + r.tier }, r.tier)),
    el('td', {}, new Date(r.created).toLocaleString()),
    el('td', { title: r.decisions.map((d) => d.reviewer + ' signed in with ' + (d.auth || 'unrecorded')).join('; ') },
      r.decisions.map((d) => d.reviewer + ' ' + d.verdict + ' via ' + d.channel + (d.comment ? ': ' + d.comment : '')).join('; ')),
    el('td', { class: 'sqlcell', title: r.sql }, r.sql))));
}

async function loadGrants() {
  const list = await api('GET', '/api/grants?active=' + !$('grants-all').checked);
  $('grant-rows').replaceChildren(...list.map((g) => {
    const revoke = el('button', { type: 'button' }, 'Revoke');
    revoke.disabled = !g.active;
    revoke.addEventListener('click', async () => {
      try { await api('DELETE', '/api/grants/' + g.id); say('Revoked ' + g.id); scheduleReload(); }
      catch (e) { say(e.message, true); }
    });
    const status = g.revoked ? 'revoked by ' + g.revokedBy : (g.active ? 'active' : 'expired');
    return el('tr', { 'data-grant-id': g.id },
      el('td', { class: 'id' }, g.id), el('td', {}, g.agent), el('td', {}, g.database),
      el('td', { class: 'sqlcell', title: g.fingerprint }, g.fingerprint), el('td', {}, g.createdBy),
      el('td', {}, new Date(g.expires).toLocaleString()), el('td', {}, status), el('td', {}, revoke));
  }));
}

async function reload() {
  try {
    await loadPending();
    if (state.tab === 'history') await loadHistory();
    if (state.tab === 'grants') await loadGrants();
    if (state.tab === 'tokens') await loadTokens();
  } catch (e) {
    if (e.status === 401) { signOut((state.csrf ? 'Your session ended: ' : 'Your token was refused: ') + e.message); return; }
    say(e.message, true);
  }
}

function scheduleReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(reload, 100);
}

// ---- live updates: server-sent events read through fetch, so the token travels in a header, not the URL

async function listen() {
  const controller = new AbortController();
  state.stream = controller;
  try {
    const resp = await fetch('/api/events', { headers: authHeaders(), signal: controller.signal });
    if (!resp.ok) throw new Error('HTTP ' + resp.status);
    $('live').className = 'live on';
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (chunk.split('\n').some((l) => l.startsWith('data: '))) scheduleReload();
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  $('live').className = 'live off';
  if (state.stream === controller && (token() || state.csrf)) setTimeout(() => { if (state.stream === controller) { listen(); reload(); } }, 2000);
}

// ---- personal access tokens (signed in with the identity provider only)

async function loadTokens() {
  const list = await api('GET', '/api/tokens');
  $('token-rows').replaceChildren(...list.map((t) => {
    const revoke = el('button', { type: 'button' }, 'Revoke');
    revoke.disabled = !!t.revoked || Date.parse(t.expires) < Date.now();
    revoke.addEventListener('click', async () => {
      try { await api('DELETE', '/api/tokens/' + t.id); say('Revoked ' + t.id); loadTokens(); } catch (e) { say(e.message, true); }
    });
    const status = t.revoked ? 'revoked' : (Date.parse(t.expires) < Date.now() ? 'expired' : 'active');
    return el('tr', { 'data-token-id': t.id }, el('td', { class: 'id' }, t.id), el('td', {}, t.label),
      el('td', {}, new Date(t.created).toLocaleString()), el('td', {}, new Date(t.expires).toLocaleString()),
      el('td', {}, status), el('td', {}, revoke));
  }));
}

async function mintToken() {
  try {
    const t = await api('POST', '/api/tokens', { label: $('token-label').value.trim() || 'cli', days: Number($('token-days').value) });
    $('token-value').textContent = t.token;
    $('token-new').hidden = false;
    loadTokens();
  } catch (e) { say(e.message, true); }
}

// ---- sign-in and tabs

function show(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== tab;
  reload();
}

async function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
  try {
    const me = await api('GET', '/api/me');
    $('me').textContent = me.name + ' (' + me.groups.join(', ') + ')';
  } catch (e) {
    signOut(e.message);
    return;
  }
  enter();
}

// signed in with the identity provider: the HttpOnly cookie travels by itself, the CSRF token in a header
function enterSession(session) {
  state.csrf = session.csrf;
  $('me').textContent = session.name + ' (' + session.groups.join(', ') + ')';
  $('tokens-tab').hidden = false;
  enter();
}

function enter() {
  $('sign-in').hidden = true;
  $('tabs').hidden = false;
  $('sign-out').hidden = false;
  show(state.tab);
  listen();
}

async function signOutEverywhere() {
  if (!state.csrf) { signOut(''); return; }
  try {
    const r = await api('POST', '/auth/logout');
    state.csrf = null;
    location.assign(r.redirect || '/console/');
  } catch (e) {
    state.csrf = null;
    signOut(e.message);
  }
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.csrf = null;
  $('tokens-tab').hidden = true;
  if (state.stream) { const s = state.stream; state.stream = null; s.abort(); }
  $('sign-in').hidden = false;
  $('tabs').hidden = true;
  $('sign-out').hidden = true;
  $('me').textContent = '';
  for (const s of document.querySelectorAll('section.tab')) s.hidden = true;
  $('sign-in-error').textContent = why || '';
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); });
  $('sign-out').addEventListener('click', () => signOutEverywhere());
  $('token-form').addEventListener('submit', (e) => { e.preventDefault(); mintToken(); });
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => show(b.dataset.tab));
  $('history-filters').addEventListener('submit', (e) => { e.preventDefault(); loadHistory().catch((x) => say(x.message, true)); });
  $('grants-all').addEventListener('change', () => loadGrants().catch((x) => say(x.message, true)));
  setInterval(() => { for (const a of document.querySelectorAll('.age')) a.textContent = 'waiting ' + age(a.dataset.created); }, 1000);
  if (token()) { signIn(token()); return; }
  // with OIDC configured the server answers /auth/session; without it, the token form is all there is
  fetch('/auth/session').then((r) => (r.ok ? r.json() : null)).then((s) => {
    if (!s || !s.oidc) return;
    $('sso-login').href = '/auth/login?return=' + encodeURIComponent('/console/' + location.hash);
    $('sso').hidden = false;
    if (s.signedIn) enterSession(s);
  }).catch(() => { /* no OIDC */ });
});
