// Countersign usage page: per agent, per table, and a chart of statements and rows over time,
// drawn as inline SVG by plain DOM code over /api/usage (no libraries, no build step).
'use strict';

const TOKEN_KEY = 'countersign.token'; // shared with the approvals console (same tab, same origin)
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function load() {
  const params = new URLSearchParams({ since: $('since').value, bucket: $('bucket').value });
  const resp = await fetch('/api/usage?' + params, { headers: { 'Authorization': 'Bearer ' + token() } });
  const body = await resp.json().catch(() => ({ error: 'HTTP ' + resp.status }));
  if (resp.status === 401) { signedOut(body.error); return; }
  if (!resp.ok) { $('usage-error').textContent = body.error || ('HTTP ' + resp.status); return; }
  $('usage-error').textContent = '';
  $('sign-in').hidden = true;
  $('usage').hidden = false;
  $('me').textContent = body.reviewer;
  $('range').textContent = body.since.replace('T', ' ').slice(0, 16) + ' to ' + body.until.replace('T', ' ').slice(0, 16) + ' UTC';
  fill('agents', body.agents, (r) => [cell(r.agent, 'agent'), num(r.statements), num(r.rows_read), num(r.rows_written), num(r.tables), time(r.first_seen), time(r.last_seen)], 'agent');
  fill('tables', body.tables, (r) => [cell(r.table, 'table'), num(r.statements), num(r.rows_read), num(r.rows_written), cell(r.agents.join(', '))], 'table');
  fill('usage-rows', body.usage, (r) => [cell(r.agent), cell(r.table), num(r.statements), num(r.rows_read), num(r.rows_written), time(r.first_seen), time(r.last_seen)]);
  chart(slots(body.timeline, body.bucket, body.since, body.until), body.bucket);
}

// Every bucket of the window, empty ones included, so the x axis is time (sparse points when there would be too many).
function slots(points, bucket, since, until) {
  const step = bucket === 'day' ? 86400000 : 3600000;
  const start = Math.floor(Date.parse(since) / step) * step;
  const end = Date.parse(until);
  if ((end - start) / step > 400) return points;
  const byTime = new Map(points.map((p) => [Date.parse(p.bucket), p]));
  const out = [];
  for (let t = start; t < end; t += step) {
    out.push(byTime.get(t) || { bucket: new Date(t).toISOString(), statements: 0, rows_read: 0, rows_written: 0 });
  }
  return out;
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}
function num(n) { const td = cell(n == null ? '' : Number(n).toLocaleString('en-US')); td.className = 'num'; return td; }
function time(t) { return cell(t ? t.replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC') : ''); }

function fill(id, rows, cells, key) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('Nothing in this window.', 'empty');
    td.colSpan = document.querySelectorAll('#' + id + ' thead th').length;
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement('tr');
    if (key) tr.dataset[key] = r[key];
    for (const td of cells(r)) tr.appendChild(td);
    body.appendChild(tr);
  }
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

// Bars: statements per bucket (left axis). Line: rows read + written per bucket (right axis).
function chart(points, bucket) {
  const box = $('chart');
  box.replaceChildren();
  if (points.length === 0) { box.appendChild(cell('No statements in this window.', 'empty')); return; }
  const W = 1000, H = 260, L = 56, R = 56, T = 14, B = 34;
  const w = W - L - R, h = H - T - B;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'statements and rows per ' + bucket, id: 'usage-chart' });
  const maxS = Math.max(1, ...points.map((p) => p.statements));
  const rows = points.map((p) => p.rows_read + p.rows_written);
  const maxR = Math.max(1, ...rows);
  const step = w / points.length;
  for (let i = 0; i <= 4; i++) {
    const y = T + h - (h * i) / 4;
    svg.appendChild(el('line', { x1: L, x2: L + w, y1: y, y2: y, class: 'grid-line' }));
    svg.appendChild(el('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, Math.round((maxS * i) / 4)));
    svg.appendChild(el('text', { x: L + w + 6, y: y + 4 }, Math.round((maxR * i) / 4)));
  }
  svg.appendChild(el('line', { x1: L, x2: L + w, y1: T + h, y2: T + h, class: 'axis' }));
  let path = '';
  points.forEach((p, i) => {
    const bh = (h * p.statements) / maxS;
    const x = L + i * step;
    if (p.statements > 0) { // empty buckets keep their place on the time axis but draw no bar
      const bar = el('rect', { x: x + step * 0.15, y: T + h - bh, width: Math.max(1, step * 0.7), height: bh, class: 'bar',
        'data-bucket': p.bucket, 'data-statements': p.statements, 'data-rows': rows[i] });
      bar.appendChild(el('title', {}, `${label(p.bucket, bucket)}: ${p.statements} statements, ${p.rows_read} rows read, ${p.rows_written} written`));
      svg.appendChild(bar);
    }
    const cx = x + step / 2, cy = T + h - (h * rows[i]) / maxR;
    path += (i === 0 ? 'M' : 'L') + cx.toFixed(1) + ' ' + cy.toFixed(1) + ' ';
    if (rows[i] > 0) svg.appendChild(el('circle', { cx: cx, cy: cy, r: 3, class: 'dot' }));
    if (points.length <= 12 || i % Math.ceil(points.length / 12) === 0) {
      svg.appendChild(el('text', { x: cx, y: T + h + 16, 'text-anchor': 'middle' }, label(p.bucket, bucket)));
    }
  });
  svg.appendChild(el('path', { d: path, class: 'line' }));
  box.appendChild(svg);
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.innerHTML = '<span><span class="swatch statements"></span>statements (left)</span><span><span class="swatch rows"></span>rows read + written (right)</span>';
  box.appendChild(legend);
}

function label(iso, bucket) {
  return bucket === 'day' ? iso.slice(5, 10) : iso.slice(5, 10) + ' ' + iso.slice(11, 16);
}

function signedOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('usage').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = why || '';
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    load();
  });
  $('since').addEventListener('change', load);
  $('bucket').addEventListener('change', load);
  if (token()) load(); else signedOut('');
});
