// The clerk's upload page: sign in with a grantor's client credentials,
// upload a person-list file, follow its processing and read the result.
// Plain JavaScript with no dependencies and no inline code, because the page
// is served under a strict Content-Security-Policy.
//
// The access token lives only in the closure variable `session`: never in
// localStorage, sessionStorage or a cookie, so closing the tab ends the
// session and nothing else on the origin can read it.
(function () {
  'use strict';

  var LIST_ID = /^[A-Za-z0-9._-]{1,64}$/;
  var POLL_MS = 500;
  var POLL_MAX_MS = 5000;
  var FIRST_ERRORS = 50;
  var TERMINAL = { applied: true, failed: true, rejected: true };
  var LOCALES = { lv: 'lv-LV', en: 'en-GB' };

  // The page's assets carry the build's version in their query string; the
  // message catalogue is fetched with the same one so a cached page never
  // meets another build's messages.
  var assetVersion = document.currentScript ? new URL(document.currentScript.src).search : '';

  function $(id) { return document.getElementById(id); }

  var messages = { lv: {}, en: {} };
  var lang = 'lv';
  var session = null;      // {token, clientId, expiresAt, timer}
  var listState = null;    // {id, kind: checking|info|empty|missing|unknown, list}
  var listSeq = 0;
  var run = null;          // the upload in flight: {xhr, phase: uploading|processing, sentPct, upload, timer, delay, retrying}
  var lastUpload = null;   // the finished upload the summary shows
  var errorsView = null;   // {uploadId, items, more, loading}
  var problem = null;      // {title, detail, fields, requestId} or {key} for local problems
  var flash = null;        // {key, kind}
  var reportNote = null;   // message key shown by the report buttons
  var fieldErrors = {};    // input id -> message key
  // An Idempotency-Key survives only a network failure, and only for the
  // same form contents, so resubmitting after a lost response cannot create
  // a second upload, while a new file always makes a new one.
  var pending = null;      // {key, signature}

  // ---- messages -------------------------------------------------------

  function t(key, args) {
    var s = messages[lang][key];
    if (s === undefined) { s = messages.lv[key]; }
    if (s === undefined) { return key; }
    return s.replace(/\{(\w+)\}/g, function (m, name) {
      return args && args[name] !== undefined ? String(args[name]) : m;
    });
  }

  function num(n) {
    if (n === undefined || n === null) { return '—'; }
    return new Intl.NumberFormat(LOCALES[lang]).format(n);
  }

  function bytes(n) {
    var units = ['unit.B', 'unit.KB', 'unit.MB', 'unit.GB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    var f = new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: i === 0 ? 0 : 1 });
    return f.format(n) + ' ' + t(units[i]);
  }

  function setLanguage(l) {
    lang = l === 'en' ? 'en' : 'lv';
    document.documentElement.lang = lang;
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    }
    var buttons = document.querySelectorAll('button[data-lang]');
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].setAttribute('aria-pressed', String(buttons[j].getAttribute('data-lang') === lang));
    }
    var url = new URL(location.href);
    if (lang === 'lv') { url.searchParams.delete('lang'); } else { url.searchParams.set('lang', lang); }
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    renderAll();
    // The server wrote the error messages in the old language.
    if (errorsView && !$('errors').hidden) { loadErrors(errorsView.uploadId); }
  }

  // ---- HTTP -----------------------------------------------------------

  function headers(extra) {
    var h = { 'Accept-Language': lang, 'Accept': 'application/json, application/problem+json' };
    if (session) { h.Authorization = 'Bearer ' + session.token; }
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { h[k] = extra[k]; } }
    return h;
  }

  function parseBody(contentType, text) {
    if (!/json/i.test(contentType || '') || !text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // read turns a fetch Response into {ok, status, body, requestId}.
  function read(res) {
    return res.text().then(function (text) {
      return {
        ok: res.ok,
        status: res.status,
        body: parseBody(res.headers.get('Content-Type'), text),
        requestId: res.headers.get('X-Request-Id')
      };
    });
  }

  function api(path) {
    // An expired session has already been ended and said so; the caller's
    // showProblem ignores this answer.
    if (!sessionValid()) { return Promise.resolve({ ok: false, status: 401, body: null, local: true }); }
    return fetch(path, { headers: headers(), credentials: 'omit', cache: 'no-store' }).then(read);
  }

  function apiPath(parts) {
    return '../' + parts.map(function (p, i) { return i % 2 ? encodeURIComponent(p) : p; }).join('/');
  }

  // ---- problems and notices ------------------------------------------------

  function showProblem(r) {
    if (r.local) { return; }
    if (r.status === 401 && session) {
      endSession('session.expired');
      return;
    }
    var b = r.body || {};
    problem = {
      title: b.title || t('problem.http', { status: r.status }),
      detail: b.title ? (b.detail || '') : '',
      fields: Array.isArray(b.errors) ? b.errors : [],
      requestId: b.requestId || r.requestId || ''
    };
    renderProblem();
    $('problem').focus();
  }

  function showLocalProblem(key, detailKey) {
    problem = { key: key, detailKey: detailKey };
    renderProblem();
    $('problem').focus();
  }

  function clearProblem() {
    problem = null;
    renderProblem();
  }

  function renderProblem() {
    var box = $('problem');
    if (!problem) { box.hidden = true; return; }
    $('problem-title').textContent = problem.key ? t(problem.key) : problem.title;
    var detail = problem.key ? (problem.detailKey ? t(problem.detailKey) : '') : problem.detail;
    // The token endpoint's detail often repeats the title word for word.
    $('problem-detail').textContent = detail === $('problem-title').textContent ? '' : detail;
    $('problem-detail').hidden = !$('problem-detail').textContent;
    var ul = $('problem-fields');
    ul.textContent = '';
    (problem.fields || []).forEach(function (f) {
      var where = [];
      if (f.row) { where.push(t('problem.row', { row: f.row })); }
      if (f.column) { where.push(t('problem.column', { column: f.column })); }
      if (f.pointer) { where.push(t('problem.field', { field: f.pointer })); }
      if (f.parameter) { where.push(t('problem.field', { field: f.parameter })); }
      var li = document.createElement('li');
      li.textContent = (where.length ? where.join(', ') + ': ' : '') + (f.detail || f.code || '');
      ul.appendChild(li);
    });
    ul.hidden = !ul.firstChild;
    $('problem-request').textContent = problem.requestId ? t('problem.requestId', { id: problem.requestId }) : '';
    $('problem-request').hidden = !problem.requestId;
    box.hidden = false;
  }

  function networkProblem() {
    showLocalProblem('problem.networkTitle', 'problem.network');
  }

  function showFlash(key, kind) {
    flash = key ? { key: key, kind: kind || '' } : null;
    renderFlash();
  }

  function renderFlash() {
    var p = $('flash');
    if (!flash) { p.hidden = true; p.textContent = ''; return; }
    p.className = 'notice' + (flash.kind ? ' ' + flash.kind : '');
    p.textContent = t(flash.key);
    p.hidden = false;
  }

  function setFieldError(id, key) {
    if (key) { fieldErrors[id] = key; } else { delete fieldErrors[id]; }
    renderFieldError(id);
  }

  function renderFieldError(id) {
    var key = fieldErrors[id];
    var input = $(id);
    var p = $(id + '-error');
    if (key) {
      input.setAttribute('aria-invalid', 'true');
      p.textContent = t(key);
      p.hidden = false;
    } else {
      input.removeAttribute('aria-invalid');
      p.textContent = '';
      p.hidden = true;
    }
  }

  // ---- session --------------------------------------------------------

  function sessionValid() {
    if (session && Date.now() >= session.expiresAt) { endSession('session.expired'); }
    return !!session;
  }

  function signIn(ev) {
    ev.preventDefault();
    clearProblem();
    showFlash(null);
    var id = $('client-id').value.trim();
    var secret = $('client-secret').value;
    setFieldError('client-id', id ? null : 'signin.needClientId');
    setFieldError('client-secret', secret ? null : 'signin.needClientSecret');
    if (!id) { $('client-id').focus(); return; }
    if (!secret) { $('client-secret').focus(); return; }

    var button = $('signin-submit');
    button.disabled = true;
    button.textContent = t('signin.busy');
    var body = new URLSearchParams();
    body.set('grant_type', 'client_credentials');
    body.set('client_id', id);
    body.set('client_secret', secret);
    fetch('../oauth/token', {
      method: 'POST',
      headers: { 'Accept-Language': lang, 'Accept': 'application/json, application/problem+json' },
      body: body,
      credentials: 'omit',
      cache: 'no-store'
    }).then(read).then(function (r) {
      if (!r.ok || !r.body || !r.body.access_token) {
        showProblem(r);
        return;
      }
      var scopes = String(r.body.scope || '').split(/\s+/);
      if (r.body.scope && scopes.indexOf('grantor') < 0) {
        showLocalProblem('signin.notGrantor');
        return;
      }
      $('client-secret').value = '';
      startSession(id, r.body.access_token, r.body.expires_in);
    }, networkProblem).then(function () {
      button.disabled = false;
      button.textContent = t('signin.submit');
    });
  }

  function startSession(clientId, token, expiresIn) {
    var ms = Math.max(1, Number(expiresIn) || 300) * 1000;
    session = { token: token, clientId: clientId, expiresAt: Date.now() + ms };
    session.timer = setTimeout(function () { endSession('session.expired'); }, ms);
    $('signin').hidden = true;
    $('session').hidden = false;
    $('upload').hidden = false;
    renderSession();
    if (run) {
      // Signed in again while an upload was under way: follow it on.
      if (run.phase === 'processing' && !run.timer) { poll(); }
    } else {
      setBusy(false);
    }
    var listId = $('list-id').value.trim();
    if (LIST_ID.test(listId)) { checkList(listId); }
    $('list-id').focus();
  }

  function endSession(reasonKey) {
    if (!session) { return; }
    clearTimeout(session.timer);
    session = null;
    if (run && run.timer) { clearTimeout(run.timer); run.timer = null; }
    listState = null;
    $('signin').hidden = false;
    $('session').hidden = true;
    $('upload').hidden = true;
    // The error report shows the file's personal codes: it goes with the
    // session. A deliberate sign-out also drops the result and stops
    // following an upload (which the server finishes regardless).
    $('errors').hidden = true;
    errorsView = null;
    renderErrors();
    if (reasonKey === 'session.signedOut') {
      if (run && run.xhr) { run.xhr.abort(); }
      if (run) { stopRun(); }
      lastUpload = null;
      $('summary').hidden = true;
      $('progress').hidden = true;
    }
    renderListInfo();
    renderSummary();
    showFlash(reasonKey, reasonKey === 'session.expired' ? 'error' : '');
    $('client-secret').focus();
  }

  function renderSession() {
    if (!session) { return; }
    var time = new Date(session.expiresAt).toLocaleTimeString(LOCALES[lang], { hour: '2-digit', minute: '2-digit' });
    $('session-text').textContent = t('session.text', { client: session.clientId, time: time });
  }

  // ---- the list -------------------------------------------------------

  function checkList(id) {
    var seq = ++listSeq;
    if (!session || !LIST_ID.test(id)) { listState = null; renderListInfo(); return; }
    listState = { id: id, kind: 'checking' };
    renderListInfo();
    api(apiPath(['v1/lists', id])).then(function (r) {
      if (seq !== listSeq) { return; }
      if (r.ok && r.body) {
        listState = { id: id, kind: r.body.version ? 'info' : 'empty', list: r.body };
      } else if (r.status === 404) {
        listState = { id: id, kind: 'missing' };
      } else if (r.status === 401 || r.status === 403) {
        // Another organisation's list: say so now, not after the upload.
        listState = null;
        showProblem(r);
      } else {
        listState = { id: id, kind: 'unknown' };
      }
      renderListInfo();
    }, function () {
      if (seq !== listSeq) { return; }
      listState = { id: id, kind: 'unknown' };
      renderListInfo();
    });
  }

  function renderListInfo() {
    var p = $('list-info');
    if (!listState) { p.textContent = ''; return; }
    switch (listState.kind) {
      case 'checking': p.textContent = t('list.checking'); break;
      case 'info': p.textContent = t('list.info', { version: num(listState.list.version), size: num(listState.list.size) }); break;
      case 'empty': p.textContent = t('list.empty'); break;
      case 'missing': p.textContent = t('list.missing'); break;
      default: p.textContent = t('list.unknown');
    }
  }

  function validateListId() {
    var v = $('list-id').value.trim();
    if (!v) { setFieldError('list-id', 'list.required'); return false; }
    if (!LIST_ID.test(v)) { setFieldError('list-id', 'list.invalid'); return false; }
    setFieldError('list-id', null);
    return true;
  }

  function renderFileInfo() {
    var f = $('file').files[0];
    $('file-info').textContent = f ? t('file.info', { name: f.name, size: bytes(f.size) }) : '';
  }

  // ---- upload ---------------------------------------------------------

  function checked(name) {
    var el = document.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : '';
  }

  function newKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
  }

  function setBusy(busy) {
    ['fs-list', 'fs-file', 'fs-policy', 'fs-mode'].forEach(function (id) { $(id).disabled = busy; });
    $('upload-submit').disabled = busy;
  }

  function submitUpload(ev) {
    ev.preventDefault();
    if (run || !sessionValid()) { return; }
    clearProblem();
    showFlash(null);
    var okList = validateListId();
    var file = $('file').files[0];
    setFieldError('file', !file ? 'file.required' : (file.size === 0 ? 'file.empty' : null));
    if (!okList) { $('list-id').focus(); return; }
    if (fieldErrors.file) { $('file').focus(); return; }

    var listId = $('list-id').value.trim();
    var policy = checked('policy');
    var mode = checked('mode');
    var signature = [listId, policy, mode, file.name, file.size, file.lastModified].join('\u0000');
    if (!pending || pending.signature !== signature) { pending = { key: newKey(), signature: signature }; }

    // The small fields go first, so a reader streaming the body has them
    // before the file (the gateway accepts any order).
    var form = new FormData();
    form.append('policy', policy);
    form.append('mode', mode);
    form.append('file', file, file.name);

    var xhr = new XMLHttpRequest();
    run = { xhr: xhr, phase: 'uploading', sentPct: 0, upload: null, timer: null, delay: POLL_MS, retrying: false };
    lastUpload = null;
    errorsView = null;
    reportNote = null;
    $('summary').hidden = true;
    $('errors').hidden = true;
    $('progress').hidden = false;
    setBusy(true);
    $('upload-cancel').hidden = false;
    $('upload-cancel').focus();
    renderProgress();

    xhr.open('POST', apiPath(['v1/lists', listId, 'uploads']));
    var h = headers({ 'Idempotency-Key': pending.key });
    for (var k in h) { if (Object.prototype.hasOwnProperty.call(h, k)) { xhr.setRequestHeader(k, h[k]); } }
    // XMLHttpRequest, not fetch: only it reports upload progress.
    xhr.upload.addEventListener('progress', function (e) {
      if (run && run.xhr === xhr && e.lengthComputable && e.total > 0) {
        run.sentPct = Math.min(100, Math.floor(e.loaded * 100 / e.total));
        renderProgress();
      }
    });
    xhr.addEventListener('load', function () {
      if (!run || run.xhr !== xhr) { return; }
      var r = {
        ok: xhr.status >= 200 && xhr.status < 300,
        status: xhr.status,
        body: parseBody(xhr.getResponseHeader('Content-Type'), xhr.responseText),
        requestId: xhr.getResponseHeader('X-Request-Id')
      };
      pending = null; // the server answered: the next submit is a new upload
      run.xhr = null;
      hideCancel();
      if (r.status === 202 && r.body && r.body.id) {
        run.phase = 'processing';
        run.sentPct = 100;
        run.upload = r.body;
        renderProgress();
        if (TERMINAL[r.body.status]) { finish(); } else { schedulePoll(); }
        return;
      }
      stopRun();
      showProblem(r);
    });
    xhr.addEventListener('error', function () {
      if (!run || run.xhr !== xhr) { return; }
      stopRun();
      networkProblem();
    });
    xhr.addEventListener('abort', function () {
      if (!run || run.xhr !== xhr) { return; }
      stopRun();
      showFlash('upload.cancelled');
    });
    xhr.send(form);
  }

  function hideCancel() {
    var had = document.activeElement === $('upload-cancel');
    $('upload-cancel').hidden = true;
    if (had) { $('progress-heading').focus(); }
  }

  function cancelUpload() {
    if (run && run.xhr) { run.xhr.abort(); }
  }

  function stopRun() {
    if (run && run.timer) { clearTimeout(run.timer); }
    run = null;
    hideCancel();
    $('progress').hidden = true;
    if (session) { setBusy(false); }
  }

  function schedulePoll() {
    run.timer = setTimeout(poll, run.retrying ? run.delay : POLL_MS);
  }

  function poll() {
    if (!run || !run.upload) { return; }
    run.timer = null;
    if (!session) { return; } // resumes after the clerk signs in again
    var id = run.upload.id;
    api(apiPath(['v1/uploads', id])).then(function (r) {
      if (!run || !run.upload || run.upload.id !== id) { return; }
      if (r.ok && r.body) {
        run.retrying = false;
        run.delay = POLL_MS;
        run.upload = r.body;
        renderProgress();
        if (TERMINAL[r.body.status]) { finish(); } else { schedulePoll(); }
      } else if (r.status === 401) {
        showProblem(r); // ends the session; polling resumes after sign-in
      } else if (r.status === 429 || r.status >= 500) {
        retryPoll();
      } else {
        stopRun();
        showProblem(r);
      }
    }, function () {
      if (run && run.upload && run.upload.id === id) { retryPoll(); }
    });
  }

  function retryPoll() {
    run.delay = run.retrying ? Math.min(POLL_MAX_MS, run.delay * 2) : POLL_MS;
    run.retrying = true;
    renderProgress();
    schedulePoll();
  }

  function finish() {
    lastUpload = run.upload;
    run = null;
    renderProgress();
    setBusy(false);
    renderSummary();
    $('summary').hidden = false;
    $('summary-heading').focus();
    if (session && lastUpload.listId === $('list-id').value.trim()) { checkList(lastUpload.listId); }
  }

  function renderProgress() {
    var up = run ? run.upload : lastUpload;
    var sent = run ? run.sentPct : 100;
    var upBar = $('progress-upload');
    upBar.value = sent;
    $('progress-upload-text').textContent = t('progress.percent', { percent: num(sent) });

    var bar = $('progress-process');
    var text = $('progress-process-text');
    var rows = '';
    if (!up) {
      bar.value = 0;
      text.textContent = '';
    } else if (TERMINAL[up.status]) {
      bar.value = 100;
      text.textContent = t('progress.percent', { percent: num(100) });
    } else if (up.rowsTotal > 0) {
      var pct = Math.min(100, Math.floor((up.rowsRead || 0) * 100 / up.rowsTotal));
      bar.value = pct;
      text.textContent = t('progress.percent', { percent: num(pct) });
      rows = t('progress.rows', { read: num(up.rowsRead || 0), total: num(up.rowsTotal) });
    } else if (up.status === 'processing' && up.bytes > 0 && up.bytesRead > 0) {
      // The row total is known only at the end; the bytes read tell how far
      // through the file the worker is.
      var done = Math.min(99, Math.floor(up.bytesRead * 100 / up.bytes));
      bar.value = done;
      text.textContent = t('progress.percent', { percent: num(done) });
      if (up.rowsRead) { rows = t('progress.rowsOpen', { read: num(up.rowsRead) }); }
    } else if (up.status === 'processing') {
      bar.removeAttribute('value'); // indeterminate until the worker has read something
      text.textContent = '';
      if (up.rowsRead) { rows = t('progress.rowsOpen', { read: num(up.rowsRead) }); }
    } else {
      bar.value = 0;
      text.textContent = t('progress.percent', { percent: num(0) });
    }
    bar.setAttribute('aria-valuetext', rows || text.textContent);

    // The live region carries the phase and status, not every row count,
    // so a screen reader is not flooded twice a second.
    var status;
    if (run && run.retrying) {
      status = t('progress.retrying');
    } else if (!up) {
      status = t('progress.uploading');
    } else if (up.status === 'queued') {
      status = t('progress.stored');
    } else {
      status = t('progress.status', { status: t('status.' + up.status) });
    }
    if ($('status').textContent !== status) { $('status').textContent = status; }
  }

  function renderSummary() {
    var u = lastUpload;
    if (!u) { return; }
    $('sum-status').textContent = t('status.' + u.status);
    $('sum-total').textContent = num(u.rowsTotal !== undefined ? u.rowsTotal : u.rowsRead);
    $('sum-valid').textContent = num(u.validRows);
    $('sum-invalid').textContent = num(u.invalidRows);
    $('sum-version').textContent = num(u.listVersion);
    $('sum-id').textContent = u.id;
    $('sum-reason').textContent = u.failureReason || '';
    $('sum-reason-row').hidden = !u.failureReason;

    var msg = $('summary-message');
    if (u.status === 'applied') {
      msg.textContent = u.invalidRows > 0
        ? t('summary.appliedSkipped', { version: num(u.listVersion), invalid: num(u.invalidRows) }) +
          (u.keptRows > 0 ? ' ' + t('summary.kept', { kept: num(u.keptRows) }) : '')
        : t('summary.applied', { version: num(u.listVersion) });
      msg.className = 'notice ok';
    } else {
      msg.textContent = t(u.status === 'rejected' ? 'summary.rejected' : 'summary.failed');
      msg.className = 'notice error';
    }
    $('report-actions').hidden = !(u.invalidRows > 0 || u.status !== 'applied');
    $('report-note').textContent = reportNote ? t(reportNote) : '';
    var show = $('errors-show');
    var open = !$('errors').hidden;
    show.textContent = t(open ? 'errors.hide' : 'errors.show');
    show.setAttribute('aria-expanded', String(open));
  }

  // ---- the error report -----------------------------------------------------

  function toggleErrors() {
    if (!lastUpload) { return; }
    if (!$('errors').hidden) {
      $('errors').hidden = true;
      renderSummary();
      return;
    }
    $('errors').hidden = false;
    loadErrors(lastUpload.id);
    renderSummary();
  }

  function loadErrors(uploadId) {
    errorsView = { uploadId: uploadId, items: [], more: false, loading: true };
    renderErrors();
    api(apiPath(['v1/uploads', uploadId, 'errors']) + '?limit=' + FIRST_ERRORS).then(function (r) {
      if (!errorsView || errorsView.uploadId !== uploadId) { return; }
      if (!r.ok || !r.body) {
        errorsView = null;
        $('errors').hidden = true;
        renderSummary();
        showProblem(r);
        return;
      }
      errorsView.items = r.body.items || [];
      errorsView.more = !!r.body.nextCursor;
      errorsView.loading = false;
      renderErrors();
    }, function () {
      errorsView = null;
      $('errors').hidden = true;
      renderSummary();
      networkProblem();
    });
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  function renderErrors() {
    var body = $('errors-body');
    body.textContent = '';
    if (!errorsView) { return; }
    var cap = $('errors-caption');
    if (errorsView.loading) {
      cap.textContent = t('errors.loading');
    } else if (!errorsView.items.length) {
      cap.textContent = t('errors.none');
    } else {
      cap.textContent = t('errors.caption', { n: num(errorsView.items.length) });
    }
    // textContent only: the values are the file's own cells and may hold
    // anything, markup included.
    errorsView.items.forEach(function (e) {
      var tr = document.createElement('tr');
      cell(tr, e.row, 'num');
      cell(tr, e.column);
      cell(tr, e.value, 'value');
      cell(tr, e.message);
      var code = document.createElement('span');
      code.className = 'code';
      code.textContent = e.code || '';
      tr.lastChild.appendChild(code);
      body.appendChild(tr);
    });
    $('errors-more').textContent = t('errors.more');
    $('errors-more').hidden = !errorsView.more;
  }

  function downloadCSV() {
    if (!lastUpload || !sessionValid()) { return; }
    var id = lastUpload.id;
    clearProblem();
    // A plain link cannot carry the bearer token, so fetch the report and
    // hand the browser a blob URL to save. Semicolons whatever the page's
    // language: the clerks open the report in Latvian Excel, which splits
    // only on semicolons and would show a comma report as one column.
    fetch(apiPath(['v1/uploads', id, 'errors']) + '?format=csv&delimiter=semicolon', {
      headers: headers({ 'Accept': 'text/csv, application/problem+json' }),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (res) {
      if (!res.ok) { return read(res).then(showProblem); }
      return res.blob().then(function (blob) {
        var name = filename(res.headers.get('Content-Disposition')) || ('upload-' + id + '-errors.csv');
        var url = URL.createObjectURL(blob);
        var a = document.createElement('a');
        a.href = url;
        a.download = name;
        a.hidden = true;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        reportNote = 'errors.csvDone';
        renderSummary();
      });
    }).catch(networkProblem);
  }

  function filename(disposition) {
    var m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || '');
    if (!m) { return ''; }
    try { return decodeURIComponent(m[1]).replace(/[\\/]/g, '_'); } catch (e) { return ''; }
  }

  // ---- wiring ---------------------------------------------------------

  function renderAll() {
    renderSession();
    renderListInfo();
    renderFileInfo();
    renderProblem();
    renderFlash();
    Object.keys(fieldErrors).forEach(renderFieldError);
    if (run || lastUpload) { renderProgress(); }
    renderSummary();
    renderErrors();
  }

  function start() {
    var buttons = document.querySelectorAll('button[data-lang]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener('click', function (ev) { setLanguage(ev.currentTarget.getAttribute('data-lang')); });
    }
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', function () { endSession('session.signedOut'); });
    $('upload-form').addEventListener('submit', submitUpload);
    $('upload-cancel').addEventListener('click', cancelUpload);
    $('list-id').addEventListener('change', function () {
      if (validateListId()) { checkList($('list-id').value.trim()); } else { listState = null; renderListInfo(); }
    });
    $('file').addEventListener('change', function () {
      if ($('file').files[0]) { setFieldError('file', null); }
      renderFileInfo();
    });
    $('errors-show').addEventListener('click', toggleErrors);
    $('errors-csv').addEventListener('click', downloadCSV);
    window.addEventListener('beforeunload', function (ev) {
      if (run && run.phase === 'uploading') { ev.preventDefault(); ev.returnValue = ''; }
    });
    setLanguage(new URLSearchParams(location.search).get('lang') || 'lv');
    document.documentElement.setAttribute('data-ready', 'true');
  }

  fetch('messages.json' + assetVersion, { credentials: 'omit' }).then(function (res) {
    if (!res.ok) { throw new Error('messages: HTTP ' + res.status); }
    return res.json();
  }).then(function (m) {
    messages = m;
    start();
  }, function () {
    // The page still works in Latvian from its static text; dynamic texts
    // show their keys.
    start();
  });
}());
