// Kiln web console: progressive enhancement only. Every page works without
// this file (plain forms, a plain text area for the source); with it the
// form shows the fields of the chosen Type, and the source is edited in
// Monaco, loaded from this gateway with Monaco's AMD loader (no CDN).
(function () {
  'use strict';

  function initTypeSwitch(root) {
    var selects = root.querySelectorAll('select[data-type-switch]');
    Array.prototype.forEach.call(selects, function (select) {
      var form = select.form;
      if (!form || select.dataset.bound) return;
      select.dataset.bound = '1';
      var apply = function () {
        var fields = form.querySelectorAll('[data-for-type]');
        Array.prototype.forEach.call(fields, function (field) {
          field.hidden = field.getAttribute('data-for-type') !== select.value;
        });
      };
      select.addEventListener('change', apply);
      apply();
    });
  }

  var monacoLoading = null;

  function loadMonaco(base) {
    if (monacoLoading) return monacoLoading;
    monacoLoading = new Promise(function (resolve, reject) {
      var script = document.createElement('script');
      script.src = base + '/loader.js';
      script.onerror = function () { reject(new Error('could not load ' + script.src)); };
      script.onload = function () {
        var amdRequire = window.require;
        if (!amdRequire || typeof amdRequire.config !== 'function') return reject(new Error('Monaco loader missing'));
        amdRequire.config({ paths: { vs: base } });
        amdRequire(['vs/editor/editor.main'], function () { resolve(window.monaco); }, reject);
      };
      document.head.appendChild(script);
    });
    return monacoLoading;
  }

  // Monaco's own default starts workers from blob: URLs; the console's CSP
  // (worker-src 'self') wants same-origin scripts, whose URLs the page gives.
  function useSameOriginWorkers(textarea) {
    var editorWorker = textarea.getAttribute('data-monaco-editor-worker');
    var tsWorker = textarea.getAttribute('data-monaco-ts-worker');
    window.MonacoEnvironment = {
      getWorker: function (_moduleId, label) {
        var url = label === 'typescript' || label === 'javascript' ? tsWorker : editorWorker;
        return new Worker(url, { name: label });
      },
    };
  }

  function attachEditor(textarea, monaco) {
    if (textarea.dataset.monacoAttached) return;
    textarea.dataset.monacoAttached = '1';
    var host = document.createElement('div');
    host.className = 'editor';
    textarea.parentNode.insertBefore(host, textarea.nextSibling);
    var editor = monaco.editor.create(host, {
      value: textarea.value,
      language: 'javascript',
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      tabSize: 2,
      ariaLabel: 'Source',
    });
    // The form submits the text area (plain POST and htmx alike): keep it in step.
    editor.onDidChangeModelContent(function () { textarea.value = editor.getValue(); });
    textarea.classList.add('monaco-backed');
    if (textarea.getAttribute('aria-invalid') === 'true') host.setAttribute('aria-invalid', 'true');
  }

  function initEditors(root) {
    var areas = Array.prototype.filter.call(root.querySelectorAll('textarea[data-monaco]'), function (t) {
      return t.getAttribute('data-monaco') && !t.dataset.monacoAttached;
    });
    if (areas.length === 0) return;
    loadMonaco(areas[0].getAttribute('data-monaco')).then(
      function (monaco) {
        // After editor.main: it installs its own (blob:) MonacoEnvironment when it loads.
        useSameOriginWorkers(areas[0]);
        areas.forEach(function (t) { attachEditor(t, monaco); });
      },
      function (err) { if (window.console) window.console.warn('Monaco unavailable; using the plain text area.', err); },
    );
  }

  function boot(root) {
    initTypeSwitch(root);
    initEditors(root);
  }

  if (window.htmx) {
    // Runs for the page and for every fragment htmx swaps in (a re-rendered form).
    window.htmx.onLoad(boot);
  } else {
    document.addEventListener('DOMContentLoaded', function () { boot(document.body); });
  }
})();
