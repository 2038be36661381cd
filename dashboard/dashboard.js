// The rp dashboard: what `rp top` shows, from the API, redrawn every few seconds. No framework and
// nothing from outside this server; every value from the API goes into the page as text.
'use strict';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'rp-token';
const SVG = 'http://www.w3.org/2000/svg';

const $ = (selector) => document.querySelector(selector);

/** The token: `?token=` once (then kept in this browser and taken out of the address), or kept. */
function takeToken() {
  const params = new URLSearchParams(window.location.search);
  const given = params.get('token');
  if (given) {
    localStorage.setItem(TOKEN_KEY, given);
    params.delete('token');
    const query = params.toString();
    window.history.replaceState(null, '', window.location.pathname + (query ? `?${query}` : ''));
  }
  return localStorage.getItem(TOKEN_KEY);
}

class Unauthorized extends Error {}

async function get(path, token) {
  const response = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new Unauthorized('the token was refused');
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '';
  const minutes = Math.floor(ms / 60000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const gb = (mb) => `${(mb / 1024).toFixed(1)} GB`;
/** "unmanaged: alice (pid 4242, 1.5 GB)", as rp ps and rp top write a GPU used outside rp. */
const unmanaged = (processes) =>
  `unmanaged: ${processes
    .map(
      (use) =>
        `${use.user} (pid ${use.pid}${use.memoryMb === null ? '' : `, ${gb(use.memoryMb)}`})`,
    )
    .join(', ')}`;

function fillTable(selector, rows, columns, empty) {
  const body = $(`${selector} tbody`);
  body.replaceChildren();
  if (rows.length === 0) {
    body.append(el('tr', {}, el('td', { colspan: String(columns), class: 'empty' }, empty)));
    return;
  }
  for (const { attributes, cells } of rows) {
    body.append(
      el(
        'tr',
        attributes,
        ...cells.map((cell) => (cell instanceof Node ? cell : el('td', {}, cell))),
      ),
    );
  }
}

function meter(label, used, total, figure) {
  const share = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  const fill = el('div', { class: 'fill' });
  fill.style.width = `${share}%`;
  return el(
    'div',
    { class: 'meter' },
    el('span', { class: 'label' }, label),
    el('div', { class: 'bar' }, fill),
    el('span', { class: 'figure' }, figure),
  );
}

function drawHost(host) {
  const { capacity, used } = host;
  $('#host-summary').textContent =
    `${capacity.gpus.length} GPUs, ${capacity.cpus.length} CPUs, ${gb(capacity.memoryMb)}`;
  $('#capacity').replaceChildren(
    meter(
      'GPUs',
      used.gpus.length,
      capacity.gpus.length,
      `${used.gpus.length} of ${capacity.gpus.length} held`,
    ),
    meter(
      'CPUs',
      used.cpus.length,
      capacity.cpus.length,
      `${used.cpus.length} of ${capacity.cpus.length} held`,
    ),
    meter(
      'Memory',
      used.memoryMb,
      capacity.memoryMb,
      `${gb(used.memoryMb)} of ${gb(capacity.memoryMb)}`,
    ),
  );
  fillTable(
    '#gpus',
    host.gpus.map((gpu) => ({
      attributes: { 'data-gpu': String(gpu.index) },
      cells: [
        gpu.index,
        gpu.name ?? '',
        gpu.job ?? (gpu.unmanaged.length > 0 ? unmanaged(gpu.unmanaged) : 'free'),
        gpu.user ?? gpu.unmanaged.map((process) => process.user).join(', '),
        gpu.utilizationPercent === null ? '' : `${gpu.utilizationPercent}%`,
        gpu.memoryUsedMb === null ? '' : `${gb(gpu.memoryUsedMb)} / ${gb(gpu.memoryTotalMb ?? 0)}`,
      ],
    })),
    6,
    'this host has no GPUs',
  );
  fillTable(
    '#running',
    host.running.map((job) => ({
      attributes: { 'data-job': job.id, 'data-state': job.state },
      cells: [
        job.name,
        job.user,
        job.project,
        el('td', { class: 'command' }, job.command),
        job.gpus.join(',') || '–',
        job.cpus.length,
        gb(job.memoryMb),
        duration(job.runningMs),
        job.leftMs === null ? '∞' : duration(job.leftMs),
      ],
    })),
    9,
    'no job is running',
  );
  fillTable(
    '#queue',
    host.queue.map((job) => ({
      attributes: { 'data-job': job.id },
      cells: [
        job.position,
        job.name,
        job.user,
        job.project,
        `${job.request.gpus} GPU, ${job.request.cpus} CPU, ${gb(job.request.memoryMb)}`,
        job.waitingFor,
        duration(job.waitingMs),
      ],
    })),
    7,
    'the queue is empty',
  );
}

/** Bookings as bars on a time axis from now to the last one's end (at least a day). */
function drawBookings(bookings, now) {
  const box = $('#bookings');
  if (bookings.length === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, 'no bookings'));
    return;
  }
  const from = now.getTime();
  const to = Math.max(from + 86400000, ...bookings.map((booking) => Date.parse(booking.end)));
  const width = 1000,
    left = 170,
    row = 22,
    top = 22;
  const height = top + row * bookings.length + 4;
  const x = (time) => left + ((Math.max(time, from) - from) / (to - from)) * (width - left - 10);
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-label': 'bookings timeline',
  });
  for (let tick = 0; tick <= 4; tick += 1) {
    const time = from + ((to - from) * tick) / 4;
    const label = new Date(time).toLocaleString([], {
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    chart.append(
      svg(
        'text',
        {
          x: x(time),
          y: 12,
          class: 'axis',
          'text-anchor': tick === 0 ? 'start' : tick === 4 ? 'end' : 'middle',
        },
        label,
      ),
    );
  }
  bookings.forEach((booking, index) => {
    const y = top + index * row;
    const start = Date.parse(booking.start),
      end = Date.parse(booking.end);
    const what = `${booking.gpus} GPU, ${booking.cpus} CPU`;
    chart.append(svg('text', { x: 0, y: y + 14 }, `${booking.id} ${booking.user} (${what})`));
    const bar = svg('rect', {
      x: x(start),
      y: y + 3,
      width: Math.max(2, x(end) - x(start)),
      height: row - 6,
      rx: 3,
      class: start <= from ? 'booking active' : 'booking',
      'data-booking': booking.id,
    });
    bar.append(
      svg(
        'title',
        {},
        `${booking.user}: ${new Date(start).toLocaleString()} – ${new Date(end).toLocaleString()}`,
      ),
    );
    chart.append(bar);
  });
  box.replaceChildren(chart);
}

/** The report's rows as horizontal bars of GPU-hours (CPU-hours when no GPU was used). */
function drawUsage(report) {
  const key = report.shareOf === 'gpu_hours' ? 'gpuHours' : 'cpuHours';
  const unit = report.shareOf === 'gpu_hours' ? 'GPU-hours' : 'CPU-hours';
  $('#report-window').textContent =
    `(${unit}, ${report.from.slice(0, 10)} to ${report.to.slice(0, 10)})`;
  const box = $('#usage');
  if (report.rows.length === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, 'no jobs in this window'));
    return;
  }
  const width = 1000,
    left = 170,
    row = 22;
  const most = Math.max(...report.rows.map((entry) => entry[key]), 1e-9);
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${row * report.rows.length + 4}`,
    width: '100%',
    role: 'img',
    'aria-label': 'usage by user',
  });
  report.rows.forEach((entry, index) => {
    const y = index * row;
    const length = ((width - left - 120) * entry[key]) / most;
    chart.append(svg('text', { x: 0, y: y + 15 }, entry.key));
    chart.append(
      svg('rect', {
        x: left,
        y: y + 3,
        width: Math.max(1, length),
        height: row - 6,
        rx: 3,
        class: 'usage',
        'data-user': entry.key,
      }),
    );
    chart.append(
      svg(
        'text',
        { x: left + length + 6, y: y + 15 },
        `${entry[key].toFixed(entry[key] < 1 ? 3 : 1)} (${entry.jobs} jobs)`,
      ),
    );
  });
  box.replaceChildren(chart);
}

function showLogin(message) {
  localStorage.removeItem(TOKEN_KEY);
  $('#board').hidden = true;
  $('#login').hidden = false;
  setStatus(message, true);
}

function setStatus(text, error = false) {
  const status = $('#status');
  status.textContent = text;
  status.className = error ? 'error' : '';
}

async function refresh(token) {
  try {
    const [host, bookings, report] = await Promise.all([
      get('/host', token),
      get('/bookings?all=true', token),
      get('/report', token),
    ]);
    drawHost(host);
    drawBookings(bookings, new Date(host.at));
    drawUsage(report);
    $('#board').hidden = false;
    $('#login').hidden = true;
    setStatus(`updated ${new Date(host.at).toLocaleTimeString()}`);
    document.body.dataset.updated = host.at;
  } catch (error) {
    if (error instanceof Unauthorized) {
      showLogin('the token was refused: enter another');
      return;
    }
    setStatus(`cannot reach the API: ${error.message}`, true);
  }
  setTimeout(() => refresh(token), REFRESH_MS);
}

function start() {
  $('#login').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('#token').value.trim();
    if (!token) return;
    localStorage.setItem(TOKEN_KEY, token);
    $('#login').hidden = true;
    void refresh(token);
  });
  const token = takeToken();
  if (token) void refresh(token);
  else showLogin('enter an API token to see the host');
}

start();
