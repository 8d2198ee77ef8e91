// zensync web page: copy buttons, confirmations, "Sync now" and live sync progress.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.textContent.trim();
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done);
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          try { document.execCommand("copy"); done(); } catch (e) { /* selection stays for manual copy */ }
        }
      });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function fmt(n) { return (n || 0).toLocaleString(); }

  function syncPanel() {
    var panel = document.getElementById("sync");
    if (!panel) return;
    var url = panel.getAttribute("data-poll-url");
    var badge = document.getElementById("run-state");
    var text = document.getElementById("progress-text");
    var bar = document.getElementById("progress");
    var button = document.getElementById("sync-now");
    var wasRunning = bar.classList.contains("indeterminate");
    var timer = null;

    function render(data) {
      var run = data.current_run;
      var running = !!run && (run.status === "running" || run.status === "queued");
      badge.textContent = running ? run.status : "idle";
      badge.className = "badge " + (running ? run.status : "");
      bar.classList.toggle("indeterminate", running);
      if (button) button.disabled = running || data.status !== "active";
      if (running) {
        var p = run.progress || {};
        var parts = [];
        ["organization", "user", "ticket", "comment", "attachment"].forEach(function (t) {
          if (p[t]) parts.push(fmt(p[t]) + " " + t + "s");
        });
        text.textContent = (run.message || "Syncing") + (parts.length ? " — " + parts.join(", ") + " read" : "…");
      } else if (data.runs && data.runs.length) {
        var last = data.runs[0];
        text.textContent = "Last run " + last.status + (last.error ? ": " + last.error : "") + ".";
      }
      Object.keys(data.counts || {}).forEach(function (t) {
        var cell = panel.querySelector('[data-count="' + t + '"]');
        if (cell) cell.textContent = fmt(data.counts[t]);
      });
      if (wasRunning && !running) {
        // A run just finished: reload once to show its report in the table.
        window.location.reload();
        return;
      }
      wasRunning = running;
    }

    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) render(data); })
        .catch(function () { /* keep polling; the service may be restarting */ })
        .finally(function () { timer = setTimeout(poll, 1500); });
    }

    if (button) {
      button.addEventListener("click", function () {
        button.disabled = true;
        fetch(button.getAttribute("data-url"), { method: "POST", credentials: "same-origin" })
          .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
          .then(function (res) {
            if (!res.ok) text.textContent = (res.body && res.body.detail && (res.body.detail.message || res.body.detail)) || "Could not start a sync.";
            wasRunning = true;
          });
      });
    }
    poll();
  }

  onReady(function () {
    copyButtons();
    confirmations();
    syncPanel();
  });
})();
